"""Call outcomes for week W, loaded through the ordinary import route, change week W+1's plan."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest

from pipelines import plan as P
from pipelines import rules
from pipelines.call_outcomes import Outcome, call_outcomes_loaded, kind_frames
from pipelines.home import Home


def outcomes_file(path, rows: list[dict]) -> str:
    pl.DataFrame(rows).write_csv(path)
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"line_id": 99999}, "row 1: no line 99999"),
        ({"outcome": "maybe"}, "row 1: outcome 'maybe'"),
        ({"outcome": "promise"}, "row 1: a promise needs"),
        ({"called_at": "yesterday"}, "row 1: called_at"),
        ({"case_ref": "NOT-ON-LINE"}, "row 1: case 'NOT-ON-LINE'"),
    ],
)
def test_bad_outcome_rows_are_refused_with_file_and_row(small_settings, tmp_path, change, message):
    home = Home(small_settings.home)
    result = P.planned(home, small_settings, user="tester")
    row = {
        "list_id": result.list_id,
        "line_id": 1,
        "called_at": f"{result.as_of}T10:00:00",
        "outcome": "reached",
        "case_ref": "",
    } | change
    with pytest.raises(P.PlanError, match=message):
        call_outcomes_loaded(home, small_settings, outcomes_file(tmp_path / "o.csv", [row]))
    assert not (home.raw / "phone_team").exists()


def test_a_wrong_number_names_the_number_dialled():
    called = Outcome(
        row=1,
        list_id="2026-W47-calls-x",
        line_id=3,
        called_at=datetime(2026, 11, 16, 10, 0),
        outcome="wrong_number",
        creditor_ref="C1",
        case_ref="K1",
        tone="nudge",
        phone_e164="+33612345678",
        promise_cents=None,
        promise_date=None,
        agent_ref="",
    )
    frames = kind_frames([called], "abcd1234")
    assert set(frames) == {"actions"}
    assert frames["actions"].select("channel", "outcome", "phone").rows() == [
        ("call", "wrong_party", "+33612345678")
    ]


def single_phone_debtors(home: Home, settings) -> set[str]:
    """Debtors with exactly one phone number in the current build (valid or not)."""
    from pipelines.train import warehouse

    with warehouse(home, settings) as con:
        return set(
            con.sql(
                "select debtor_id from core.contact_points where channel = 'phone' "
                "group by debtor_id having count(*) = 1"
            )
            .pl()["debtor_id"]
            .to_list()
        )


def test_dispute_removes_and_promise_suspends_next_weeks_plan(small_settings, tmp_path):
    from pipelines.build import built
    from pipelines.train import warehouse

    home = Home(small_settings.home)
    week = P.planned(home, small_settings, user="tester")
    calls = pl.read_csv(P.export_paths(home, week.iso_week)["calls_csv"], infer_schema=False)
    with home.state(read_only=True) as con:
        debtors = con.sql(
            "select distinct line_id, debtor_id from plan_lines where list_id = ?",
            params=[week.list_id],
        ).pl()
    single = calls.filter(~pl.col("case_refs").str.contains(r"\|")).join(
        debtors.with_columns(pl.col("line_id").cast(pl.String)), on="line_id"
    )
    assert single.height >= 4
    disputed, promised, reached = (
        single.row(0, named=True),
        single.row(1, named=True),
        single.row(2, named=True),
    )
    # a wrong number: a debtor with no other number, so nothing else can be dialled next week
    wrong = (
        single.slice(3)
        .filter(pl.col("debtor_id").is_in(single_phone_debtors(home, small_settings)))
        .row(0, named=True)
    )
    monday = week.as_of
    promise_date = monday + timedelta(days=9)  # Wednesday of the next week
    rows = [
        {
            "list_id": week.list_id,
            "line_id": disputed["line_id"],
            "called_at": f"{monday}T10:00:00",
            "outcome": "dispute",
            "promise_amount": "",
            "promise_date": "",
        },
        {
            "list_id": week.list_id,
            "line_id": promised["line_id"],
            "called_at": f"{monday}T10:05:00+01:00",
            "outcome": "promise",
            "promise_amount": "50.00",
            "promise_date": promise_date.isoformat(),
        },
        {
            "list_id": week.list_id,
            "line_id": reached["line_id"],
            "called_at": f"{monday}T10:10:00",
            "outcome": "no_answer",
            "promise_amount": "",
            "promise_date": "",
        },
        {
            "list_id": week.list_id,
            "line_id": wrong["line_id"],
            "called_at": f"{monday}T10:15:00",
            "outcome": "wrong_number",
            "promise_amount": "",
            "promise_date": "",
        },
    ]
    loaded = call_outcomes_loaded(home, small_settings, outcomes_file(tmp_path / "out.csv", rows))
    assert loaded.rows == 4 and loaded.by_outcome == {
        "dispute": 1,
        "no_answer": 1,
        "promise": 1,
        "wrong_number": 1,
    }
    build = built(home, small_settings)
    assert build.raw_rows == build.staged_rows + build.quarantined_rows
    following = P.planned(home, small_settings, user="tester")
    assert following.iso_week != week.iso_week and following.as_of == monday + timedelta(days=7)
    with home.state(read_only=True) as con:
        lines = con.sql(
            "select case_ref, debtor_id, channel, phone_e164 from plan_lines where iso_week = ?",
            params=[following.iso_week],
        ).pl()
        decisions = con.sql(
            "select case_ref, action from decisions where iso_week = ?", params=[following.iso_week]
        ).pl()
    for case_ref in (disputed["case_refs"], promised["case_refs"]):
        assert case_ref not in lines["case_ref"].to_list()
        assert decisions.filter(pl.col("case_ref") == case_ref)["action"].to_list() == ["wait"]
    with warehouse(home, small_settings) as con:
        now = rules.eligibility(con, following.as_of, small_settings)
        grace = int(small_settings.require("exclusions.promise_grace_days"))
        after = rules.eligibility(con, promise_date + timedelta(days=grace + 1), small_settings)
    # the wrong number is invalid from its call: no call (nor text) to it, the debtor uncallable
    dialled = lines.filter(pl.col("channel").is_in(["call", "sms"]))
    assert wrong["phone_e164"] not in dialled["phone_e164"].to_list()
    assert wrong["debtor_id"] not in dialled["debtor_id"].to_list()
    blocked = now.filter(pl.col("debtor_id") == wrong["debtor_id"])
    assert blocked.height >= 1 and not blocked["can_call"].any()
    assert all("call:no_valid_phone" in b for b in blocked["channel_blocks"].to_list())
    reason = dict(zip(now["case_ref"], now["primary_reason"], strict=True))
    assert reason[disputed["case_refs"]] == "open_dispute"
    assert reason[promised["case_refs"]] == "promise_pending"
    later = after.filter(pl.col("case_ref") == promised["case_refs"])
    assert "promise_pending" not in later["exclusion_reasons"].item().to_list()
