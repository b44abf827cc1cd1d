"""The warehouse: the ordered SQL steps, run into a new DuckDB file and published atomically.

Layers (``pipelines/sql/README.md``): ``raw`` (ingest) → ``staging`` + ``quarantine`` → ``core``
→ ``marts``. Every step is a SQL file named after the table it makes; the lists below are the one
place where their order is decided.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import duckdb

from pipelines.contract_suites import typed_name
from pipelines.kinds import KINDS, ImportKind
from pipelines.settings import Settings

SQL_DIR = Path(__file__).resolve().parent / "sql"

# staging: placements first (later kinds check their case against it), payments before the
# kinds that name a payment (remittances).
STAGING_STEPS: tuple[str, ...] = (
    "placements",
    "payments",
    "case_updates",
    "account_status",
    "actions",
    "decisions",
    "promises",
    "plans",
    "disputes",
    "complaints",
    "debtor_events",
    "contact_preferences",
    "remittances",
    "fees",
    "labels",
    "experiments",
)

CORE_STEPS: tuple[str, ...] = (
    "creditors",
    "debtors",
    "contact_points",
    "cases",
    "invoices",
    "payments",
    "actions",
    "decisions",
    "promises",
    "payment_plans",
    "plan_instalments",
    "disputes",
    "complaints",
    "debtor_events",
    "contact_preferences",
    "case_events",
    "remittances",
    "fees",
    "account_status",
    "labels",
    "experiments",
)

MART_STEPS: tuple[str, ...] = (
    "kpi_monthly",
    "vintage_recovery",
    "contact_pressure",
    "limitation_deadlines",
    "compliance_breaches",
    "compliance_tiles",
    "case_facts",
    "case_attempts",
    "decision_outcomes",
    "contact_intensity",
)

TABLE_MACROS: dict[str, tuple[str, ...]] = {
    "case_snapshots": ("as_of",),
}

LINEAGE_COLUMNS = ("file_id", "source_row", "reader_error", "raw_line", "extra")


def sql_text(layer: str, name: str) -> str:
    """Return the text of ``sql/<layer>/<name>.sql``."""
    return (SQL_DIR / layer / f"{name}.sql").read_text(encoding="utf-8")


def connect(path: Path | str, settings: Settings, read_only: bool = False):
    """Open a DuckDB file with the settings' memory and thread limits, UTC, and no extension
    downloads (a hidden network dependency fails fast)."""
    config = {
        "autoinstall_known_extensions": "false",
        "autoload_known_extensions": "false",
        "threads": str(settings.get("build.threads", 2)),
        "memory_limit": str(settings.get("build.memory_limit", "4GB")),
    }
    con = duckdb.connect(str(path), read_only=read_only, config=config)
    con.execute("set TimeZone = 'UTC'")
    # our commands show their own progress; a Jupyter kernel without ipywidgets refuses the
    # setting (DuckDB then draws no bar there anyway)
    with contextlib.suppress(duckdb.InvalidInputException):
        con.execute("set enable_progress_bar = false")
    if not read_only and str(path) != ":memory:":
        temp = Path(path).parent / ".tmp"
        temp.mkdir(parents=True, exist_ok=True)
        con.execute(f"set temp_directory = '{temp.as_posix()}'")
    return con


@contextlib.contextmanager
def current_read_only(home, settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to ``home``'s current build, configured as every connection of
    ours (DuckDB refuses two configurations of one file in one process)."""
    con = connect(home.current_path(), settings, read_only=True)
    try:
        yield con
    finally:
        con.close()


def raw_table_ddl(import_kind: ImportKind) -> str:
    """``create table raw.<kind>_records``: every canonical column as text, plus lineage (its
    ``PLAIN_COLUMNS`` uncompressed). Ingest only appends to it (``raw_view_ddl``)."""
    table = f"raw.{import_kind.name}_records"
    columns = [
        "file_id integer not null",
        "source_row bigint",
        *(f"{name} varchar{storage(table, name)}" for name in import_kind.column_names),
        "reader_error varchar",
        "raw_line varchar",
        "extra varchar",
    ]
    return f"create table if not exists {table} (\n  " + ",\n  ".join(columns) + "\n)"


