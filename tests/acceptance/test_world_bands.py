"""Plausibility bands of SIMULATION.md on the default world.

Observable quantities are measured from the generated files through the warehouse; latent ones
(causal lifts, best actions) from the truth. Each test records its measure in
docs/acceptance.json and puts it in its failure message.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

END = "cast(? as date)"


def _end(world) -> date:
    return date.fromisoformat(str(world[0].get("time.end_date")))


def _one(con, sql: str, params=None) -> float:
    return con.execute(sql, params or []).fetchall()[0][0]


def test_right_party_contact_rate_of_call_attempts(warehouse, record):
    value = _one(
        warehouse,
        "select avg(is_right_party_contact::int) from core.actions "
        "where channel = 'call' and direction = 'outbound'",
    )
    record("right_party_rate", value, 0.10, 0.35, "warehouse: outbound calls reaching the debtor")


def test_promises_kept(world, warehouse, record):
    grace = int(world[0].get("exclusions.promise_grace_days"))
    value = _one(
        warehouse,
        f"""
        with due as (
          select p.*, coalesce(sum(pay.amount_cents), 0) as paid
          from core.promises p
          left join core.payments pay
            on pay.case_id = p.case_id and pay.paid_date >= p.made_date
           and pay.paid_date <= p.due_date + {grace}
          where p.due_date + {grace} < {END}
          group by all
        )
        select avg((paid >= amount_cents)::int) from due
        """,
        [_end(world)],
    )
    record("promises_kept", value, 0.40, 0.70, f"warehouse: paid ≥ promised by due + {grace} d")


def test_complaints_per_1000_outbound_contacts(warehouse, record):
    value = _one(
        warehouse,
        "select 1000.0 * (select count(*) from core.complaints) / "
        "(select count(*) from core.actions where direction = 'outbound')",
    )
    record("complaints_per_1000_contacts", value, 0.5, 5.0, "warehouse: complaints opened")


def test_complaints_higher_for_formal_tones(world, record):
    from pipelines.simulate.truth import _table

    table = _table(world[3]).filter("is_allowed")
    by_tone = {
        tone: table.filter(table["action"].is_in(actions))["p_complaint"].mean()
        for tone, actions in {
            "nudge": ["sms_nudge", "email_nudge", "call_nudge"],
            "formal": ["email_formal", "call_formal", "letter_formal", "formal_notice"],
        }.items()
    }
    ratio = by_tone["formal"] / by_tone["nudge"]
    record("complaint_formal_over_nudge", ratio, 1.0, None, "truth: P(complaint) formal ÷ nudge")


def test_debtors_with_no_valid_phone_and_no_valid_email(warehouse, record):
    value = _one(
        warehouse,
        """
        with valid as (
          select debtor_id,
                 bool_or(channel = 'phone' and is_valid and source = 'placement') as phone,
                 bool_or(channel = 'email' and is_valid and source = 'placement') as email
          from core.contact_points group by 1
        )
        select avg((not coalesce(v.phone, false) and not coalesce(v.email, false))::int)
        from core.debtors d left join valid v using (debtor_id)
        """,
    )
    record("no_valid_phone_or_email", value, 0.05, 0.20, "warehouse: debtors as placed")


def test_consumer_cases_paying_within_180_days(world, warehouse, record):
    cutoff = _end(world) - timedelta(days=180)
    value = _one(
        warehouse,
        """
        with first_pay as (
          select case_id, min(paid_date) as first_paid from core.payments
          where amount_cents > 0 and not is_reversal and not coalesce(is_fully_reversed, false)
          group by 1
        )
        select avg((f.first_paid is not null and f.first_paid <= c.placed_date + 180)::int)
        from core.cases c left join first_pay f using (case_id)
        where c.debtor_type = 'individual' and c.placed_date <= ?
        """,
        [cutoff],
    )
    record("consumer_paid_within_180d", value, 0.30, 0.60, "warehouse: placed ≥ 180 d before end")


@pytest.fixture(scope="module")
def truth_summary(world):
    from pipelines.simulate.truth import _table
    from pipelines.simulate.truth_bands import summary

    return summary(_table(world[3]), world[3])


def test_sms_nudge_lift_for_responsive_small_debt_consumers(truth_summary, record):
    lift = truth_summary["sms_lift"]
    record("sms_lift_14d_points", lift["points"], 5.0, 20.0, f"truth: {lift['cases']} cases")


def test_best_fixed_action_is_not_everyones_best(truth_summary, record):
    value = truth_summary["history_weeks"]["best_fixed_is_own_best_share"]
    record("best_fixed_is_own_best_share", value, None, 0.70, "truth: evaluation weeks in history")


def test_waiting_is_sometimes_best(truth_summary, record):
    value = truth_summary["history_weeks"]["wait_best_share"]
    record("wait_best_share", value, 0.05, None, "truth: evaluation weeks in history")


def test_best_possible_policy_beats_best_fixed_action(truth_summary, record):
    value = truth_summary["history_weeks"]["best_over_best_fixed"]
    record("best_over_best_fixed", value, 0.05, None, "truth: chosen on batches 1–10, valued 11–20")


def test_best_possible_policy_over_ladder_is_bounded(truth_summary, record):
    value = truth_summary["history_weeks"]["best_over_ladder"]
    record("best_over_ladder", value, None, 0.40, "truth: chosen on batches 1–10, valued 11–20")


@pytest.mark.parametrize("which", ["ladder_se_share", "best_fixed_se_share"])
def test_monte_carlo_standard_error_within_half_a_percent(truth_summary, record, which):
    for week, figures in truth_summary["weeks"].items():
        record(f"{which}_{week}", figures[which], None, 0.005, "truth: s.e. ÷ value, 20 batches")
