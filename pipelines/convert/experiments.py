"""Reshape three public datasets into the ``experiments`` import kind (DESIGN §4).

Each function reads the file as published (``../shared/data/external/<folder>/``, README there)
and writes into ``dest`` (a home's ``raw/<source>/``) one CSV and the ``mapping.toml`` that
loads it; ``relance build`` then loads it by the ordinary route (parser, staging, contracts).
The step only **reshapes**: it adds the unit id the files lack, puts the arm, its assignment
probability, the outcome and the amount under canonical names, and keeps the pre-treatment
covariates as features (every other column of an ``experiments`` file is a feature). Outcome
columns other than the chosen one are **not** written (they would leak into the features).

Data minimisation (DOMAIN §4): protected attributes and their proxies are not carried — sex,
age, couple, and the Karlan–List zip-code race shares and state/county vote shares (political
opinion is special-category data under GDPR Art. 9).

* ``hillstrom`` (MineThatData e-mail test, 2008): arm = ``segment`` (``mens_email``,
  ``womens_email``, ``no_email``), propensity 1/3 (randomised, README), outcome ``visit`` (or
  ``conversion``), amount ``spend`` (USD).
* ``karlan_list`` (AER 2007 letters): arm ``match`` (matching-grant letter, propensity 2/3) or
  ``standard`` (1/3), outcome ``out_gavedum``, amount ``out_amountgive`` (two NA amounts are left
  empty); missing covariates (``-999``) are written empty.
* ``bank_debt_recovery`` (DataCamp bank data): arm = ``recovery_strategy`` (``level_0`` …
  ``level_4``), outcome = ``actual_recovery_amount`` (USD; written to a thousandth of a dollar,
  so it is not a money column — ``amount`` stays empty rather than be rounded), feature
  ``expected_recovery_amount``. The strategy was **set by thresholds** on the expected amount,
  not randomised: the file's assignment probability given its covariate is 1, and that is what
  is written; the recommender re-estimates propensities from the covariates and must refuse a
  causal value (overlap fails).

Output is written with the ``csv`` module (``\\n`` line ends) under a temporary name and renamed.
"""

from __future__ import annotations

import csv
import gzip
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

HILLSTROM_FEATURES = (
    "recency",
    "history_segment",
    "history",
    "mens",
    "womens",
    "zip_code",
    "newbie",
    "channel",
)
HILLSTROM_ARMS = {
    "Mens E-Mail": "mens_email",
    "Womens E-Mail": "womens_email",
    "No E-Mail": "no_email",
}
HILLSTROM_OUTCOMES = ("visit", "conversion")

KARLAN_FEATURES = (
    "hpa",
    "ltmedmra",
    "freq",
    "years",
    "year5",
    "mrm2",
    "dormant",
    "ave_hh_sz",
    "median_hhincome",
    "powner",
    "psch_atlstba",
    "pop_propurban",
    "statecnt",
    "stateresponse",
)
KARLAN_MISSING = "-999"

BANK_ARMS = {f"Level {k} Recovery": f"level_{k}" for k in range(5)}

CANONICAL = ("unit_ref", "arm", "propensity", "outcome", "amount")


def _mapping(experiment_ref: str, file_glob: str, currency: str, arms: dict[str, str]) -> str:
    values = "\n".join(f'"{k}" = "{v}"' for k, v in arms.items())
    return f"""\
# written by pipelines/convert/experiments.py — the experiments import kind
template = "iso_csv"

[defaults]
currency = "{currency}"

[[files]]
kind = "experiments"
glob = "{file_glob}"

[files.constants]
experiment_ref = "{experiment_ref}"

[files.values.arm]
{values}
"""


def _written(path: Path, header: Iterable[str], rows: Iterable[Iterable[str]]) -> int:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    count = 0
    with open(tmp, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(list(header))
        for row in rows:
            writer.writerow(list(row))
            count += 1
    os.replace(tmp, path)
    return count


def _mapping_written(dest: Path, text: str) -> None:
    tmp = dest / f".mapping.toml.{os.getpid()}.tmp"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, dest / "mapping.toml")


def _check_header(found: list[str], needed: Iterable[str], source: Path) -> None:
    missing = [c for c in needed if c not in found]
    if missing:
        raise ValueError(f"{source}: missing column(s) {', '.join(missing)}; is it the right file?")


