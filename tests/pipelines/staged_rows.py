"""Build ``staging.<kind>`` tables from a few literal rows, with the exact typed schema of the
staging contract (``pipelines/sql/README.md``), so core and mart SQL can be tested without ingest.

Rows are dicts keyed by *staging* column names (``amount_cents``, not ``amount``); a missing column
is NULL, an unknown one raises. Conveniences, mirroring what staging guarantees:

- ``file_id`` 1, ``source_row`` 1, 2, … per kind, ``source_file`` ``raw/test/<kind>.csv``;
- ``received_date`` defaults to the latest of the kind's ``not_after_received`` dates of the row
  (the Paris date for timestamps), i.e. the event is received the day it happens;
- ``currency`` defaults to ``EUR`` for kinds with money; enum defaults of the kind apply
  (``direction`` outbound, ``status`` start);
- payments: ``is_reversal`` defaults to ``reverses_ref is not null`` and a reversal's
  ``amount_cents`` is made negative (staging signs it).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Mapping
from typing import Any

from pipelines import warehouse
from pipelines.kinds import KINDS, ImportKind

_SQL_TYPES = {
    "ref": "varchar",
    "text": "varchar",
    "enum": "varchar",
    "phone": "varchar",
    "email": "varchar",
    "iso_week": "varchar",
    "money": "bigint",
    "timestamp": "timestamp",
    "date": "date",
    "month": "date",
    "int": "bigint",
    "float": "double",
    "bool": "boolean",
}
_LINEAGE = (
    ("file_id", "integer"),
    ("source_row", "bigint"),
    ("source_file", "varchar"),
    ("received_date", "date"),
)
_PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def staging_columns(import_kind: ImportKind) -> list[tuple[str, str]]:
    """``(name, sql type)`` of ``staging.<kind>``, in order."""
    columns = list(_LINEAGE)
    for column in import_kind.columns:
        name = f"{column.name}_cents" if column.type == "money" else column.name
        columns.append((name, _SQL_TYPES[column.type]))
    if import_kind.name == "payments":
        columns.append(("is_reversal", "boolean"))
    if import_kind.name == "experiments":
        columns.append(("features", "varchar"))
    return columns


def _as_date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC).astimezone(_PARIS).date()
    if isinstance(value, dt.date):
        return value
    text = str(value)
    if len(text) > 10:
        return _as_date(dt.datetime.fromisoformat(text))
    return dt.date.fromisoformat(text)


def _completed(import_kind: ImportKind, row: Mapping[str, Any], number: int) -> dict[str, Any]:
    names = {name for name, _ in staging_columns(import_kind)}
    unknown = set(row) - names
    if unknown:
        raise KeyError(f"staging.{import_kind.name} has no column(s) {sorted(unknown)}")
    out: dict[str, Any] = {name: None for name in names}
    out.update(import_kind.defaults)
    out.update(
        {"file_id": 1, "source_row": number, "source_file": f"raw/test/{import_kind.name}.csv"}
    )
    if "currency" in names and any(c.type == "money" for c in import_kind.columns):
        out["currency"] = "EUR"
    out.update(row)
    if out["received_date"] is None:
        dates = [_as_date(out.get(c)) for c in import_kind.not_after_received]
        known = [d for d in dates if d is not None]
        out["received_date"] = max(known) if known else None
    if import_kind.name == "payments":
        if out["is_reversal"] is None:
            out["is_reversal"] = out["reverses_ref"] is not None
        if out["is_reversal"] and out["amount_cents"] is not None:
            out["amount_cents"] = -abs(out["amount_cents"])
    return out


def create_staging(con, rows: Mapping[str, Iterable[Mapping[str, Any]]]) -> None:
    """Create every ``staging.<kind>`` table (empty unless ``rows`` has some for it)."""
    con.execute("create schema if not exists staging")
    for import_kind in KINDS.values():
        columns = staging_columns(import_kind)
        ddl = ", ".join(f"{name} {sql_type}" for name, sql_type in columns)
        con.execute(f"create or replace table staging.{import_kind.name} ({ddl})")
        kind_rows = [
            _completed(import_kind, row, number)
            for number, row in enumerate(rows.get(import_kind.name, ()), start=1)
        ]
        if not kind_rows:
            continue
        names = [name for name, _ in columns]
        placeholders = ", ".join("?" for _ in names)
        con.executemany(
            f"insert into staging.{import_kind.name} ({', '.join(names)}) values ({placeholders})",
            [[row[name] for name in names] for row in kind_rows],
        )


def register_functions(con, settings) -> None:
    """The Python functions core SQL calls (``phone_type``); a stand-in when
    ``pipelines.normalise`` is not there yet."""
    try:
        from pipelines import normalise
    except ImportError:  # pragma: no cover - only while normalise.py is being written
        con.create_function(
            "phone_type",
            lambda n: None if n is None else ("mobile" if n.startswith("+336") else "fixed"),
            ["VARCHAR"],
            "VARCHAR",
            null_handling="special",
        )
    else:
        normalise.register(con, settings)


def built(con, settings, rows: Mapping[str, Iterable[Mapping[str, Any]]]) -> dict[str, int]:
    """Stage ``rows``, run every core step and mart, create the table macros; return row counts."""
    register_functions(con, settings)
    create_staging(con, rows)
    counts = {}
    for name in warehouse.CORE_STEPS:
        counts[f"core.{name}"] = warehouse.materialised(con, "core", name)
    warehouse.create_raw_schema(con)
    warehouse.macros_installed(con, settings)
    for name in warehouse.MART_STEPS:
        counts[f"marts.{name}"] = warehouse.materialised(con, "marts", name)
    return counts


def placement(case_ref: str = "K1", creditor_ref: str = "C1", **columns: Any) -> dict[str, Any]:
    """A valid placement row (one invoice) with plain defaults; ``columns`` override them."""
    row: dict[str, Any] = {
        "creditor_ref": creditor_ref,
        "case_ref": case_ref,
        "invoice_ref": f"{case_ref}-I1",
        "creditor_name": f"Creditor {creditor_ref}",
        "creditor_sector": "telecom",
        "debtor_ref": f"D-{case_ref}",
        "debtor_type": "individual",
        "debtor_name": f"Debtor {case_ref}",
        "placed_date": "2026-01-05",
        "due_date": "2025-11-30",
        "amount_cents": 10_000,
        "postcode": "75011",
    }
    row.update(columns)
    return row


def payment(
    payment_ref: str, paid_at: str, amount_cents: int, case_ref: str = "K1", **columns: Any
):
    """A payment row reported by the provider (``reverses_ref=…`` makes it a reversal)."""
    row: dict[str, Any] = {
        "reported_by": "provider",
        "payment_ref": payment_ref,
        "creditor_ref": "C1",
        "case_ref": case_ref,
        "paid_at": paid_at,
        "amount_cents": amount_cents,
        "method": "card",
    }
    row.update(columns)
    return row


def action(action_ref: str, action_at: str, channel: str, case_ref: str = "K1", **columns: Any):
    """An outbound contact attempt (override ``direction``, ``tone``, ``outcome``…)."""
    row: dict[str, Any] = {
        "action_ref": action_ref,
        "creditor_ref": "C1",
        "case_ref": case_ref,
        "action_at": action_at,
        "channel": channel,
        "tone": "nudge",
    }
    row.update(columns)
    return row


def decision(iso_week: str, action: str = "wait", case_ref: str = "K1", **columns: Any):
    """A logged weekly decision of the ladder (override ``propensity``, ``received_date``…)."""
    row: dict[str, Any] = {
        "creditor_ref": "C1",
        "case_ref": case_ref,
        "iso_week": iso_week,
        "action": action,
        "propensity": 0.9,
        "policy_id": "ladder",
        "is_exploration": False,
        "received_date": "2026-12-01",
    }
    row.update(columns)
    return row


def rows_as_dicts(con, sql: str, *params: Any) -> list[dict[str, Any]]:
    """The result of ``sql`` as a list of dicts (through polars)."""
    relation = con.sql(sql, params=list(params)) if params else con.sql(sql)
    return relation.pl().to_dicts()
