"""Generate the file-level and staging suites from ``pipelines/kinds.py``.

``python -m pipelines.contract_suites`` rewrites ``data_contracts/suites/files/<kind>.json`` and
``data_contracts/suites/staging/<kind>.json``; the generated files are committed and reviewed like
any other suite, and ``tests/data_contracts`` fails when they are out of step with kinds.py.
(``core`` and ``marts`` suites are written by hand.)

File-level suites read the per-file profile of ``pipelines.validate.file_profile_sql``: one row
per received file of the kind, with ``data_rows``, ``missing_required`` (required columns absent
from the header or empty in every row), ``mojibake_rows`` (text decoded in the wrong encoding)
and ``readable_share`` (records the reader could split into the header's columns). A failure
names the file; ingest already refuses such files before loading, so these suites are the
reviewed statement of that contract and a second line of defence.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from data_contracts.suites import SUITES_DIR, dumps, suite_path
from pipelines.kinds import KINDS, ImportKind

LINEAGE_TYPES = {
    "file_id": "INTEGER",
    "source_row": "BIGINT",
    "source_file": "VARCHAR",
    "received_date": "DATE",
}
DUCKDB_TYPES = {
    "ref": "VARCHAR",
    "text": "VARCHAR",
    "enum": "VARCHAR",
    "phone": "VARCHAR",
    "email": "VARCHAR",
    "iso_week": "VARCHAR",
    "money": "BIGINT",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
    "month": "DATE",
    "int": "BIGINT",
    "float": "DOUBLE",
    "bool": "BOOLEAN",
}
# money columns that must be > 0 once staged (pipelines/sql/staging: negative_amount)
POSITIVE_MONEY: dict[str, tuple[str, ...]] = {
    "placements": ("amount",),
    "promises": ("amount",),
    "fees": ("amount",),
    "plans": ("plan_amount",),
    "remittances": ("amount",),
}
PROBABILITIES: dict[str, tuple[str, ...]] = {
    "decisions": ("propensity",),
    "experiments": ("propensity",),
}
FILE_PROFILE_COLUMNS = (
    "source_file",
    "data_rows",
    "malformed_rows",
    "readable_share",
    "missing_required",
    "mojibake_rows",
)
MIN_READABLE_SHARE = 0.5


def _e(kind: str, severity: str, rule: str, column: str | None = None, **kwargs) -> dict:
    """One expectation; ``column`` goes to ``kwargs`` for column expectations, else to
    ``meta.column`` (``unexpected_rows_expectation``)."""
    meta: dict[str, Any] = {"severity": severity, "rule": rule}
    if column is not None:
        if kind == "unexpected_rows_expectation":
            meta["column"] = column
        else:
            kwargs = {"column": column, **kwargs}
    return {"type": kind, "kwargs": kwargs, "meta": meta}


def typed_name(column: str, type_: str) -> str:
    """The staged name of a canonical column (money gets ``_cents``)."""
    return f"{column}_cents" if type_ == "money" else column


def staged_columns(k: ImportKind) -> dict[str, str]:
    """``{staged column: DuckDB type}`` for a kind, lineage first (``pipelines/sql/README.md``)."""
    columns = dict(LINEAGE_TYPES)
    for c in k.columns:
        columns[typed_name(c.name, c.type)] = DUCKDB_TYPES[c.type]
    return columns


def file_suite(k: ImportKind) -> dict[str, Any]:
    """The file-level suite of one import kind."""
    required = ", ".join(k.required)
    expectations = [
        _e(
            "expect_column_values_to_not_be_null",
            "critical",
            "every file is named",
            column="source_file",
        ),
        _e(
            "expect_column_values_to_be_unique",
            "critical",
            "a file is loaded once (one profile row per file)",
            column="source_file",
        ),
        _e(
            "expect_column_values_to_be_between",
            "critical",
            "non-empty: a file has at least one data row under its header",
            column="data_rows",
            min_value=1,
        ),
        _e(
            "expect_column_values_to_be_null",
            "critical",
            f"header: the required columns ({required}) are present and filled in at least one "
            "row; the value lists those missing",
            column="missing_required",
        ),
        _e(
            "expect_column_values_to_be_between",
            "critical",
            "encoding: no text decoded in the wrong encoding (UTF-8 read as cp1252, 'Ã©' for "
            "'é'); the file must be re-exported in one encoding",
            column="mojibake_rows",
            max_value=0,
        ),
        _e(
            "expect_column_values_to_be_between",
            "critical",
            f"columns: at least {MIN_READABLE_SHARE:.0%} of the records split into the header's "
            "columns (else the delimiter or quoting is wrong)",
            column="readable_share",
            min_value=MIN_READABLE_SHARE,
        ),
    ]
    return {
        "name": f"files.{k.name}",
        "meta": {
            "layer": "files",
            "table": k.name,
            "kind": k.name,
            "required": list(k.required),
            "notes": "File-level contract: a failure refuses the whole file. Reads one row per "
            "file (pipelines.validate.file_profile_sql). Generated from pipelines/kinds.py by "
            "`python -m pipelines.contract_suites`; do not edit by hand.",
        },
        "expectations": expectations,
    }


def staging_suite(k: ImportKind) -> dict[str, Any]:
    """The staging suite of one import kind."""
    columns = staged_columns(k)
    ex: list[dict] = [
        _e(
            "expect_table_columns_to_match_set",
            "critical",
            f"staging.{k.name} has the lineage columns and every canonical column of kinds.py",
            column_set=list(columns),
            exact_match=False,
        ),
    ]
    for name, type_ in columns.items():
        ex.append(
            _e(
                "expect_column_values_to_be_of_type",
                "critical",
                f"{name} is typed {type_}",
                column=name,
                type_=type_,
            )
        )
    required = [*LINEAGE_TYPES, *(typed_name(c, k.column(c).type) for c in k.required)]
    for name in required:
        ex.append(
            _e(
                "expect_column_values_to_not_be_null",
                "critical",
                f"{name} is filled (lineage or a required column)",
                column=name,
            )
        )
    ex.append(
        _e(
            "expect_compound_columns_to_be_unique",
            "critical",
            "one staged row per raw row",
            column_list=["file_id", "source_row"],
        )
    )
    key = [typed_name(c, k.column(c).type) for c in k.natural_key]
    rule = f"natural key ({', '.join(key)}) is unique: resent rows are quarantined as duplicates"
    if len(key) == 1:
        ex.append(_e("expect_column_values_to_be_unique", "critical", rule, column=key[0]))
    else:
        ex.append(_e("expect_compound_columns_to_be_unique", "critical", rule, column_list=key))
    ex.append(
        _e(
            "unexpected_rows_expectation",
            "critical",
            "nothing lost: per file, raw rows = staged rows + quarantined rows",
            column="source_file",
            unexpected_rows_query=(
                f"with raw_rows as (select file_id, count(*) as n from raw.{k.name} group by 1), "
                "staged as (select file_id, count(*) as n from {batch} group by 1), "
                f"quarantined as (select file_id, count(*) as n from quarantine.{k.name} "
                "group by 1) "
                "select f.source_file, coalesce(r.n, 0) as raw_rows, coalesce(s.n, 0) as staged, "
                "coalesce(q.n, 0) as quarantined from raw.files as f "
                "left join raw_rows as r using (file_id) left join staged as s using (file_id) "
                "left join quarantined as q using (file_id) "
                f"where f.kind = '{k.name}' "
                "and coalesce(r.n, 0) != coalesce(s.n, 0) + coalesce(q.n, 0)"
            ),
        )
    )
    for c in k.columns:
        name = typed_name(c.name, c.type)
        if c.type == "enum":
            ex.append(
                _e(
                    "expect_column_values_to_be_in_set",
                    "critical",
                    f"{name} is one of the values kinds.py allows",
                    column=name,
                    value_set=list(c.values),
                )
            )
        elif c.type == "iso_week":
            ex.append(
                _e(
                    "expect_column_values_to_match_regex",
                    "critical",
                    f"{name} is an ISO week YYYY-Www",
                    column=name,
                    regex=r"^\d{4}-W(?:0[1-9]|[1-4]\d|5[0-3])$",
                )
            )
    if any(c.type == "money" for c in k.columns):
        ex.append(
            _e(
                "expect_column_values_to_match_regex",
                "critical",
                "currency is a three-letter ISO 4217 code",
                column="currency",
                regex=r"^[A-Z]{3}$",
            )
        )
    for c in POSITIVE_MONEY.get(k.name, ()):
        ex.append(
            _e(
                "expect_column_values_to_be_between",
                "critical",
                f"{c}_cents is positive (> 0)",
                column=f"{c}_cents",
                min_value=1,
            )
        )
    for c in PROBABILITIES.get(k.name, ()):
        ex.append(
            _e(
                "expect_column_values_to_be_between",
                "critical",
                f"{c} is a probability in (0, 1]",
                column=c,
                min_value=0,
                max_value=1,
                strict_min=True,
            )
        )
    for c in k.not_after_received:
        type_ = k.column(c).type
        rule = f"knowledge time: {c} is not after the file's received date"
        if type_ == "timestamp":
            # the staging check compares the local date; a UTC timestamp may be one day later
            ex.append(
                _e(
                    "unexpected_rows_expectation",
                    "critical",
                    rule + " (UTC, one day of time-zone slack)",
                    column=c,
                    unexpected_rows_query=(
                        f"select {c}, received_date, source_file, source_row from {{batch}} "
                        f"where cast({c} as date) > received_date + 1"
                    ),
                )
            )
        else:
            ex.append(
                _e(
                    "expect_column_pair_values_a_to_be_greater_than_b",
                    "critical",
                    rule,
                    column_A="received_date",
                    column_B=c,
                    or_equal=True,
                    ignore_row_if="either_value_is_missing",
                )
            )
    names = k.column_names
    if "case_ref" in names and k.name != "placements":
        ex.append(
            _e(
                "unexpected_rows_expectation",
                "critical",
                "every row names a placed case (staging.placements)",
                column="case_ref",
                unexpected_rows_query=(
                    "select b.creditor_ref, b.case_ref, b.source_file, b.source_row "
                    "from {batch} as b anti join staging.placements as p "
                    "using (creditor_ref, case_ref)"
                ),
            )
        )
    if k.name == "remittances":
        ex.append(
            _e(
                "unexpected_rows_expectation",
                "critical",
                "every remittance names a staged payment of its creditor",
                column="payment_ref",
                unexpected_rows_query=(
                    "select b.creditor_ref, b.payment_ref, b.source_file, b.source_row "
                    "from {batch} as b anti join staging.payments as p "
                    "using (creditor_ref, payment_ref)"
                ),
            )
        )
    if k.name == "payments":
        ex.append(
            _e(
                "unexpected_rows_expectation",
                "critical",
                "a reversal is negative and any other payment positive",
                column="amount_cents",
                unexpected_rows_query=(
                    "select amount_cents, is_reversal, source_file, source_row from {batch} "
                    "where (is_reversal and amount_cents >= 0) "
                    "or (not is_reversal and amount_cents <= 0)"
                ),
            )
        )
    return {
        "name": f"staging.{k.name}",
        "meta": {
            "layer": "staging",
            "table": k.name,
            "kind": k.name,
            "notes": "Generated from pipelines/kinds.py by `python -m pipelines.contract_suites`; "
            "do not edit by hand (change the generator).",
        },
        "expectations": ex,
    }


def generated_suites() -> dict[Path, str]:
    """``{path: text}`` of every generated suite file."""
    out: dict[Path, str] = {}
    for k in KINDS.values():
        out[suite_path("files", k.name)] = dumps(file_suite(k))
        out[suite_path("staging", k.name)] = dumps(staging_suite(k))
    return out


def stale_suites() -> list[Path]:
    """Generated suite files whose text differs from what kinds.py gives (or that are missing),
    and stale files of kinds that no longer exist."""
    wanted = generated_suites()
    stale = [p for p, text in wanted.items() if not p.exists() or p.read_text("utf-8") != text]
    for layer in ("files", "staging"):
        stale += [p for p in sorted((SUITES_DIR / layer).glob("*.json")) if p not in wanted]
    return stale


def main() -> int:
    for path, text in generated_suites().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text("utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(SUITES_DIR.parent.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