def hillstrom(source: Path, dest: Path, outcome: str = "visit") -> dict:
    """Write ``experiments_2008-03-20.csv`` and its mapping into ``dest``; return counts."""
    if outcome not in HILLSTROM_OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(HILLSTROM_OUTCOMES)}")
    dest.mkdir(parents=True, exist_ok=True)
    name = "experiments_2008-03-20.csv"

    def rows() -> Iterator[list[str]]:
        with open(source, encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            _check_header(
                reader.fieldnames or [], (*HILLSTROM_FEATURES, "segment", "spend"), source
            )
            for i, row in enumerate(reader, start=1):
                yield [str(i), row["segment"], "0.3333333333", row[outcome], row["spend"]] + [
                    row[f] for f in HILLSTROM_FEATURES
                ]

    n = _written(dest / name, (*CANONICAL, *HILLSTROM_FEATURES), rows())
    _mapping_written(
        dest, _mapping(f"hillstrom_{outcome}", "experiments_*.csv", "USD", HILLSTROM_ARMS)
    )
    return {"rows": n, "file": name}


def karlan_list(source: Path, dest: Path) -> dict:
    """Write ``experiments_2007-12-01.csv`` and its mapping into ``dest``; return counts."""
    dest.mkdir(parents=True, exist_ok=True)
    name = "experiments_2007-12-01.csv"

    def clean(value: str) -> str:
        return "" if value in (KARLAN_MISSING, "NA") else value

    def rows() -> Iterator[list[str]]:
        with gzip.open(source, "rt", encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            _check_header(
                reader.fieldnames or [],
                (*KARLAN_FEATURES, "treatment", "out_gavedum", "out_amountgive"),
                source,
            )
            for i, row in enumerate(reader, start=1):
                treated = row["treatment"].strip() in ("1", "1.0")
                yield [
                    str(i),
                    "match" if treated else "standard",
                    "0.6666666667" if treated else "0.3333333333",
                    row["out_gavedum"],
                    clean(row["out_amountgive"]),
                ] + [clean(row[f]) for f in KARLAN_FEATURES]

    n = _written(dest / name, (*CANONICAL, *KARLAN_FEATURES), rows())
    _mapping_written(
        dest,
        _mapping(
            "karlan_list_2007",
            "experiments_*.csv",
            "USD",
            {"match": "match", "standard": "standard"},
        ),
    )
    return {"rows": n, "file": name}


def bank_debt_recovery(source: Path, dest: Path) -> dict:
    """Write ``experiments_2020-04-13.csv`` and its mapping into ``dest``; return counts."""
    dest.mkdir(parents=True, exist_ok=True)
    name = "experiments_2020-04-13.csv"

    def rows() -> Iterator[list[str]]:
        with open(source, encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            _check_header(
                reader.fieldnames or [],
                ("id", "expected_recovery_amount", "actual_recovery_amount", "recovery_strategy"),
                source,
            )
            for row in reader:
                yield [
                    row["id"],
                    row["recovery_strategy"],
                    "1",
                    row["actual_recovery_amount"],
                    "",
                    row["expected_recovery_amount"],
                ]

    n = _written(dest / name, (*CANONICAL, "expected_recovery_amount"), rows())
    _mapping_written(dest, _mapping("bank_debt_recovery", "experiments_*.csv", "USD", BANK_ARMS))
    return {"rows": n, "file": name}


CONVERTERS = {
    "hillstrom_email": ("hillstrom.csv", hillstrom),
    "karlan_list_2007_charitable_mail": ("karlan_list_2007.csv.gz", karlan_list),
    "bank_debt_recovery_strategy": ("bank_data.csv", bank_debt_recovery),
}


def converted(external: Path, folder: str, dest: Path) -> dict:
    """Convert the dataset ``folder`` of the external-data directory into ``dest``."""
    if folder not in CONVERTERS:
        raise ValueError(f"no converter for {folder!r}; known: {', '.join(CONVERTERS)}")
    file_name, convert = CONVERTERS[folder]
    source = external / folder / file_name
    if not source.exists():
        raise FileNotFoundError(f"{source}: not found (settings paths.external_data)")
    return convert(source, dest)
