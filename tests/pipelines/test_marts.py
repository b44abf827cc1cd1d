"""marts.* on hand-computed literal portfolios: KPIs, vintages, contact pressure and the
point-in-time case snapshots."""

from __future__ import annotations

import datetime as dt

import pytest

from pipelines.settings import load_settings
from pipelines.warehouse import connect
from tests.pipelines.staged_rows import action, built, payment, placement, rows_as_dicts

D = dt.date.fromisoformat


@pytest.fixture
def build():
    """``build(rows)`` → a connection with staging, core, marts and the macros built."""
    connections = []

    def _build(rows):
        con = connect(":memory:", load_settings())
        connections.append(con)
        built(con, load_settings(), rows)
        return con

    yield _build
    for con in connections:
        con.close()


# -- a hand-computed portfolio ------------------------------------------------------------------
#
# creditor C1, EUR. Cohort 2026-01: K1 (100.00), K2 (150.00 + 50.00), K3 (50.00); cohort 2026-02:
# K4 (80.00). Payments: K1 30.00 in Jan and 20.00 in Feb; K2 200.00 in Mar (paid in full);
# K3 50.00 in Feb, reversed in Feb (so K3 has not paid); K4 10.00 in Feb. K1 closed on 2026-02-28.
# Data end: 2026-03-05 (March).
#
#   cohort Jan: placed 35 000 c, 3 cases.  age 0: collected 3 000, cum 3 000, paid cases 1
#                                           age 1: 2 000 + 5 000 − 5 000 → cum 5 000, paid 1
#                                           age 2: 20 000 → cum 25 000 (25/35), paid 2 (2/3)
#   cohort Feb: placed 8 000 c, 1 case.     age 0: 1 000, age 1: cum 1 000 (1/8), paid 1 (1/1)

PORTFOLIO = {
    "placements": [
        placement("K1", placed_date="2026-01-05", amount_cents=10_000, debtor_ref="A"),
        placement("K2", placed_date="2026-01-15", invoice_ref="K2-I1", amount_cents=15_000),
        placement("K2", placed_date="2026-01-15", invoice_ref="K2-I2", amount_cents=5_000),
        placement("K3", placed_date="2026-01-25", amount_cents=5_000),
        placement("K4", placed_date="2026-02-03", amount_cents=8_000),
    ],
    "payments": [
        payment("P1", "2026-01-20 10:00:00", 3_000, "K1"),
        payment("P2", "2026-02-10 10:00:00", 2_000, "K1"),
        payment("P3", "2026-03-05 10:00:00", 20_000, "K2"),
        payment("P4", "2026-02-01 10:00:00", 5_000, "K3", method="cheque"),
        payment("R4", "2026-02-15 10:00:00", 5_000, "K3", reverses_ref="P4"),
        payment("P5", "2026-02-20 10:00:00", 1_000, "K4"),
    ],
    "case_updates": [
        {
            "creditor_ref": "C1",
            "case_ref": "K1",
            "update_ref": "U1",
            "update_date": "2026-02-28",
            "update_type": "closure",
        }
    ],
    "actions": [
        action("A1", "2026-01-10 09:00:00", "call", "K1", outcome="no_answer"),
        action("A2", "2026-01-11 09:00:00", "call", "K1", outcome="right_party"),
        action("A3", "2026-01-12 09:00:00", "sms", "K1"),
        action("A4", "2026-01-13 09:00:00", "call", "K2", direction="inbound"),
    ],
    "promises": [
        {
            "promise_ref": "PR1",
            "creditor_ref": "C1",
            "case_ref": "K1",
            "made_date": "2026-01-11",
            "due_date": "2026-01-25",
            "amount_cents": 3_000,
        },
        {
            "promise_ref": "PR2",
            "creditor_ref": "C1",
            "case_ref": "K4",
            "made_date": "2026-02-05",
            "due_date": "2026-02-15",
            "amount_cents": 5_000,
        },
    ],
    "disputes": [
        {
            "dispute_ref": "DS1",
            "creditor_ref": "C1",
            "case_ref": "K2",
            "event_date": "2026-02-02",
            "event": "opened",
            "reason": "amount",
        },
    ],
}


@pytest.fixture
def portfolio(build):
    return build(PORTFOLIO)


