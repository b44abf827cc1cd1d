"""Run the real staging SQL on a few literal raw rows (the raw-layer contract of
``pipelines/sql/README.md``), without ingest.

``staged(kind, rows, ...)`` opens an in-memory warehouse (``warehouse.connect``), creates the raw
schema, inserts one ``raw.files`` row per file and the rows as ``raw.<kind>_records`` text, each
with its ``source_row`` (read through the view ``raw.<kind>``; a column the dict does not name is
NULL), runs ``prepare_functions`` and ``staged_and_quarantined`` for the kind
(after ``placements`` and ``payments``, which later kinds check against), asserts raw rows = staged
+ quarantined for every kind it ran, and returns the ``staging`` and ``quarantine`` frames.

Files default to a French dialect received on 2026-01-31 (``FILE``); pass ``files=[{...}, ...]``
to change or add some (each dict overrides ``FILE``) and put ``"file": n`` (index into ``files``)
in a row to place it in another file. Every kind except placements gets the one placement
``PLACEMENT`` (case ``CR1``/``C1``) unless ``placements=`` says otherwise; remittances get the one
payment ``PAYMENT`` (``P1``) unless ``payments=`` says otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from pipelines import warehouse
from pipelines.kinds import KINDS
from pipelines.settings import Settings, load_settings

RECEIVED = dt.date(2026, 1, 31)

FILE: dict[str, Any] = {
    "source": "test",
    "received_date": RECEIVED,
    "delimiter": ";",
    "encoding": "utf-8",
    "decimal_mark": ",",
    "thousands_sep": " ",
    "date_format": "%d/%m/%Y",
    "datetime_format": "%d/%m/%Y %H:%M",
    "timezone": "Europe/Paris",
    "phone_region": "FR",
    "currency": "EUR",
}

PLACEMENT: dict[str, str] = {
    "creditor_ref": "CR1",
    "case_ref": "C1",
    "invoice_ref": "F1",
    "debtor_ref": "D1",
    "debtor_type": "individual",
    "debtor_name": "Jean Dupont",
    "placed_date": "05/01/2026",
    "due_date": "31/12/2025",
    "amount": "1 234,56",
}

PAYMENT: dict[str, str] = {
    "reported_by": "provider",
    "payment_ref": "P1",
    "creditor_ref": "CR1",
    "case_ref": "C1",
    "paid_at": "10/01/2026 14:30",
    "amount": "100,00",
}

_LINEAGE_KEYS = {"reader_error", "raw_line", "extra", "file"}


@dataclass(frozen=True)
class Staged:
    """What staging made of the rows of one kind."""

    staged: pl.DataFrame
    quarantined: pl.DataFrame
    raw_rows: int
    columns: list[tuple[str, str]]

    @property
    def reasons(self) -> list[str | None]:
        """The reject reason of every raw row, in (file_id, source_row) order (None: staged)."""
        reason = {
            (r["file_id"], r["source_row"]): r["reason"]
            for r in self.quarantined.iter_rows(named=True)
        }
        keys = sorted(
            [(r["file_id"], r["source_row"]) for r in self.staged.iter_rows(named=True)]
            + list(reason)
        )
        return [reason.get(key) for key in keys]


def _insert_files(con, kind_name: str, first_id: int, files: Sequence[Mapping[str, Any]]) -> None:
    for offset, overrides in enumerate(files):
        row = {**FILE, **overrides}
        file_id = first_id + offset
        row.update(
            {
                "file_id": file_id,
                "kind": kind_name,
                "source_file": f"raw/{row['source']}/{kind_name}_{file_id}.csv",
                "file_sha256": f"{file_id:064x}",
                "rows": 0,
            }
        )
        names = list(row)
        con.execute(
            f"insert into raw.files ({', '.join(names)}) values ({', '.join('?' for _ in names)})",
            [row[n] for n in names],
        )


def _insert_rows(
    con, kind_name: str, first_id: int, n_files: int, rows: Iterable[Mapping[str, Any]]
) -> int:
    canonical = KINDS[kind_name].column_names
    numbers = [0] * n_files
    count = 0
    for row in rows:
        unknown = set(row) - set(canonical) - _LINEAGE_KEYS
        if unknown:
            raise KeyError(f"raw.{kind_name} has no column(s) {sorted(unknown)}")
        index = row.get("file", 0)
        numbers[index] += 1
        values = {
            "file_id": first_id + index,
            "source_row": numbers[index],
            **{k: v for k, v in row.items() if k != "file"},
        }
        names = list(values)
        con.execute(
            f"insert into raw.{kind_name}_records ({', '.join(names)}) "
            f"values ({', '.join('?' for _ in names)})",
            [values[n] for n in names],
        )
        count += 1
    con.execute(
        f"update raw.files set rows = (select count(*) from raw.{kind_name} as r "
        f"where r.file_id = raw.files.file_id) where kind = '{kind_name}'"
    )
    return count


def staged(
    kind_name: str,
    rows: Iterable[Mapping[str, Any]],
    *,
    files: Sequence[Mapping[str, Any]] = ({},),
    placements: Iterable[Mapping[str, Any]] | None = None,
    payments: Iterable[Mapping[str, Any]] | None = None,
    settings: Settings | None = None,
) -> Staged:
    """Stage ``rows`` of ``kind_name`` (see the module docstring) and return the result."""
    settings = settings or load_settings(environ={})
    inputs: dict[str, tuple[list[Mapping[str, Any]], Sequence[Mapping[str, Any]]]] = {}
    if kind_name != "placements":
        inputs["placements"] = (list(placements if placements is not None else [PLACEMENT]), [{}])
    if kind_name == "remittances":
        inputs["payments"] = (list(payments if payments is not None else [PAYMENT]), [{}])
    inputs[kind_name] = (list(rows), files)
    con = warehouse.connect(":memory:", settings)
    try:
        warehouse.create_raw_schema(con)
        first_id = 1
        raw_counts = {}
        for name, (kind_rows, kind_files) in inputs.items():
            _insert_files(con, name, first_id, kind_files)
            raw_counts[name] = _insert_rows(con, name, first_id, len(kind_files), kind_rows)
            first_id += len(kind_files)
        warehouse.prepare_functions(con, settings)
        for name in warehouse.STAGING_STEPS:
            if name in inputs:
                good, bad = warehouse.staged_and_quarantined(con, name)
                assert good + bad == raw_counts[name], (name, good, bad, raw_counts[name])
        return Staged(
            staged=con.sql(f"select * from staging.{kind_name} order by file_id, source_row").pl(),
            quarantined=con.sql(
                f"select * from quarantine.{kind_name} order by file_id, source_row"
            ).pl(),
            raw_rows=raw_counts[kind_name],
            columns=[
                (name, sql_type.lower())
                for name, sql_type, *_ in con.execute(f"describe staging.{kind_name}").fetchall()
            ],
        )
    finally:
        con.close()