def raw_view_ddl(import_kind: ImportKind) -> str:
    """``create view raw.<kind>``: the stored records, each with its line number in its file.

    Ingest appends each file's accepted records in order, one file after another, so a record's
    number is its ``rowid`` minus its file's ``raw.files.row_base``; it stores ``source_row``
    only where that does not hold (the records of a file whose malformed lines the reader set
    aside, those lines themselves, rows inserted by hand). Numbering every row with an update
    cost 7.3–8.2 s on the 28 M decisions at 1,000,000 cases. The records table is never updated
    or deleted from otherwise: a row id must stay where ingest put it.
    """
    name = import_kind.name
    columns = ", ".join(f"r.{c}" for c in import_kind.column_names)
    return (
        f"create or replace view raw.{name} as\n"
        f"select r.file_id, coalesce(r.source_row, r.rowid - f.row_base) as source_row, "
        f"{columns}, r.reader_error, r.raw_line, r.extra\n"
        f"from raw.{name}_records as r\n"
        f"left join raw.files as f using (file_id)"
    )


def create_raw_schema(con) -> None:
    """Create the ``raw`` schema: files, value maps, and per import kind its records table and
    the view ``raw.<kind>`` over it (``raw_view_ddl``)."""
    con.execute("create schema if not exists raw")
    con.execute(
        """
        create table if not exists raw.files (
          file_id integer primary key,
          source varchar not null,
          kind varchar not null,
          source_file varchar not null,
          file_sha256 varchar not null,
          received_date date not null,
          rows bigint not null,
          row_base bigint,
          delimiter varchar,
          encoding varchar,
          decimal_mark varchar,
          thousands_sep varchar,
          date_format varchar,
          datetime_format varchar,
          timezone varchar,
          phone_region varchar,
          currency varchar
        )
        """
    )
    con.execute(
        """
        create table if not exists raw.value_maps (
          file_id integer, column_name varchar, from_value varchar, to_value varchar
        )
        """
    )
    for import_kind in KINDS.values():
        con.execute(raw_table_ddl(import_kind))
        con.execute(raw_view_ddl(import_kind))


def prepare_functions(con, settings: Settings) -> None:
    """Create the parsing macros and register the Python functions staging uses."""
    from pipelines import normalise

    normalise.register(con, settings)
    con.execute((SQL_DIR / "macros.sql").read_text(encoding="utf-8"))


def duplicates_sql(import_kind: ImportKind) -> str:
    """The rows of ``staging.<kind>`` that repeat an earlier valid row's natural key, with
    their reason: ``(file_id, source_row, reason)``.

    Among the rows no check rejected, the earliest ``(received_date, file_id, source_row)`` of a
    natural key is kept; a later one is a ``duplicate_row`` when its typed canonical values all
    equal the kept row's, else a ``conflicting_duplicate`` (``pipelines/sql/README.md``). Only the
    keys and one hash of the values are read, so the typed rows are not computed twice; and only
    the rows whose key hash repeats (sorted 64-bit hashes compared with their neighbour, as the
    contract runner checks keys) are grouped by their key: at 1,000,000 cases 28 M decisions
    6.1–6.8 → 2.9 s, with the same rows marked.
    """
    table = f"staging.{import_kind.name}"
    key = ", ".join(import_kind.natural_key)
    values = ", ".join(typed_name(c.name, c.type) for c in import_kind.columns)
    joined = " and ".join(f"r.{c} = v.{c}" for c in import_kind.natural_key)
    return f"""
        with key_hashes as (
            select hash({key}) as key_hash from {table} where reject_reason is null
        ),
        -- a repeated key has a repeated hash: only the rows of a repeated hash (few) are
        -- grouped by their key, not every row (a sort of the hashes beats a hash table of them)
        repeated_hashes as (
            select distinct key_hash
            from (
                select key_hash, lag(key_hash) over (order by key_hash) as previous
                from key_hashes
            )
            where key_hash = previous
        ),
        valid as (
            select file_id, source_row, received_date, {key}, hash({values}) as row_hash
            from {table}
            where reject_reason is null
                and hash({key}) in (select key_hash from repeated_hashes)
        ),
        repeated_keys as (
            select {key} from valid group by {key} having count(*) > 1
        ),
        ranked as (
            select
                v.file_id,
                v.source_row,
                row_number() over natural_key as key_rank,
                v.row_hash = first_value(v.row_hash) over natural_key as same_as_kept
            from valid as v
            semi join repeated_keys as r on {joined}
            window natural_key as (
                partition by {", ".join(f"v.{c}" for c in import_kind.natural_key)}
                order by v.received_date, v.file_id, v.source_row
            )
        )
        select
            file_id,
            source_row,
            case when same_as_kept then 'duplicate_row' else 'conflicting_duplicate' end as reason
        from ranked
        where key_rank > 1
        """


