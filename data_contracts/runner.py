"""Run the suites on a DuckDB connection (or on frames) and return plain results.

Two engines, one suite per table (``data_contracts.suites``):

* **SQL, whole table** — the types in ``suites.SQL_TYPES``: keys (not null, unique, compound
  unique), foreign keys, the nothing-lost invariant and cross-table business rules
  (``unexpected_rows_expectation``), column types (from the catalog) and row counts. They run
  inside DuckDB on every row, so they are exact at any size.
* **Great Expectations, sample** — every other type (allowed values, ranges, formats, column-pair
  rules) runs in an ephemeral, offline GX context on a pandas frame of at most ``sample_rows``
  rows drawn with DuckDB's reservoir sample (``repeatable(seed)``), holding only the columns the
  expectations name plus ``source_file``/``source_row`` (so examples name the row). A table with
  no more rows than ``sample_rows`` is checked whole. One GX validation per table keeps the fixed
  overhead (≈0.1–0.2 s a call) down; empty tables skip GX.

Counts reported by sampled expectations are counts in the sample (``sampled=True``).

Speed: a suite whose relation is a query (the file profiles) has it computed once into a temp
table, not once per expectation; uniqueness is first checked on sorted 64-bit hashes of the key
(the exact text grouping runs only when a hash repeats).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb

from data_contracts.suites import Suite, column_of, engine_of, loaded_suites

DEFAULT_SAMPLE_ROWS = 50_000
DEFAULT_SEED = 20_260_101
EXAMPLES = 3
LINEAGE = ("source_file", "source_row")


@dataclass
class Outcome:
    """The result of one expectation on one table."""

    suite: str
    layer: str
    table: str
    index: int
    expectation: str
    column: str
    severity: str
    rule: str
    engine: str
    success: bool
    unexpected_count: int | None = None
    checked_rows: int | None = None
    sampled: bool = False
    examples: list[str] = field(default_factory=list)
    error: str = ""
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ValidationRun:
    """Every outcome of one validation, with timings per suite."""

    outcomes: list[Outcome]
    suites: list[str]
    started_at: datetime
    seconds: float
    sample_rows: int
    suite_seconds: dict[str, float] = field(default_factory=dict)
    suite_rows: dict[str, int] = field(default_factory=dict)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success]

    @property
    def critical_failures(self) -> list[Outcome]:
        return [o for o in self.failures if o.severity == "critical"]

    @property
    def warnings(self) -> list[Outcome]:
        return [o for o in self.failures if o.severity == "warning"]

    @property
    def status(self) -> str:
        """``failed`` (a critical expectation failed), ``warnings`` or ``passed``."""
        if self.critical_failures:
            return "failed"
        return "warnings" if self.warnings else "passed"

    def suite_summary(self) -> list[dict[str, Any]]:
        """One row per suite: counts of passed and failed expectations by severity."""
        rows = []
        for name in self.suites:
            mine = [o for o in self.outcomes if o.suite == name]
            rows.append(
                {
                    "suite": name,
                    "layer": mine[0].layer if mine else name.split(".", 1)[0],
                    "table": mine[0].table if mine else name.split(".", 1)[-1],
                    "rows": self.suite_rows.get(name),
                    "expectations": len(mine),
                    "passed": sum(o.success for o in mine),
                    "failed_critical": sum(
                        not o.success and o.severity == "critical" for o in mine
                    ),
                    "failed_warning": sum(not o.success and o.severity == "warning" for o in mine),
                    "seconds": round(self.suite_seconds.get(name, 0.0), 3),
                }
            )
        return rows


# -- messages ---------------------------------------------------------------------------------


def message_of(o: Outcome) -> str:
    """One line naming the table, the column, the rule, the expectation and an example value."""
    where = o.suite + (f".{o.column}" if o.column and ", " not in o.column else "")
    if o.column and ", " in o.column:
        where += f" ({o.column})"
    if o.success:
        return f"{where}: ok — {o.rule}"
    if o.error:
        return f"{where}: {o.rule} — {o.expectation} could not run: {o.error}"
    if o.sampled:
        scope = f" in a sample of {o.checked_rows:,} rows"
    elif o.checked_rows is not None:
        scope = f" of {o.checked_rows:,} rows"
    else:
        scope = ""
    count = f"{o.unexpected_count:,} unexpected{scope}" if o.unexpected_count is not None else ""
    example = f"; e.g. {o.examples[0]}" if o.examples else ""
    return f"{where}: {o.rule} — {o.expectation} failed: {count}{example}"


def _finish(o: Outcome) -> Outcome:
    o.message = message_of(o)
    return o


def _outcome(suite: Suite, index: int, expectation: dict[str, Any], **values: Any) -> Outcome:
    meta = expectation.get("meta") or {}
    return _finish(
        Outcome(
            suite=suite.name,
            layer=suite.layer,
            table=suite.table,
            index=index,
            expectation=expectation["type"],
            column=column_of(expectation),
            severity=meta.get("severity", "critical"),
            rule=meta.get("rule", ""),
            engine=engine_of(expectation),
            **values,
        )
    )


def _text(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float) and value != value:  # NaN from pandas nulls
        return "NULL"
    if isinstance(value, str):
        return repr(value)
    return str(value)


# -- the SQL engine ---------------------------------------------------------------------------


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _at(row: tuple, lineage: bool) -> str:
    return f" at {row[-2]} row {row[-1]}" if lineage else ""


def _sql_checked(
    con, e: dict[str, Any], relation: str, types: dict[str, str], total: int
) -> tuple[int, list[str], int | None]:
    """(unexpected count, examples, rows checked) for one SQL-engine expectation."""
    kind, kw = e["type"], e.get("kwargs", {})
    lineage = all(c in types for c in LINEAGE)
    tail = ", source_file, source_row" if lineage else ""
    if kind == "expect_column_values_to_not_be_null":
        col = _q(kw["column"])
        where = f"from {relation} where {col} is null"
        n = con.execute(f"select count(*) {where}").fetchall()[0][0]
        rows = con.execute(f"select {col}{tail} {where} limit {EXAMPLES}").fetchall() if n else []
        return n, [f"{kw['column']}=NULL{_at(r, lineage)}" for r in rows], total
    if kind in ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"):
        cols = [kw["column"]] if "column" in kw else list(kw["column_list"])
        keys = ", ".join(_q(c) for c in cols)
        present = " or ".join(f"{_q(c)} is not null" for c in cols)
        dupes = (
            f"select {keys}, count(*) as _n from {relation} where {present} "
            f"group by all having count(*) > 1"
        )
        # Repeated keys have repeated hashes: when no 64-bit hash of the key repeats (the usual
        # case) no key does, and the exact (slower, text-grouping) count is not needed. Sorted
        # hashes compared with their neighbour are cheaper than a hash table of every key.
        hashes = (
            f"select _h, lag(_h) over (order by _h) as _p "
            f"from (select hash({keys}) as _h from {relation} where {present})"
        )
        n = con.execute(f"select count(*) from ({hashes}) where _h = _p").fetchall()[0][0]
        if n:
            n = con.execute(f"select coalesce(sum(_n), 0)::bigint from ({dupes})").fetchall()[0][0]
        rows = (
            con.execute(f"{dupes} order by _n desc, {keys} limit {EXAMPLES}").fetchall()
            if n
            else []
        )
        examples = [
            ", ".join(f"{c}={_text(v)}" for c, v in zip(cols, r[:-1], strict=True))
            + f" ({r[-1]} rows)"
            for r in rows
        ]
        return n, examples, total
    if kind == "unexpected_rows_expectation":
        query = kw["unexpected_rows_query"].replace("{batch}", relation)
        n = con.execute(f"select count(*) from ({query}) as _u").fetchall()[0][0]
        if not n:
            return 0, [], total
        cursor = con.execute(f"select * from ({query}) as _u limit {EXAMPLES}")
        names = [d[0] for d in cursor.description]
        return (
            n,
            [
                ", ".join(f"{c}={_text(v)}" for c, v in zip(names, r, strict=True))
                for r in cursor.fetchall()
            ],
            total,
        )
    if kind == "expect_column_values_to_be_of_type":
        col, wanted = kw["column"], str(kw["type_"]).upper()
        observed = types.get(col)
        if observed is None:
            return 1, [f"column {col} is missing"], None
        return (0, [], None) if observed.upper() == wanted else (1, [f"{col} is {observed}"], None)
    if kind == "expect_table_columns_to_match_set":
        wanted_set = set(kw["column_set"])
        missing = sorted(wanted_set - set(types))
        extra = sorted(set(types) - wanted_set) if kw.get("exact_match", True) else []
        examples = [f"missing column {c}" for c in missing] + [f"extra column {c}" for c in extra]
        return len(examples), examples, None
    if kind == "expect_table_row_count_to_be_between":
        low, high = kw.get("min_value"), kw.get("max_value")
        bad = (low is not None and total < low) or (high is not None and total > high)
        return int(bad), ([f"{total:,} rows"] if bad else []), total
    raise ValueError(f"{kind} has no SQL translation")


def _sql_outcomes(
    con, suite: Suite, relation: str, types: dict[str, str], total: int
) -> list[Outcome]:
    results = []
    for index, e in suite.by_engine("sql"):
        try:
            n, examples, checked = _sql_checked(con, e, relation, types, total)
        except (duckdb.Error, KeyError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            results.append(_outcome(suite, index, e, success=False, error=first))
            continue
        results.append(
            _outcome(
                suite,
                index,
                e,
                success=n == 0,
                unexpected_count=n,
                checked_rows=checked,
                examples=examples,
            )
        )
    return results


# -- the Great Expectations engine ------------------------------------------------------------


def _gx():
    """Import Great Expectations with its Python 3.11 import-time warnings silenced (it imports
    the deprecated ``sre_constants``/``sre_parse``); nothing else is filtered."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"module 'sre_(constants|parse)' is deprecated", category=Warning
        )
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig
    return gx, ProgressBarsConfig


