"""One planted violation per table (and per import kind's file profile), caught with a message
naming the table, the column and an example value.

Each test takes the table from the sample warehouse (tens of rows), plants one bad value in its
first row (or in a one-row frame when the sample has none), and runs only that table's suite on
the planted frame; the rest of the warehouse stays as it is for the foreign keys."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from data_contracts.runner import validated
from data_contracts.suites import loaded_suites
from pipelines import validate
from pipelines.kinds import KINDS

SUITES = {s.name: s for s in loaded_suites()}

# suite -> (column, planted value, text the example must show)
PLANTS: dict[str, tuple[str, object, str]] = {
    "core.creditors": ("sector", "gambling", "'gambling'"),
    "core.debtors": ("debtor_type", "alien", "'alien'"),
    "core.contact_points": ("channel", "pigeon", "'pigeon'"),
    "core.cases": ("status", "lost", "'lost'"),
    "core.invoices": ("amount_cents", -5, "-5"),
    "core.payments": ("case_id", "no-such-case", "'no-such-case'"),
    "core.actions": ("case_id", "no-such-case", "'no-such-case'"),
    "core.decisions": ("propensity", 1.5, "1.5"),
    "core.promises": ("amount_cents", -1, "-1"),
    "core.payment_plans": ("plan_amount_cents", 1, "plan_amount_cents=1"),
    "core.plan_instalments": ("plan_id", "no-such-plan", "'no-such-plan'"),
    "core.disputes": ("reason", "weather", "'weather'"),
    "core.complaints": ("reason", "weather", "'weather'"),
    "core.debtor_events": ("event_type", "abducted", "'abducted'"),
    "core.contact_preferences": ("preference", "carrier_pigeon", "'carrier_pigeon'"),
    "core.case_events": ("event_type", "seance", "'seance'"),
    "core.remittances": ("days_held", -3, "-3"),
    "core.fees": ("fee_type", "bribe", "'bribe'"),
    "core.account_status": ("status_month", dt.date(2026, 1, 15), "2026-01-15"),
    "core.labels": ("case_id", "no-such-case", "'no-such-case'"),
    "core.experiments": ("propensity", 0.0, "propensity=0"),
    "marts.contact_pressure": ("attempts", 0, "attempts=0"),
    "marts.kpi_monthly": ("penetration_rate", 2.5, "2.5"),
    "marts.vintage_recovery": ("age_months", -1, "-1"),
    "marts.limitation_deadlines": ("basis", "forever", "'forever'"),
    "marts.compliance_breaches": ("tile", "jaywalking", "'jaywalking'"),
    "marts.compliance_tiles": ("breaches", -1, "-1"),
    "marts.case_facts": ("stage", "limbo", "'limbo'"),
    "marts.case_attempts": ("attempts", 0, "attempts=0"),
    "marts.decision_outcomes": ("outcome", "rumour", "'rumour'"),
    "marts.contact_intensity": ("debtor_days", 0, "debtor_days=0"),
}
for _name, _kind in KINDS.items():
    PLANTS[f"files.{_name}"] = ("data_rows", 0, "data_rows=0")
    _column = _kind.not_after_received[0]
    _late = (
        dt.datetime(2099, 1, 1, 12)
        if _kind.column(_column).type == "timestamp"
        else dt.date(2099, 1, 1)
    )
    PLANTS[f"staging.{_name}"] = (_column, _late, "2099-01-01")


def _frame(con, name: str) -> pl.DataFrame:
    layer, _, table = name.partition(".")
    sql = validate.file_profile_sql(KINDS[table]) if layer == "files" else name
    return con.sql(f"select * from {sql} as t").pl()


def _planted(frame: pl.DataFrame, column: str, value: object) -> pl.DataFrame:
    if frame.height == 0:  # an empty sample table: one row of NULLs to plant into
        frame = pl.DataFrame([pl.Series(c, [None], dtype=t) for c, t in frame.schema.items()])
    dtype = frame.schema[column]
    first = pl.int_range(pl.len()) == 0
    return frame.with_columns(
        pl.when(first).then(pl.lit(value).cast(dtype)).otherwise(pl.col(column)).alias(column)
    )


def test_every_suite_has_a_planted_violation():
    assert set(PLANTS) == set(SUITES)


@pytest.mark.parametrize("name", sorted(PLANTS))
def test_planted_violation_is_caught_naming_table_column_and_value(name, sample_con):
    column, value, shown = PLANTS[name]
    planted = _planted(_frame(sample_con, name), column, value)
    sample_con.register("planted", planted)
    run = validated(sample_con, [SUITES[name]], sources={name: "planted"})
    caught = [o for o in run.failures if column in o.column.split(", ")]
    assert caught, f"{name}: nothing caught; failures: {[o.message for o in run.failures]}"
    messages = [o.message for o in caught]
    assert any(m.startswith(f"{name}.{column}") or m.startswith(f"{name} (") for m in messages), (
        messages
    )
    assert any(shown in m for m in messages), messages