def duplicates_marked(con, kind_name: str) -> None:
    """Set ``reject_reason`` of ``staging.<kind>``'s natural-key duplicates (``duplicates_sql``)."""
    con.execute(
        f"""
        update staging.{kind_name} as t set reject_reason = d.reason
        from ({duplicates_sql(KINDS[kind_name])}) as d
        where t.file_id = d.file_id and t.source_row = d.source_row
        """
    )


def staged_and_quarantined(con, kind_name: str) -> tuple[int, int]:
    """Run ``staging/<kind>.sql``, mark its natural-key duplicates, and split it into
    ``staging.<kind>`` and ``quarantine.<kind>``; return (staged, quarantined) row counts."""
    con.execute("create schema if not exists staging")
    con.execute("create schema if not exists quarantine")
    # The typed rows are written once, as staging.<kind> itself: the rejected rows (few) are
    # copied to the quarantine, then deleted, and the reason column dropped (no table copy).
    table = f"staging.{kind_name}"
    created(con, table, sql_text("staging", kind_name))
    duplicates_marked(con, kind_name)
    con.execute(
        f"""
        create or replace table quarantine.{kind_name} as
        select t.file_id, t.source_file, t.source_row, t.reject_reason as reason,
               to_json(r) as raw_values
        from (select * from {table} where reject_reason is not null) t
        join raw.{kind_name} r using (file_id, source_row)
        """
    )
    quarantined = con.execute(f"select count(*) from quarantine.{kind_name}").fetchall()[0][0]
    con.execute(f"delete from {table} where reject_reason is not null")
    con.execute(f"alter table {table} drop column reject_reason")
    staged = con.execute(f"select count(*) from {table}").fetchall()[0][0]
    return staged, quarantined


def quarantine_view_sql() -> str:
    """One view over every quarantine table, with the kind named."""
    parts = [
        f"select '{name}' as kind, file_id, source_file, source_row, reason, raw_values "
        f"from quarantine.{name}"
        for name in STAGING_STEPS
    ]
    return "create or replace view quarantine.rows as\n" + "\nunion all\n".join(parts)