class _GxSession:
    """One ephemeral (offline) GX context per validation run, with a pandas datasource."""

    def __init__(self) -> None:
        gx, progress_bars = _gx()
        self.gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = progress_bars(globally=False)
        self.source = self.context.data_sources.add_pandas("relance_contracts")
        self.n = 0

    def validate(self, suite: Suite, frame) -> dict[int, Any]:
        """Validate ``frame`` against the suite's GX expectations; ``{index: result}``."""
        self.n += 1
        asset = self.source.add_dataframe_asset(f"a{self.n}")
        batch_definition = asset.add_batch_definition_whole_dataframe("whole")
        expectations = []
        for index, e in suite.by_engine("gx"):
            meta = dict(e.get("meta") or {})
            meta["index"] = index
            expectations.append(
                {
                    "type": e["type"],
                    "kwargs": dict(e.get("kwargs", {})),
                    "meta": meta,
                    "severity": meta.get("severity", "critical"),
                }
            )
        gx_suite = self.gx.ExpectationSuite(name=suite.name, expectations=expectations)
        result_format: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": 5}
        lineage = [c for c in LINEAGE if c in frame.columns]
        if lineage:
            result_format["unexpected_index_column_names"] = lineage
        batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(gx_suite, result_format=result_format)
        return {r.expectation_config.meta["index"]: r for r in result.results}