@pytest.mark.parametrize(
    ("cohort", "age", "collected_cum", "rate_amount", "paid_cum", "rate_count", "in_full"),
    [
        ("2026-01-01", 0, 3_000, 3_000 / 35_000, 1, 1 / 3, 0),
        ("2026-01-01", 1, 5_000, 5_000 / 35_000, 1, 1 / 3, 0),
        ("2026-01-01", 2, 25_000, 25_000 / 35_000, 2, 2 / 3, 1),
        ("2026-02-01", 0, 1_000, 1_000 / 8_000, 1, 1.0, 0),
        ("2026-02-01", 1, 1_000, 1_000 / 8_000, 1, 1.0, 0),
    ],
)
def test_vintage_cells(
    portfolio, cohort, age, collected_cum, rate_amount, paid_cum, rate_count, in_full
):
    row = rows_as_dicts(
        portfolio,
        "select collected_cum_cents, recovery_rate_amount, cases_paid_cum, recovery_rate_count, "
        "cases_paid_in_full_cum from marts.vintage_recovery "
        "where cohort_month = ? and age_months = ?",
        D(cohort),
        age,
    )
    assert len(row) == 1
    assert row[0]["collected_cum_cents"] == collected_cum
    assert row[0]["recovery_rate_amount"] == pytest.approx(rate_amount)
    assert row[0]["cases_paid_cum"] == paid_cum
    assert row[0]["recovery_rate_count"] == pytest.approx(rate_count)
    assert row[0]["cases_paid_in_full_cum"] == in_full


def test_vintage_grid_runs_to_the_data_end(portfolio):
    rows = rows_as_dicts(
        portfolio,
        "select cohort_month, count(*) as ages, max(age_months) as last_age, "
        "bool_and(cases = case when cohort_month = date '2026-01-01' then 3 else 1 end) as same, "
        "count(*) filter (where is_partial_month) as partial "
        "from marts.vintage_recovery group by 1 order by 1",
    )
    assert rows == [
        {"cohort_month": D("2026-01-01"), "ages": 3, "last_age": 2, "same": True, "partial": 1},
        {"cohort_month": D("2026-02-01"), "ages": 2, "last_age": 1, "same": True, "partial": 1},
    ]


def test_kpi_monthly_recovery_on_a_cohort_basis(portfolio):
    rows = rows_as_dicts(
        portfolio,
        "select month, placed_cases, placed_cents, cohort_collected_to_date_cents, "
        "cohort_recovery_rate_amount_to_date, cohort_cases_paid_to_date, "
        "cohort_recovery_rate_count_to_date, cohort_cases_paid_in_full_to_date "
        "from marts.kpi_monthly order by month",
    )
    assert [r["month"] for r in rows] == [D("2026-01-01"), D("2026-02-01"), D("2026-03-01")]
    jan, feb, mar = rows
    assert (jan["placed_cases"], jan["placed_cents"]) == (3, 35_000)
    assert jan["cohort_collected_to_date_cents"] == 25_000
    assert jan["cohort_recovery_rate_amount_to_date"] == pytest.approx(25_000 / 35_000)
    assert jan["cohort_cases_paid_to_date"] == 2
    assert jan["cohort_recovery_rate_count_to_date"] == pytest.approx(2 / 3)
    assert jan["cohort_cases_paid_in_full_to_date"] == 1
    assert feb["cohort_recovery_rate_amount_to_date"] == pytest.approx(1_000 / 8_000)
    assert mar["placed_cases"] == 0
    assert mar["cohort_recovery_rate_amount_to_date"] is None  # nothing placed: no denominator


