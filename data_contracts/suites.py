"""The reviewed expectation suites: one JSON file per import kind and per table.

``suites/<layer>/<table>.json`` — layers ``files`` (file-level, one per import kind, generated
from ``pipelines/kinds.py`` by ``python -m pipelines.contract_suites``), ``staging`` (generated the
same way), ``core`` and ``marts`` (written by hand). A suite file is a Great Expectations 1.x
suite without generated ids::

    {"name": "core.payments",
     "meta": {"layer": "core", "table": "payments", "notes": "…"},
     "expectations": [
       {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "payment_id"},
        "meta": {"severity": "critical", "rule": "one row per payment event"}}, …]}

Every expectation carries ``meta.severity`` (``critical``: a failure stops the publish;
``warning``: recorded and shown) and ``meta.rule`` (the human text shown in messages and the
report). ``meta.column`` names the column an ``unexpected_rows_expectation`` is about.

Where an expectation runs (``engine``): the types in ``SQL_TYPES`` run as SQL inside DuckDB over
the whole table (keys, not-null, foreign keys and cross-table rules as
``unexpected_rows_expectation`` whose ``{batch}`` is the table, column types from the catalog,
row counts); every other type runs in Great Expectations on a sample of the table (see
``data_contracts.runner``). ``expect_column_values_to_be_of_type`` takes a DuckDB type name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUITES_DIR = Path(__file__).resolve().parent / "suites"
LAYERS: tuple[str, ...] = ("files", "staging", "core", "marts")
SEVERITIES: tuple[str, ...] = ("critical", "warning")

SQL_TYPES: frozenset[str] = frozenset(
    {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_unique",
        "expect_compound_columns_to_be_unique",
        "unexpected_rows_expectation",
        "expect_column_values_to_be_of_type",
        "expect_table_columns_to_match_set",
        "expect_table_row_count_to_be_between",
    }
)


def engine_of(expectation: dict[str, Any]) -> str:
    """``"sql"`` for the types run in DuckDB over the whole table, else ``"gx"`` (sampled)."""
    return "sql" if expectation["type"] in SQL_TYPES else "gx"


def column_of(expectation: dict[str, Any]) -> str:
    """The column (or columns, joined by ``, ``) an expectation is about; ``""`` for table-level."""
    kwargs = expectation.get("kwargs", {})
    if "column" in kwargs:
        return str(kwargs["column"])
    if "column_A" in kwargs:
        return f"{kwargs['column_A']}, {kwargs['column_B']}"
    if "column_list" in kwargs:
        return ", ".join(kwargs["column_list"])
    return str(expectation.get("meta", {}).get("column", ""))


@dataclass(frozen=True)
class Suite:
    """One suite file: the table it checks and its expectations (plain dictionaries)."""

    name: str
    layer: str
    table: str
    expectations: tuple[dict[str, Any], ...]
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def relation(self) -> str:
        """The DuckDB relation the suite reads by default (``<layer>.<table>``)."""
        return f"{self.layer}.{self.table}"

    def by_engine(self, engine: str) -> list[tuple[int, dict[str, Any]]]:
        """``(index, expectation)`` pairs that run on ``engine`` (``"sql"`` or ``"gx"``)."""
        return [(i, e) for i, e in enumerate(self.expectations) if engine_of(e) == engine]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "meta": self.meta,
            "expectations": [dict(e) for e in self.expectations],
        }


def suite_from_dict(data: dict[str, Any], path: Path | None = None) -> Suite:
    """A ``Suite`` from its JSON form; the name is ``<layer>.<table>``."""
    name = data["name"]
    layer, _, table = name.partition(".")
    meta = dict(data.get("meta") or {})
    return Suite(
        name=name,
        layer=meta.get("layer", layer),
        table=meta.get("table", table),
        expectations=tuple(data.get("expectations", ())),
        meta=meta,
        path=path,
    )


def dumps(data: dict[str, Any]) -> str:
    """The stable text of a suite file (2-space indent, UTF-8 characters kept, final newline)."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def suite_path(layer: str, table: str, root: Path = SUITES_DIR) -> Path:
    return root / layer / f"{table}.json"


def load_suite(path: Path) -> Suite:
    """Read one suite file; raise ``ValueError`` naming the file when it is not valid."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc}); fix the suite file") from None
    suite = suite_from_dict(data, path)
    problems = suite_problems(suite)
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems))
    return suite


def loaded_suites(
    layers: tuple[str, ...] | list[str] | None = None, root: Path = SUITES_DIR
) -> list[Suite]:
    """Every suite under ``root``, in layer order (files, staging, core, marts), then by name."""
    found = []
    for layer in layers or LAYERS:
        for path in sorted((root / layer).glob("*.json")):
            found.append(load_suite(path))
    return found


def suite_problems(suite: Suite) -> list[str]:
    """What is wrong with a suite's form (no GX needed): names, severities, rules."""
    problems = []
    if suite.layer not in LAYERS:
        problems.append(f"layer {suite.layer!r} is not one of {', '.join(LAYERS)}")
    if suite.name != f"{suite.layer}.{suite.table}":
        problems.append(f"name {suite.name!r} should be {suite.layer}.{suite.table}")
    if not suite.expectations:
        problems.append("no expectations")
    for i, expectation in enumerate(suite.expectations):
        meta = expectation.get("meta") or {}
        where = f"expectation {i} ({expectation.get('type')})"
        if "id" in expectation:
            problems.append(f"{where}: remove the generated id")
        if meta.get("severity") not in SEVERITIES:
            problems.append(f"{where}: meta.severity must be one of {', '.join(SEVERITIES)}")
        if not str(meta.get("rule", "")).strip():
            problems.append(f"{where}: meta.rule (human text) is missing")
        if expectation.get("type") == "unexpected_rows_expectation" and "{batch}" not in str(
            expectation.get("kwargs", {}).get("unexpected_rows_query", "")
        ):
            problems.append(f"{where}: unexpected_rows_query must read {{batch}}")
    return problems
