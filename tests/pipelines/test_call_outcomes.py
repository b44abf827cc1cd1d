"""Call outcomes for week W, loaded through the ordinary import route, change week W+1's plan."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

from pipelines import plan as P
from pipelines import rules
from pipelines.call_outcomes import call_outcomes_loaded
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


def test_dispute_removes_and_promise_suspends_next_weeks_plan(small_settings, tmp_path):
    from pipelines.build import built
    from pipelines.train import warehouse

    home = Home(small_settings.home)
    week = P.planned(home, small_settings, user="tester")
    calls = pl.read_csv(P.export_paths(home, week.iso_week)["calls_csv"], infer_schema=False)
    single = calls.filter(~pl.col("case_refs").str.contains(r"\|"))
    assert single.height >= 3
    disputed, promised, reached = (
        single.row(0, named=True),
        single.row(1, named=True),
        single.row(2, named=True),
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
    ]
    loaded = call_outcomes_loaded(home, small_settings, outcomes_file(tmp_path / "out.csv", rows))
    assert loaded.rows == 3 and loaded.by_outcome == {"dispute": 1, "no_answer": 1, "promise": 1}
    build = built(home, small_settings)
    assert build.raw_rows == build.staged_rows + build.quarantined_rows
    following = P.planned(home, small_settings, user="tester")
    assert following.iso_week != week.iso_week and following.as_of == monday + timedelta(days=7)
    with home.state(read_only=True) as con:
        lines = con.sql(
            "select case_ref from plan_lines where iso_week = ?", params=[following.iso_week]
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
    reason = dict(zip(now["case_ref"], now["primary_reason"], strict=True))
    assert reason[disputed["case_refs"]] == "open_dispute"
    assert reason[promised["case_refs"]] == "promise_pending"
    later = after.filter(pl.col("case_ref") == promised["case_refs"])
    assert "promise_pending" not in later["exclusion_reasons"].item().to_list()