def test_kpi_monthly_period_figures(portfolio):
    rows = {
        r["month"]: r
        for r in rows_as_dicts(
            portfolio,
            "select month, gross_collected_cents, reversed_cents, collected_cents, "
            "liquidation_rate_amount_period, cases_first_payment, active_cases_month_end, "
            "active_cases_in_month, outbound_attempts, call_attempts, sms_attempts, "
            "inbound_contacts, right_party_calls, right_party_contact_rate, "
            "right_party_contacts, promises_made, ptp_rate, promises_due, promises_kept, "
            "ptp_kept_rate, disputes_opened, disputes_per_1000_active_cases, cases_attempted, "
            "penetration_rate from marts.kpi_monthly",
        )
    }
    jan, feb, mar = rows[D("2026-01-01")], rows[D("2026-02-01")], rows[D("2026-03-01")]
    # money, period basis (payment month), net of reversals
    assert (jan["collected_cents"], feb["collected_cents"], mar["collected_cents"]) == (
        3_000,
        3_000,
        20_000,
    )
    assert (feb["gross_collected_cents"], feb["reversed_cents"]) == (8_000, 5_000)
    assert feb["liquidation_rate_amount_period"] == pytest.approx(3_000 / 8_000)
    # first counting payments: K1 Jan, K4 Feb (K3's was reversed), K2 Mar
    assert [r["cases_first_payment"] for r in (jan, feb, mar)] == [1, 1, 1]
    # K1 closed on 2026-02-28: active in February, not at its end
    assert [r["active_cases_month_end"] for r in (jan, feb, mar)] == [3, 3, 3]
    assert [r["active_cases_in_month"] for r in (jan, feb, mar)] == [3, 4, 3]
    # contacts: 2 outbound calls (1 right party), 1 SMS, 1 inbound call
    assert (jan["outbound_attempts"], jan["call_attempts"], jan["sms_attempts"]) == (3, 2, 1)
    assert jan["inbound_contacts"] == 1
    assert jan["right_party_contact_rate"] == pytest.approx(1 / 2)
    assert jan["cases_attempted"] == 1
    assert jan["penetration_rate"] == pytest.approx(1 / 3)
    # promises: PR1 made and due in Jan, kept (30.00 on 2026-01-20); PR2 due in Feb, broken
    assert (jan["promises_made"], jan["ptp_rate"]) == (1, 1.0)
    assert (jan["promises_due"], jan["promises_kept"], jan["ptp_kept_rate"]) == (1, 1, 1.0)
    assert (feb["promises_due"], feb["promises_kept"], feb["ptp_kept_rate"]) == (1, 0, 0.0)
    assert mar["ptp_kept_rate"] is None
    assert feb["disputes_opened"] == 1
    assert feb["disputes_per_1000_active_cases"] == pytest.approx(250.0)


def test_kpis_never_mix_currencies(build):
    con = build(
        {
            "placements": [
                placement("K1", amount_cents=10_000),
                placement("K2", amount_cents=7_000, currency="XPF"),
            ],
            "payments": [payment("P1", "2026-01-20 10:00:00", 1_000, "K2", currency="XPF")],
        }
    )
    rows = rows_as_dicts(
        con,
        "select currency, placed_cents, collected_cents from marts.kpi_monthly order by 1",
    )
    assert rows == [
        {"currency": "EUR", "placed_cents": 10_000, "collected_cents": 0},
        {"currency": "XPF", "placed_cents": 7_000, "collected_cents": 1_000},
    ]


# -- contact pressure ---------------------------------------------------------------------------


def test_contact_intensity_per_debtor_across_cases_and_creditors(build):
    con = build(
        {
            "placements": [
                placement("K1", "C1", debtor_key="SAME"),
                placement("K2", "C2", debtor_key="SAME"),
            ],
            "actions": [
                action("A1", "2026-01-01 09:00:00", "sms", "K1"),
                action("A2", "2026-01-03 09:00:00", "call", "K2", creditor_ref="C2"),
                action("A3", "2026-01-03 10:00:00", "email", "K1"),
                action("A4", "2026-01-07 09:00:00", "letter", "K1", tone="formal"),
                action("A5", "2026-01-08 09:00:00", "call", "K2", creditor_ref="C2"),
                action("A6", "2026-01-08 15:00:00", "call", "K1"),
                action("A7", "2026-01-08 16:00:00", "call", "K1", direction="inbound"),
                action("A8", "2026-01-20 09:00:00", "sms", "K1"),
            ],
        }
    )
    rows = rows_as_dicts(
        con,
        "select contact_date, attempts, call_attempts, attempts_7d, attempts_30d, "
        "call_attempts_7d, n_cases from marts.contact_pressure order by contact_date",
    )
    assert [
        (r["contact_date"].day, r["attempts"], r["call_attempts"], r["attempts_7d"]) for r in rows
    ] == [(1, 1, 0, 1), (3, 2, 1, 3), (7, 1, 0, 4), (8, 2, 2, 5), (20, 1, 0, 1)]
    assert rows[-1]["attempts_30d"] == 7
    assert rows[3]["call_attempts_7d"] == 3
    assert rows[3]["n_cases"] == 2