# Columns stored uncompressed, in the tables of 5 million rows or more at 1,000,000 cases. They
# hold refs, ids (the md5 hex of a natural key), phone numbers: values nearly all distinct within a
# row group, so DuckDB's dictionary fails on them and its FSST pass costs more CPU than it saves
# bytes. Measured column by column at 1,000,000 cases (compressed → plain): core.decisions'
# case_id 6.5 → 3.3 s (0.51 → 1.01 GB) and case_ref 4.3 → 1.5 s (0.16 → 0.42 GB); raw.actions'
# action_ref 1.7 → 0.6 s; core.case_events' ref 2.2 → 0.8 s; core.account_status' ids 1.1 → 0.3 s
# each. Text of few distinct values (creditor_ref, source_file, iso_week, action, dates as text)
# stays compressed: plain is no faster and up to 100 times bigger. Elsewhere the ids stay
# compressed: a table ordered by debtor (marts.contact_pressure) compresses them 5x at no cost,
# and the small tables gain nothing.
PLAIN_COLUMNS: dict[str, tuple[str, ...]] = {
    "raw.decisions_records": ("case_ref",),
    "raw.actions_records": ("action_ref", "case_ref", "phone", "letter_ref"),
    "raw.account_status_records": ("case_ref", "balance"),
    "staging.decisions": ("case_ref",),
    "staging.actions": ("action_ref", "case_ref", "phone", "letter_ref"),
    "staging.account_status": ("case_ref",),
    "core.actions": (
        "action_id",
        "case_id",
        "debtor_id",
        "action_ref",
        "case_ref",
        "phone",
        "letter_ref",
    ),
    "core.case_events": ("case_id", "debtor_id", "ref"),
    "core.decisions": ("case_id", "case_ref"),
    "core.account_status": ("account_status_id", "case_id", "case_ref"),
}

# Keys computed when read rather than stored: ``{table: {column: expression}}``, placed first.
# core.decisions' key is read by almost nothing (every mart groups by case and week), and
# storing 28 million unique hashes cost 8 s of a 41 s write at 1,000,000 cases.
VIRTUAL_COLUMNS: dict[str, dict[str, str]] = {
    "core.decisions": {"decision_id": "md5(creditor_ref || '|' || case_ref || '|' || iso_week)"},
}


def storage(table: str, column: str) -> str:
    """The column's storage clause in ``table``'s DDL: uncompressed for ``PLAIN_COLUMNS``."""
    return " using compression uncompressed" if column in PLAIN_COLUMNS.get(table, ()) else ""


def table_ddl(table: str, columns: list[tuple[str, str]]) -> str:
    """``create or replace table`` for ``columns`` (name, DuckDB type) with the storage choices
    above: ``VIRTUAL_COLUMNS`` first, then the columns, ``PLAIN_COLUMNS`` uncompressed."""
    virtual = [
        f"{name} varchar generated always as ({expression}) virtual"
        for name, expression in VIRTUAL_COLUMNS.get(table, {}).items()
    ]
    stored = [f'"{name}" {type_}{storage(table, name)}' for name, type_ in columns]
    return f"create or replace table {table} (\n  " + ",\n  ".join(virtual + stored) + "\n)"


def created(con, table: str, select: str) -> None:
    """``create or replace table <table> as <select>``; a table of ``PLAIN_COLUMNS`` or
    ``VIRTUAL_COLUMNS`` is declared first (from the select's own column types) and then filled."""
    if table in VIRTUAL_COLUMNS or table in PLAIN_COLUMNS:
        columns = [(r[0], r[1]) for r in con.execute(f"describe {select}").fetchall()]
        con.execute(table_ddl(table, columns))
        names = ", ".join(f'"{c}"' for c, _ in columns)
        con.execute(f"insert into {table} ({names}) {select}")
    else:
        con.execute(f"create or replace table {table} as {select}")


def materialised(con, layer: str, name: str) -> int:
    """Create ``<layer>.<name>`` from its SQL file (``created``); return its row count."""
    table = f"{layer}.{name}"
    con.execute(f"create schema if not exists {layer}")
    created(con, table, sql_text(layer, name))
    return con.execute(f"select count(*) from {table}").fetchall()[0][0]


def table_macro(con, name: str, parameters: Iterable[str]) -> None:
    """Create ``marts.<name>(parameters)`` as a table macro from ``marts/<name>.sql``."""
    con.execute("create schema if not exists marts")
    params = ", ".join(parameters)
    con.execute(
        f"create or replace macro marts.{name}({params}) as table {sql_text('marts', name)}"
    )