def _columns_needed(suite: Suite, types: dict[str, str]) -> list[str] | None:
    """Columns the suite's GX expectations read (plus lineage), or ``None`` for all."""
    needed: list[str] = []
    for _, e in suite.by_engine("gx"):
        kw = e.get("kwargs", {})
        names = [kw[k] for k in ("column", "column_A", "column_B") if k in kw]
        names += list(kw.get("column_list", []))
        if not names:
            return None
        needed += names
    needed += [c for c in LINEAGE if c in types]
    return [c for c in dict.fromkeys(needed) if c in types]


def sample_frame(con, relation: str, columns: list[str] | None, types, sample_rows, seed):
    """At most ``sample_rows`` rows of ``relation`` as a pandas frame (HUGEINT cast to BIGINT)."""
    names = list(types) if columns is None else columns
    select = ", ".join(
        f"{_q(c)}::bigint as {_q(c)}" if types[c].upper() == "HUGEINT" else _q(c) for c in names
    )
    sql = f"select {select or '1 as _'} from {relation} as _t"
    if sample_rows is not None:
        sql += f" using sample reservoir({int(sample_rows)} rows) repeatable ({int(seed)})"
    return con.sql(sql).pl().to_pandas()


def _gx_examples(result: dict[str, Any], e: dict[str, Any]) -> list[str]:
    kw = e.get("kwargs", {})
    indexed = result.get("partial_unexpected_index_list") or []
    if indexed and isinstance(indexed[0], dict):
        out = []
        for row in indexed[:EXAMPLES]:
            if "source_file" in row and "source_row" in row:
                at = f" at {row['source_file']} row {row['source_row']}"
            elif "source_file" in row:
                at = f" in {row['source_file']}"
            else:
                at = ""
            values = ", ".join(f"{k}={_text(v)}" for k, v in row.items() if k not in LINEAGE)
            out.append(values + at)
        return out
    values = result.get("partial_unexpected_list") or []
    if "column_A" in kw:
        return [
            f"{kw['column_A']}={_text(v[0])}, {kw['column_B']}={_text(v[1])}"
            for v in values[:EXAMPLES]
        ]
    column = kw.get("column", "")
    return [f"{column}={_text(v)}" if column else _text(v) for v in values[:EXAMPLES]]