@pytest.mark.parametrize(
    ("postcode", "action_at", "contact_date"),
    [
        ("75011", "2026-01-09 22:30:00", D("2026-01-09")),  # 23:30 in Paris
        ("75011", "2026-01-09 23:30:00", D("2026-01-10")),  # 00:30 in Paris
        ("97400", "2026-01-09 21:00:00", D("2026-01-10")),  # 01:00 in Réunion (UTC+4)
        ("97200", "2026-01-10 03:00:00", D("2026-01-09")),  # 23:00 in Martinique (UTC−4)
    ],
)
def test_contact_day_is_the_debtors_local_day(build, postcode, action_at, contact_date):
    con = build(
        {
            "placements": [placement(postcode=postcode)],
            "actions": [action("A1", action_at, "call")],
        }
    )
    assert rows_as_dicts(con, "select contact_date from marts.contact_pressure") == [
        {"contact_date": contact_date}
    ]


def test_inbound_contacts_do_not_count_as_pressure(build):
    con = build(
        {
            "placements": [placement()],
            "actions": [action("A1", "2026-01-09 10:00:00", "call", direction="inbound")],
        }
    )
    assert rows_as_dicts(con, "select count(*) as n from marts.contact_pressure") == [{"n": 0}]


# -- case snapshots: point in time --------------------------------------------------------------


def snapshot(con, as_of: str, case_ref: str = "K1") -> dict | None:
    rows = rows_as_dicts(
        con,
        "select * from marts.case_snapshots(?::date) where case_ref = ?",
        D(as_of),
        case_ref,
    )
    assert len(rows) <= 1
    return rows[0] if rows else None


def test_snapshot_sees_a_case_only_once_placed_and_received(build):
    con = build(
        {
            "placements": [
                placement("K1", placed_date="2026-01-05", received_date="2026-01-05"),
                placement("K2", placed_date="2026-01-05", received_date="2026-01-20"),
            ]
        }
    )
    assert snapshot(con, "2026-01-05", "K1") is None
    assert snapshot(con, "2026-01-06", "K1") is not None
    assert snapshot(con, "2026-01-20", "K2") is None
    assert snapshot(con, "2026-01-21", "K2")["placed_amount_cents"] == 10_000


@pytest.mark.parametrize(
    ("paid_at", "received_date", "as_of", "seen"),
    [
        ("2026-03-10 10:00:00", "2026-03-20", "2026-03-15", False),  # made before, received after
        ("2026-03-10 10:00:00", "2026-03-20", "2026-03-21", True),
        ("2026-03-15 10:00:00", "2026-03-14", "2026-03-15", False),  # received before, dated D
        ("2026-03-14 23:30:00", "2026-03-14", "2026-03-15", False),  # 00:30 on D in Paris
        ("2026-03-14 22:30:00", "2026-03-14", "2026-03-15", True),  # 23:30 the day before
    ],
)
def test_snapshot_payments_known_at_as_of(build, paid_at, received_date, as_of, seen):
    con = build(
        {
            "placements": [placement(amount_cents=10_000)],
            "payments": [
                payment("P0", "2026-02-01 10:00:00", 1_000),
                payment("P1", paid_at, 4_000, received_date=received_date),
            ],
        }
    )
    row = snapshot(con, as_of)
    assert row["collected_cents"] == 1_000 + (4_000 if seen else 0)
    assert row["n_payments"] == 1 + int(seen)
    assert row["balance_cents"] == 10_000 - row["collected_cents"]


def test_snapshot_nets_a_reversal_once_it_is_known(build):
    con = build(
        {
            "placements": [placement(amount_cents=10_000)],
            "payments": [
                payment("P1", "2026-02-01 10:00:00", 4_000),
                payment(
                    "R1",
                    "2026-02-10 10:00:00",
                    4_000,
                    reverses_ref="P1",
                    received_date="2026-02-12",
                ),
            ],
        }
    )
    before, after = snapshot(con, "2026-02-12"), snapshot(con, "2026-02-13")
    assert (before["collected_cents"], before["n_reversals"]) == (4_000, 0)
    assert (after["collected_cents"], after["reversed_cents"], after["n_reversals"]) == (
        0,
        4_000,
        1,
    )