def macros_installed(con, settings: Settings) -> None:
    """Before the marts: the rules' tables from settings (``pipelines.rules.rule_tables``) and
    every table macro, the rules' ones with this build's figures as default arguments."""
    from pipelines import rules

    rules.rule_tables(con, settings)
    for name, params in {**TABLE_MACROS, **rules.macro_parameters(settings)}.items():
        table_macro(con, name, params)


def transformed(
    con,
    settings: Settings,
    on_step: Callable[[str, str, dict[str, int]], None] | None = None,
) -> dict[str, dict[str, int]]:
    """Run staging, core and marts on a connection whose ``raw`` schema is loaded.

    Returns ``{"staging": {kind: staged}, "quarantine": {kind: quarantined}, "core": {table:
    rows}, "marts": {table: rows}}``; ``on_step(layer, name, counts)`` is called after each step.
    """
    report: dict[str, dict[str, int]] = {"staging": {}, "quarantine": {}, "core": {}, "marts": {}}
    notify = on_step or (lambda layer, name, counts: None)
    prepare_functions(con, settings)
    for kind_name in STAGING_STEPS:
        staged, quarantined = staged_and_quarantined(con, kind_name)
        report["staging"][kind_name] = staged
        report["quarantine"][kind_name] = quarantined
        notify("staging", kind_name, {"staged": staged, "quarantined": quarantined})
    con.execute(quarantine_view_sql())
    for name in CORE_STEPS:
        report["core"][name] = materialised(con, "core", name)
        notify("core", name, {"rows": report["core"][name]})
    macros_installed(con, settings)
    for name in MART_STEPS:
        report["marts"][name] = materialised(con, "marts", name)
        notify("marts", name, {"rows": report["marts"][name]})
    return report


# -- build and publish ------------------------------------------------------------------------


class BuildError(RuntimeError):
    """The build could not be published; the previous build stays current."""


def _per_file_counts_sql() -> str:
    """One row per loaded file: declared rows, raw rows, staged rows, quarantined rows."""
    raw = " union all ".join(f"select file_id from raw.{k}_records" for k in STAGING_STEPS)
    out = " union all ".join(
        f"select file_id, 1 as s, 0 as q from staging.{k} "
        f"union all select file_id, 0, 1 from quarantine.{k}"
        for k in STAGING_STEPS
    )
    return f"""
        with raw_counts as (select file_id, count(*) as raw_rows from ({raw}) group by file_id),
        out_counts as (
          select file_id, sum(s) as staged, sum(q) as quarantined from ({out}) group by file_id
        )
        select f.source_file, f.file_id, f.rows as declared,
               coalesce(r.raw_rows, 0) as raw_rows,
               coalesce(o.staged, 0)::bigint as staged,
               coalesce(o.quarantined, 0)::bigint as quarantined
        from raw.files f
        left join raw_counts r using (file_id)
        left join out_counts o using (file_id)
        """


def lost_rows(con) -> list[tuple[str, int, int, int, int]]:
    """Files whose raw rows differ from staged + quarantined rows:
    ``(source_file, file_id, raw, staged, quarantined)``; empty when nothing is lost."""
    return con.execute(
        f"""
        select source_file, file_id, raw_rows, staged, quarantined
        from ({_per_file_counts_sql()})
        where raw_rows != staged + quarantined or raw_rows != declared
        order by file_id
        """
    ).fetchall()


def file_counts(con) -> dict[int, tuple[int, int]]:
    """``{file_id: (staged, quarantined)}``."""
    rows = con.execute(
        f"select file_id, staged, quarantined from ({_per_file_counts_sql()})"
    ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def quarantine_by_reason(con) -> dict[str, int]:
    rows = con.execute(
        "select reason, count(*) from quarantine.rows group by reason order by 2 desc, 1"
    ).fetchall()
    return {r[0]: r[1] for r in rows}
