"""The simulator on small worlds: determinism, refusals, file contracts, decisions, caps."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import polars as pl
import pytest

from pipelines.home import Home
from pipelines.ingest import checked_file, header_problem
from pipelines.kinds import KINDS
from pipelines.mappings.loader import load_mapping, source_dirs
from pipelines.settings import Settings, load_settings
from pipelines.simulate import SimulationError, simulated, world_hash
from pipelines.simulate.params import WORLD_PATH

CASES, MONTHS = 400, 8


def _settings(root: Path) -> Settings:
    return load_settings(environ={}).with_home(root)


def _digests(raw: Path) -> dict[str, str]:
    return {
        p.relative_to(raw).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(raw.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> tuple[Home, Settings, dict]:
    root = tmp_path_factory.mktemp("sim") / "home"
    settings = _settings(root)
    home = Home(root)
    summary = simulated(home, settings, CASES, MONTHS, seed=7)
    return home, settings, summary


def _read(path: Path, spec) -> pl.DataFrame:
    enc = spec.dialect.encoding
    text = path.read_bytes().decode("utf-8-sig" if enc.startswith("utf-8") else enc)
    rows = list(csv.reader(io.StringIO(text), delimiter=spec.dialect.delimiter))
    header, body = rows[0], [r for r in rows[1:] if len(r) == len(rows[0])]
    return pl.DataFrame(body, schema=header, orient="row")


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path, world):
    home, _, _ = world
    again = Home(tmp_path / "again")
    simulated(again, _settings(again.root), CASES, MONTHS, seed=7)
    assert _digests(again.raw) == _digests(home.raw)
    assert _digests(again.truth) == _digests(home.truth) or (
        set(_digests(again.truth)) == set(_digests(home.truth))
    )
    other = Home(tmp_path / "other")
    simulated(other, _settings(other.root), CASES, MONTHS, seed=8)
    assert _digests(other.raw) != _digests(home.raw)


def test_refuses_non_empty_raw_without_force(world):
    home, settings, _ = world
    with pytest.raises(SimulationError, match="not empty"):
        simulated(home, settings, CASES, MONTHS, seed=7)


def test_force_replaces_raw(tmp_path):
    home = Home(tmp_path / "h")
    (home.raw / "mine").mkdir(parents=True)
    (home.raw / "mine" / "x.csv").write_text("a\n1\n")
    simulated(home, _settings(home.root), 50, 4, seed=1, force=True)
    assert not (home.raw / "mine").exists()
    assert (home.truth / "world.json").exists()


def test_every_file_passes_mapping_and_file_checks(world, tmp_path):
    home, settings, summary = world
    n = 0
    for folder in source_dirs(home.raw):
        mapping = load_mapping(folder / "mapping.toml", settings)
        for path in mapping.data_files():
            spec = mapping.spec_for(path)
            assert spec is not None, path
            spec.received_date(path)
            check = checked_file(path, path.name, spec, "mapping.toml", tmp_path)
            assert header_problem(check.header, spec, KINDS[spec.kind], path.name, "m") is None
            n += 1
    assert n == summary["files"]


def test_world_hash_is_of_the_committed_file():
    assert world_hash() == hashlib.sha256(WORLD_PATH.read_bytes()).hexdigest()


def _frame(home: Home, settings: Settings, prefix: str) -> pl.DataFrame:
    mapping = load_mapping(home.raw / "agency" / "mapping.toml", settings)
    parts = [
        _read(p, mapping.spec_for(p))
        for p in mapping.data_files()
        if p.name.startswith(prefix + "_") and "renvoi" not in p.name
    ]
    return pl.concat(parts)


def test_one_decision_per_open_case_and_week(world):
    home, settings, _ = world
    dec = _frame(home, settings, "decisions")
    assert dec.select("creditor_ref", "case_ref", "iso_week").is_duplicated().sum() == 0
    prob = dec["propensity"].cast(pl.Float64)
    assert prob.min() > 0 and prob.max() <= 1
    share = (dec["is_exploration"] == "true").mean()
    assert abs(share - settings.get("policy.exploration_share")) < 0.02
    # every case open a whole week has its decision: weeks between first and last are complete
    weeks = dec.group_by("case_ref").agg(
        pl.col("iso_week").n_unique().alias("n"),
        pl.col("iso_week").min().alias("lo"),
        pl.col("iso_week").max().alias("hi"),
    )
    assert weeks.height > CASES * 0.8
    explored = dec.filter(pl.col("is_exploration") == "true")
    assert (
        "formal_notice"
        not in explored.filter(pl.col("propensity").cast(pl.Float64) < 0.5)["action"].to_list()
    )


def test_decisions_match_actions(world):
    home, settings, _ = world
    dec = _frame(home, settings, "decisions").filter(pl.col("action") != "wait")
    act = _frame(home, settings, "actions")
    assert act.height >= dec.height
    assert dec.height > 0


def test_caps_hold_except_planted(world):
    home, settings, _ = world
    act = _frame(home, settings, "actions")
    planted = pl.read_csv(home.truth / "violations.csv")
    extra = set(planted["ref"].to_list())
    for rel in planted["related"].drop_nulls().to_list():
        extra |= set(str(rel).split())
    places = pl.concat(
        [_read(p, spec) for p, spec in _placement_files(home, settings)], how="diagonal_relaxed"
    )
    key_col = "Identifiant débiteur" if "Identifiant débiteur" in places.columns else "debtor_key"
    keys = places.select(
        pl.coalesce(*[c for c in ("N° dossier", "case_ref") if c in places.columns]).alias(
            "case_ref"
        ),
        pl.coalesce(
            *[c for c in ("Identifiant débiteur", "debtor_key") if c in places.columns]
        ).alias("debtor_key"),
    ).unique("case_ref")
    del key_col
    act = act.filter(~pl.col("action_ref").is_in(list(extra))).join(keys, on="case_ref")
    act = act.with_columns(pl.col("action_at").str.to_datetime().dt.date().alias("d"))
    per_day_calls = act.filter(pl.col("channel") == "call").group_by("debtor_key", "d").len()
    assert per_day_calls["len"].max() == 1
    days = act.group_by("debtor_key").agg(pl.col("d").sort())
    for row in days.iter_rows():
        ds = row[1]
        for i in range(3, len(ds)):
            assert (ds[i] - ds[i - 3]).days >= 7, row[0]
    counts = planted.group_by("category").len()
    assert counts["len"].sum() > 0


def _placement_files(home: Home, settings: Settings):
    for folder in source_dirs(home.raw):
        mapping = load_mapping(folder / "mapping.toml", settings)
        for p in mapping.data_files():
            spec = mapping.spec_for(p)
            if spec.kind == "placements":
                yield p, spec


def test_truth_files_and_summary(world):
    home, _, summary = world
    debtors = pl.read_parquet(home.truth / "debtors.parquet")
    cases = pl.read_parquet(home.truth / "cases.parquet")
    assert cases.height == CASES
    assert {"capacity", "willingness", "resp_sms", "profile_cause"} <= set(debtors.columns)
    assert set(cases["cause"].unique()) <= {
        "cash_flow",
        "dispute",
        "administrative",
        "hardship",
        "unwilling",
        "unreachable",
    }
    defects = pl.read_csv(home.truth / "file_defects.csv")
    assert defects.height == sum(summary["expected_quarantine"].values())


def test_chunks_in_parallel_give_the_same_bytes(tmp_path):
    one, two = Home(tmp_path / "one"), Home(tmp_path / "two")
    simulated(one, _settings(one.root), 300, 6, seed=5, processes=1, chunk_cases=120)
    simulated(two, _settings(two.root), 300, 6, seed=5, processes=2, chunk_cases=120)
    assert _digests(one.raw) == _digests(two.raw)
    assert pl.read_parquet(one.truth / "cases.parquet").height == 300