@pytest.mark.parametrize(
    ("as_of", "n_disputes", "is_open"),
    [
        ("2026-02-01", 0, False),  # opened on D: not yet
        ("2026-02-02", 0, False),  # opened before D, but received on D
        ("2026-02-03", 1, True),
        ("2026-02-15", 1, True),  # resolved on 02-10, but the resolution arrives on 02-20
        ("2026-02-20", 1, True),
        ("2026-02-21", 1, False),
    ],
)
def test_snapshot_dispute_open_until_its_resolution_is_known(build, as_of, n_disputes, is_open):
    con = build(
        {
            "placements": [placement()],
            "disputes": [
                {
                    "dispute_ref": "DS1",
                    "creditor_ref": "C1",
                    "case_ref": "K1",
                    "event_date": "2026-02-01",
                    "event": "opened",
                    "received_date": "2026-02-02",
                },
                {
                    "dispute_ref": "DS1",
                    "creditor_ref": "C1",
                    "case_ref": "K1",
                    "event_date": "2026-02-10",
                    "event": "resolved",
                    "resolution": "rejected",
                    "received_date": "2026-02-20",
                },
            ],
        }
    )
    row = snapshot(con, as_of)
    assert (row["n_disputes"], row["has_open_dispute"]) == (n_disputes, is_open)


def test_snapshot_actions_so_far_and_in_the_last_30_days(build):
    con = build(
        {
            "placements": [placement(phone="+33612345678")],
            "actions": [
                action("A1", "2026-01-10 09:00:00", "letter", tone="formal", letter_ref="L-1"),
                action(
                    "A2",
                    "2026-02-20 09:00:00",
                    "call",
                    outcome="right_party",
                    observed_cause="cash_flow",
                ),
                action("A3", "2026-02-25 09:00:00", "sms"),
                action(
                    "A4",
                    "2026-02-27 09:00:00",
                    "call",
                    outcome="wrong_party",
                    phone="+33612345678",
                    observed_cause="dispute",
                    received_date="2026-03-05",
                ),
                action("A5", "2026-03-01 09:00:00", "email"),  # on D
            ],
        }
    )
    row = snapshot(con, "2026-03-01")
    assert (row["attempts"], row["attempts_30d"]) == (3, 2)
    assert (row["letter_attempts"], row["letter_attempts_30d"]) == (1, 0)
    assert (row["call_attempts"], row["sms_attempts"], row["email_attempts"]) == (1, 1, 0)
    assert (row["nudge_attempts"], row["formal_attempts"]) == (2, 1)
    assert row["right_party_contacts"] == 1
    assert row["last_action_date"] == D("2026-02-25")
    assert row["days_since_last_action"] == 4
    assert (row["first_letter_ref"], row["first_letter_date"]) == ("L-1", D("2026-01-10"))
    assert row["observed_cause"] == "cash_flow"  # A4's cause arrives later
    assert row["has_valid_phone"] is True  # the wrong-party call is not known yet
    later = snapshot(con, "2026-03-06")
    assert later["observed_cause"] == "dispute"
    assert later["has_valid_phone"] is False


def test_snapshot_cause_is_unknown_without_a_stated_cause(build):
    con = build({"placements": [placement()]})
    row = snapshot(con, "2026-02-01")
    assert row["observed_cause"] == "unknown"
    assert (row["has_valid_phone"], row["has_valid_email"]) == (False, False)
    assert row["plan_status"] == "none"


def test_snapshot_promises_kept_broken_and_pending(build):
    promise = {"creditor_ref": "C1", "case_ref": "K1", "amount_cents": 2_000}
    con = build(
        {
            "placements": [placement()],
            "promises": [
                {
                    **promise,
                    "promise_ref": "PR1",
                    "made_date": "2026-02-01",
                    "due_date": "2026-02-10",
                },
                {
                    **promise,
                    "promise_ref": "PR2",
                    "made_date": "2026-02-12",
                    "due_date": "2026-02-20",
                },
                {
                    **promise,
                    "promise_ref": "PR3",
                    "made_date": "2026-02-25",
                    "due_date": "2026-03-10",
                },
            ],
            "payments": [payment("P1", "2026-02-05 10:00:00", 2_000)],
        }
    )
    row = snapshot(con, "2026-03-01")
    assert (row["promises_made"], row["promises_kept"]) == (3, 1)
    assert (row["promises_broken"], row["promises_pending"]) == (1, 1)
    assert row["last_broken_promise_date"] == D("2026-02-20")
    assert row["latest_unkept_promise_due_date"] == D("2026-03-10")


