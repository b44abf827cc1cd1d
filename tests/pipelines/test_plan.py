"""The weekly plan: slots, budgets, approvals, exploration on tiny frames; exports, audit and
determinism on the small simulated home."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from pipelines import plan as P
from pipelines.home import Home

FORBIDDEN = ("note", "notes", "vulnerab", "birth", "dob", "iban", "bic")


def figures(exploration: float = 0.0, holdout: float = 0.0, capacity: int = 10) -> P.PlanFigures:
    return P.PlanFigures(
        capacity=capacity,
        attempts_per_debtor=1,
        exploration_share=exploration,
        holdout_share=holdout,
        formal_notice_explored=False,
        seed=1,
        fallback_policy_id="test",
        commission=0.15,
        complaint_penalty_cents=5000,
        cost_cents=dict.fromkeys(P.ACTIONS, 0),
        fallback_base_rate=0.1,
        fallback_uplift=dict.fromkeys(P.ACTIONS, 0.0),
        fallback_complaint=dict.fromkeys(P.ACTIONS, 0.0),
    )


def values(rows: list[tuple[str, str, str, float]]) -> pl.DataFrame:
    """feasible frame: case_id, debtor_id, action, value_cents."""
    return pl.DataFrame(
        rows, schema=["case_id", "debtor_id", "action", "value_cents"], orient="row"
    )


def cases(rows: list[tuple[str, str, int]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["case_id", "debtor_id", "outbound_remaining"], orient="row")


def slots(rows: list[tuple[str, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(d, "call_nudge", 100.0, a, i + 1) for i, (d, a) in enumerate(rows)],
        schema={
            "debtor_id": pl.String,
            "call_action": pl.String,
            "margin_cents": pl.Float64,
            "planned_attempts": pl.Int64,
            "slot_rank": pl.Int64,
        },
        orient="row",
    )


def test_call_slots_rank_by_margin_within_capacity():
    margins = pl.DataFrame(
        {
            "debtor_id": ["a", "b", "c", "d"],
            "call_action": ["call_nudge"] * 4,
            "margin_cents": [50.0, 300.0, -10.0, 300.0],
        }
    )
    attempts = pl.DataFrame(
        {"debtor_id": ["a", "b", "c", "d"], "call_attempts_remaining": [3, 3, 3, 0]}
    )
    got = P.call_slots(margins, attempts, capacity=1, per_debtor=1)
    assert got["debtor_id"].to_list() == ["b"]  # d has no attempt left, c's best is not a call
    got = P.call_slots(margins, attempts, capacity=3, per_debtor=2)
    assert got["debtor_id"].to_list() == ["b"]  # b takes 2 attempts, a would make 4 > 3
    got = P.call_slots(margins, attempts, capacity=4, per_debtor=2)
    assert got["debtor_id"].to_list() == ["b", "a"]
    assert got["planned_attempts"].sum() == 4


@pytest.mark.parametrize("exploration", [0.0, 0.5, 0.99])
def test_budget_is_allocated_once_per_debtor_across_cases_and_creditors(exploration):
    # debtor x: three cases (two creditors), one contact left this week; debtor y: two left
    feasible = values(
        [
            (case, debtor, action, value)
            for case, debtor in (("x1", "x"), ("x2", "x"), ("x3", "x"), ("y1", "y"), ("y2", "y"))
            for action, value in (("wait", 0.0), ("sms_nudge", 10.0), ("email_nudge", 5.0))
        ]
    )
    known = cases([("x1", "x", 1), ("x2", "x", 1), ("x3", "x", 1), ("y1", "y", 2), ("y2", "y", 2)])
    got = P.decided(feasible, known, slots([]), figures(exploration), "2026-W47")
    contacts = got.filter(pl.col("action") != "wait").group_by("debtor_id").len()
    left = dict(zip(known["debtor_id"], known["outbound_remaining"], strict=True))
    assert got.height == 5 and got["case_id"].n_unique() == 5
    assert all(n <= left[d] for d, n in contacts.iter_rows())


def test_cap_exceeded_is_what_a_naive_plan_would_do():
    """Negative case: without the per-debtor allocation every case would text (3 > 1)."""
    feasible = values(
        [(c, "x", a, v) for c in ("x1", "x2", "x3") for a, v in (("wait", 0.0), ("sms_nudge", 9.0))]
    )
    naive = feasible.sort("value_cents", descending=True).unique("case_id", keep="first")
    assert (naive["action"] == "sms_nudge").sum() == 3
    got = P.decided(
        feasible, cases([("x1", "x", 1), ("x2", "x", 1), ("x3", "x", 1)]), slots([]), figures(), "W"
    )
    assert (got["action"] == "sms_nudge").sum() == 1


def test_one_call_covers_a_debtors_cases_and_costs_its_attempts_once():
    feasible = values(
        [
            (c, "d", a, v)
            for c in ("d1", "d2")
            for a, v in (("wait", 0.0), ("call_nudge", 50.0), ("sms_nudge", 10.0))
        ]
    )
    got = P.decided(
        feasible, cases([("d1", "d", 1), ("d2", "d", 1)]), slots([("d", 1)]), figures(), "W"
    )
    assert got["action"].to_list() == ["call_nudge", "call_nudge"]


def test_no_call_without_a_slot():
    feasible = values(
        [("e1", "e", "wait", 0.0), ("e1", "e", "call_nudge", 99.0), ("e1", "e", "sms_nudge", 1.0)]
    )
    got = P.decided(feasible, cases([("e1", "e", 3)]), slots([]), figures(0.99), "W")
    assert got["action"].item() in ("wait", "sms_nudge")


@pytest.mark.parametrize("exploration", [0.0, 0.3])
def test_logged_propensity_is_the_final_actions(exploration):
    feasible = values(
        [
            (f"c{i}", f"d{i}", a, v)
            for i in range(400)
            for a, v in (("wait", 0.0), ("sms_nudge", 5.0), ("email_nudge", 2.0))
        ]
    )
    known = cases([(f"c{i}", f"d{i}", 3) for i in range(400)])
    got = P.decided(feasible, known, slots([]), figures(exploration), "2026-W47")
    greedy = got.filter(pl.col("action") == "sms_nudge")
    assert greedy["propensity"].unique().to_list() == [
        pytest.approx(1 - exploration + exploration / 3)
    ]
    others = got.filter(pl.col("action") != "sms_nudge")
    assert others["propensity"].to_list() == [pytest.approx(exploration / 3)] * others.height
    assert others.height == (got["is_exploration"] & (got["action"] != "sms_nudge")).sum()
    if exploration:
        assert 0.1 < got["is_exploration"].mean() < 0.5


def test_holdout_waits_with_probability_one():
    feasible = values(
        [
            (f"c{i}", f"d{i}", a, v)
            for i in range(300)
            for a, v in (("wait", 0.0), ("sms_nudge", 5.0))
        ]
    )
    got = P.decided(
        feasible,
        cases([(f"c{i}", f"d{i}", 3) for i in range(300)]),
        slots([]),
        figures(0.1, 0.2),
        "W",
    )
    held = got.filter("is_holdout")
    assert 20 < held.height < 100
    assert held["action"].unique().to_list() == ["wait"] and held[
        "propensity"
    ].unique().to_list() == [1.0]


def test_draws_are_seeded_by_week():
    a = P.unit_draws(["c1", "c2"], "1:2026-W47")
    assert (a == P.unit_draws(["c1", "c2"], "1:2026-W47")).all()
    assert not (a == P.unit_draws(["c1", "c2"], "1:2026-W48")).all()


def eligibility_rows(**overrides) -> pl.DataFrame:
    row = {"case_id": "k1", "debtor_id": "d", "formal_notice_needs_approval": True} | {
        f"allow_{a}": True for a in P.ACTIONS
    }
    return pl.DataFrame([row | overrides])


@pytest.mark.parametrize(
    ("approved", "needs", "expected"),
    [([], True, False), (["k1"], True, True), ([], False, True)],
)
def test_formal_notice_needs_a_recorded_approval(approved, needs, expected):
    frame = pl.DataFrame(
        {"case_id": ["k1", "k1"], "action": ["wait", "formal_notice"], "value_cents": [0.0, 9.0]}
    )
    got = P.feasible_values(
        frame,
        eligibility_rows(formal_notice_needs_approval=needs),
        pl.DataFrame({"case_id": approved}, schema={"case_id": pl.String}),
    )
    assert ("formal_notice" in got["action"].to_list()) is expected


def test_excluded_case_only_waits():
    frame = pl.DataFrame(
        {
            "case_id": ["k1"] * 3,
            "action": ["wait", "call_nudge", "sms_nudge"],
            "value_cents": [0.0, 50.0, 9.0],
        }
    )
    excluded = eligibility_rows(**{f"allow_{a}": a == "wait" for a in P.ACTIONS})
    feasible = P.feasible_values(frame, excluded, pl.DataFrame(schema={"case_id": pl.String}))
    got = P.decided(feasible, cases([("k1", "d", 3)]), slots([("d", 1)]), figures(0.99), "W")
    assert got["action"].to_list() == ["wait"]


def test_window_text_groups_days():
    days = [
        (date(2026, 11, 16), [("09:00", "12:30")]),
        (date(2026, 11, 17), [("09:00", "12:30")]),
        (date(2026, 11, 18), []),
        (date(2026, 11, 19), [("10:00", "12:30")]),
    ]
    assert P.window_text(days) == "lun-mar 09:00-12:30; jeu 10:00-12:30"


@pytest.mark.parametrize("week", ["2026-47", "W47", "2026-W99"])
def test_malformed_week_is_refused(week):
    with pytest.raises(P.PlanError, match="YYYY-Www"):
        P.week_monday(week)


def test_capacity_must_agree_with_the_team():
    from pipelines.settings import load_settings

    assert P.team_capacity(load_settings(environ={})) == 1500
    with pytest.raises(P.PlanError, match="call_attempts_per_week"):
        P.team_capacity(load_settings(environ={"RELANCE_TEAM__AGENTS": "4"}))


def test_first_letter_refs_join_only_the_cases_that_have_one():
    rows = pl.DataFrame(
        {
            "debtor_id": ["a", "a", "a", "a", "b", "c"],
            "first_letter_ref": ["A1", None, "", "B2", None, " "],
            "first_letter_date": [date(2026, 1, 5), None, None, date(2026, 2, 1), None, None],
        }
    )
    got = rows.group_by("debtor_id", maintain_order=True).agg(
        P.joined_non_empty("first_letter_ref").alias("first_letter_refs"),
        P.joined_non_empty("first_letter_date").alias("first_letter_dates"),
    )
    assert got.rows() == [
        ("a", "A1 | B2", "2026-01-05 | 2026-02-01"),
        ("b", None, None),
        ("c", None, None),
    ]


# -- on the small simulated home ----------------------------------------------------------------


@pytest.fixture
def planned_home(small_settings):
    result = P.planned(Home(small_settings.home), small_settings, user="tester")
    return small_settings, result


def test_plan_exports_audit_and_minimum(planned_home):
    settings, result = planned_home
    home = Home(settings.home)
    calls = pl.read_csv(home.exports / "calls" / f"{result.iso_week}.csv", infer_schema=False)
    assert calls.columns == list(P.CALL_LIST_COLUMNS)
    assert not [c for c in calls.columns if any(f in c.lower() for f in FORBIDDEN)]
    assert calls.height == result.listed > 0
    assert calls["rank"].cast(int).to_list() == list(range(1, calls.height + 1))
    assert calls["phone_e164"].str.contains(r"^\+[1-9]\d{6,14}$").all()
    for column in ("first_letter_refs", "first_letter_dates"):  # no empty slot between " | "
        assert not calls[column].drop_nulls().str.contains(r"(^|\|)\s*(\||$)").any()
    # no debtor twice, no excluded or specialist case listed
    with home.state(read_only=True) as con:
        all_lines = con.sql("select * from plan_lines").pl()
        lines = all_lines.filter(pl.col("channel") == "call")
        exports = con.sql("select * from plan_exports").pl()
        decisions = con.sql("select * from decisions").pl()
    assert lines.group_by("line_id").agg(pl.col("debtor_id").n_unique())["debtor_id"].max() == 1
    assert lines.group_by("debtor_id").agg(pl.col("line_id").n_unique())["line_id"].max() == 1
    # each call line records the number it dials (call outcomes name it back)
    dialled = lines.unique("line_id").select(pl.col("line_id").cast(pl.String), "phone_e164")
    assert dialled.join(calls, on=["line_id", "phone_e164"]).height == calls.height
    from pipelines.train import warehouse

    with warehouse(home, settings) as con:
        eligibility = P.rules.eligibility(con, result.as_of, settings)
    listed = eligibility.join(lines.select("case_id"), on="case_id")
    assert not listed["is_excluded"].any() and not listed["is_specialist"].any()
    # caps across channels and creditors: contacts per debtor within outbound_remaining
    # (a call costs its planned attempts once per debtor, any other contact 1)
    contacts = (
        pl.concat(
            [
                lines.unique("debtor_id").select(
                    "debtor_id", pl.col("planned_attempts").alias("n")
                ),
                all_lines.filter(pl.col("channel") != "call").select(
                    "debtor_id", pl.lit(1, pl.Int32).alias("n")
                ),
            ]
        )
        .group_by("debtor_id")
        .agg(pl.col("n").sum())
        .join(
            eligibility.unique("debtor_id").select("debtor_id", "outbound_remaining"),
            on="debtor_id",
        )
    )
    assert contacts.height > 0 and (contacts["n"] <= contacts["outbound_remaining"]).all()
    assert set(decisions.filter(pl.col("action") != "wait")["case_id"]) == set(all_lines["case_id"])
    assert decisions["case_id"].n_unique() == decisions.height == result.open_cases
    assert result.attempts_planned <= result.capacity
    assert set(exports["kind"]) >= {"calls_csv", "calls_xlsx", "batch_sms", "specialist"}
    assert (exports["exported_by"] == "tester").all()
    assert (exports["settings_hash"] == settings.fingerprint).all()
    assert (exports["iso_week"] == result.iso_week).all()
    specialist = pl.read_csv(
        home.exports / "specialist" / f"{result.iso_week}.csv", infer_schema=False
    )
    assert specialist.columns == ["case_ref", "queue"]
    assert result.policy_source == "fallback" and "no recommender champion" in result.note


def test_same_week_same_inputs_same_rows(planned_home):
    from openpyxl import load_workbook

    settings, first = planned_home
    home = Home(settings.home)
    paths = P.export_paths(home, first.iso_week)
    before = {k: p.read_bytes() for k, p in paths.items() if k != "calls_xlsx"}
    cells = list(load_workbook(paths["calls_xlsx"]).active.values)
    again = P.planned(home, settings, week=first.iso_week, user="someone else")
    assert {k: p.read_bytes() for k, p in paths.items() if k != "calls_xlsx"} == before
    assert list(load_workbook(paths["calls_xlsx"]).active.values) == cells
    assert again.list_id == first.list_id
    sheet = load_workbook(paths["calls_xlsx"]).active
    assert sheet.freeze_panes == "A2" and sheet["A1"].value == "Liste"
    assert sheet.cell(
        2, list(P.CALL_LIST_COLUMNS).index("amount_due_cents") + 1
    ).number_format.endswith('"€"')


def test_formal_notices_wait_for_approval(planned_home, tmp_path):
    from pipelines.approvals import approved

    settings, result = planned_home
    home = Home(settings.home)
    requests = pl.read_csv(P.export_paths(home, result.iso_week)["approvals"], infer_schema=False)
    letters = pl.read_csv(P.export_paths(home, result.iso_week)["batch_letter"], infer_schema=False)
    assert "formal_notice" not in letters["action"].to_list()
    if requests.is_empty():
        pytest.skip("no formal notice requested on this home")  # the small world always has some
    unknown = tmp_path / "bad.csv"
    requests.head(1).with_columns(pl.lit("NOPE").alias("case_ref")).write_csv(unknown)
    with pytest.raises(P.PlanError, match="row 1"):
        approved(home, settings, unknown, "alice", "checked")
    keep = tmp_path / "ok.csv"
    requests.head(2).write_csv(keep)
    done = approved(home, settings, keep, "alice", "file checked, first letter unanswered")
    assert done.rows == 2
    again = P.planned(home, settings, week=result.iso_week, user="tester")
    letters = pl.read_csv(P.export_paths(home, result.iso_week)["batch_letter"], infer_schema=False)
    sent = letters.filter(pl.col("action") == "formal_notice")["case_ref"].to_list()
    assert set(sent) <= set(requests.head(2)["case_ref"]) and len(sent) >= 1
    assert again.formal_notices_requested == result.formal_notices_requested - 2