def _gx_outcomes(
    session_factory, con, suite: Suite, relation: str, types, total: int, sample_rows: int, seed
) -> list[Outcome]:
    pairs = suite.by_engine("gx")
    if not pairs:
        return []
    if total == 0:
        return [
            _outcome(suite, i, e, success=True, unexpected_count=0, checked_rows=0)
            for i, e in pairs
        ]
    sampled = total > sample_rows
    frame = sample_frame(
        con, relation, _columns_needed(suite, types), types, sample_rows if sampled else None, seed
    )
    by_index = session_factory().validate(suite, frame)
    results = []
    for index, e in pairs:
        r = by_index.get(index)
        if r is None:
            results.append(_outcome(suite, index, e, success=False, error="no result from GX"))
            continue
        info = r.exception_info or {}
        raised = info.get("raised_exception") if "raised_exception" in info else None
        if raised is None:  # per-metric errors: {metric id: {exception_message, …}}
            nested = [v for v in info.values() if isinstance(v, dict)]
            errors = [v.get("exception_message") for v in nested if v.get("raised_exception")]
        else:
            errors = [info.get("exception_message")] if raised else []
        if errors:
            first = str(errors[0] or "error").strip().splitlines()[0]
            results.append(_outcome(suite, index, e, success=False, error=first))
            continue
        res = r.result or {}
        results.append(
            _outcome(
                suite,
                index,
                e,
                success=bool(r.success),
                unexpected_count=res.get("unexpected_count", 0 if r.success else 1),
                checked_rows=len(frame),
                sampled=sampled,
                examples=[] if r.success else _gx_examples(res, e),
            )
        )
    return results


# -- entry points -----------------------------------------------------------------------------