def test_snapshot_plan_status_and_standing_as_of(build):
    plan = {"plan_ref": "PL1", "creditor_ref": "C1", "case_ref": "K1"}
    con = build(
        {
            "placements": [placement()],
            "plans": [
                {
                    **plan,
                    "event": "agreed",
                    "event_date": "2026-02-01",
                    "plan_amount_cents": 3_000,
                    "instalments": 3,
                },
                {
                    **plan,
                    "event": "broken",
                    "event_date": "2026-04-10",
                    "received_date": "2026-04-15",
                },
            ],
            "payments": [payment("P1", "2026-02-01 10:00:00", 1_000)],
        }
    )
    march = snapshot(con, "2026-03-02")
    assert march["plan_status"] == "active"
    assert (march["plan_due_to_date_cents"], march["plan_paid_cents"]) == (1_000, 1_000)
    assert snapshot(con, "2026-03-04")["plan_due_to_date_cents"] == 2_000
    assert snapshot(con, "2026-04-15")["plan_status"] == "active"
    assert snapshot(con, "2026-04-16")["plan_status"] == "broken"


def test_snapshot_case_status_and_debtor_events_as_of(build):
    con = build(
        {
            "placements": [placement("K1", debtor_key="SAME"), placement("K2", debtor_key="SAME")],
            "case_updates": [
                {
                    "creditor_ref": "C1",
                    "case_ref": "K1",
                    "update_ref": "U1",
                    "update_date": "2026-03-01",
                    "update_type": "recall",
                    "received_date": "2026-03-03",
                },
                {
                    "creditor_ref": "C1",
                    "case_ref": "K1",
                    "update_ref": "U2",
                    "update_date": "2026-02-01",
                    "update_type": "amount_correction",
                    "amount_cents": -1_000,
                },
            ],
            "debtor_events": [
                {
                    "event_ref": "E1",
                    "creditor_ref": "C1",
                    "case_ref": "K2",
                    "event_date": "2026-02-10",
                    "event_type": "vulnerable",
                },
                {
                    "event_ref": "E2",
                    "creditor_ref": "C1",
                    "case_ref": "K2",
                    "event_date": "2026-03-10",
                    "event_type": "vulnerable",
                    "status": "end",
                },
            ],
        }
    )
    feb = snapshot(con, "2026-02-11")
    assert (feb["corrected_amount_cents"], feb["is_vulnerable"], feb["is_open"]) == (
        9_000,
        True,
        True,
    )
    assert feb["debtor_open_cases"] == 2
    assert snapshot(con, "2026-03-03")["is_open"] is True  # recall not received yet
    march = snapshot(con, "2026-03-04")
    assert (march["case_status"], march["is_open"], march["closed_date"]) == (
        "recalled",
        False,
        D("2026-03-01"),
    )
    assert march["debtor_open_cases"] == 1
    assert snapshot(con, "2026-03-11")["is_vulnerable"] is False
    assert snapshot(con, "2026-02-10")["is_vulnerable"] is False


def test_snapshot_accepts_a_date_given_as_text(build):
    con = build({"placements": [placement()]})
    rows = rows_as_dicts(
        con, "select as_of, days_since_placement from marts.case_snapshots('2026-02-04')"
    )
    assert rows == [{"as_of": D("2026-02-04"), "days_since_placement": 30}]


def test_snapshot_covers_every_known_case_once(portfolio):
    rows = rows_as_dicts(
        portfolio,
        "select count(*) as n, count(distinct case_id) as cases, "
        "sum(placed_amount_cents)::bigint as placed "
        "from marts.case_snapshots(date '2026-12-31')",
    )
    assert rows == [{"n": 4, "cases": 4, "placed": 43_000}]