def validated(
    con,
    suites: Iterable[Suite] | None = None,
    *,
    sample_rows: int = DEFAULT_SAMPLE_ROWS,
    seed: int = DEFAULT_SEED,
    sources: Mapping[str, str] | None = None,
    on_suite=None,
) -> ValidationRun:
    """Run ``suites`` (default: every suite) on the tables of ``con``.

    ``sources`` maps a suite name to the relation it reads instead of ``<layer>.<table>`` (a
    table, view or registered frame name, or a parenthesised ``select``). ``on_suite(name, i,
    n)`` is called before each suite. A suite whose table is missing fails with one error outcome
    per expectation (a missing table is itself a contract failure).
    """
    chosen = list(loaded_suites() if suites is None else suites)
    sources = dict(sources or {})
    started, clock = datetime.now(UTC).replace(tzinfo=None), time.perf_counter()
    session: list[_GxSession] = []

    def gx_session() -> _GxSession:
        if not session:
            session.append(_GxSession())
        return session[0]

    outcomes: list[Outcome] = []
    seconds: dict[str, float] = {}
    rows: dict[str, int] = {}
    for n, suite in enumerate(chosen, start=1):
        if on_suite:
            on_suite(suite.name, n, len(chosen))
        t0 = time.perf_counter()
        relation = sources.get(suite.name, suite.relation)
        materialised = None
        try:
            if relation.lstrip().startswith("("):
                # a query (a file profile): computed once, not once per expectation
                materialised = f"_contract_batch_{n}"
                con.execute(f"create or replace temp table {materialised} as {relation}")
                relation = materialised
            described = con.execute(f"describe select * from {relation} as _t").fetchall()
            types = {r[0]: str(r[1]) for r in described}
            total = con.execute(f"select count(*) from {relation} as _t").fetchall()[0][0]
        except duckdb.Error as exc:
            shown = sources.get(suite.name, suite.relation)
            error = f"table {shown} cannot be read ({str(exc).splitlines()[0]})"
            outcomes += [
                _outcome(suite, i, e, success=False, error=error)
                for i, e in enumerate(suite.expectations)
            ]
            seconds[suite.name] = time.perf_counter() - t0
            _dropped(con, materialised)
            continue
        rows[suite.name] = total
        try:
            outcomes += _sql_outcomes(con, suite, relation, types, total)
            outcomes += _gx_outcomes(
                gx_session, con, suite, relation, types, total, sample_rows, seed
            )
        finally:
            _dropped(con, materialised)
        seconds[suite.name] = time.perf_counter() - t0
    outcomes.sort(key=lambda o: (chosen.index(_by_name(chosen, o.suite)), o.index))
    return ValidationRun(
        outcomes=outcomes,
        suites=[s.name for s in chosen],
        started_at=started,
        seconds=time.perf_counter() - clock,
        sample_rows=sample_rows,
        suite_seconds=seconds,
        suite_rows=rows,
    )


def _dropped(con, table: str | None) -> None:
    if table is not None:
        con.execute(f"drop table if exists {table}")


def _by_name(suites: list[Suite], name: str) -> Suite:
    return next(s for s in suites if s.name == name)


def validated_frames(
    frames: Mapping[str, Any],
    suites: Iterable[Suite] | None = None,
    **options: Any,
) -> ValidationRun:
    """Run the suites of the tables in ``frames`` (``{"core.cases": frame, …}``, pandas or
    polars) in an in-memory DuckDB holding those frames as tables; tables the SQL checks refer to
    (e.g. ``core.cases`` for a foreign key) must be among the frames."""
    con = duckdb.connect(":memory:")
    try:
        for name, frame in frames.items():
            schema, _, table = name.partition(".")
            con.execute(f"create schema if not exists {_q(schema)}")
            con.register("_frame", frame)
            con.execute(f"create table {_q(schema)}.{_q(table)} as select * from _frame")
            con.unregister("_frame")
        if suites is None:
            suites = [s for s in loaded_suites() if s.name in frames]
        return validated(con, suites, **options)
    finally:
        con.close()
