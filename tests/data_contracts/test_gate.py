"""The gate, the runner on plain frames, the history in the state store, the reject files and a
real build that a critical failure keeps from being published."""

from __future__ import annotations

import csv
import shutil

import pandas as pd
import pytest

from data_contracts.gate import ContractError, gate
from data_contracts.runner import validated_frames
from data_contracts.suites import Suite, loaded_suites
from pipelines import build, reports, validate, warehouse
from pipelines.home import Home, new_build_id


def test_runner_takes_plain_frames_and_the_gate_names_table_column_and_value():
    creditors = pd.DataFrame(
        {
            "creditor_id": ["c1", "c2"],
            "creditor_ref": ["TEL", "NRJ"],
            "name": ["Telco", "Energie"],
            "sector": ["telecom", "gambling"],
            "n_cases": [1, 1],
        }
    )
    cases = pd.DataFrame({"case_id": ["k1", "k2"], "creditor_id": ["c1", "c2"]})
    suite = next(s for s in loaded_suites(["core"]) if s.name == "core.creditors")
    run = validated_frames({"core.creditors": creditors, "core.cases": cases}, [suite])
    assert run.status == "failed"
    with pytest.raises(ContractError) as caught:
        gate(run)
    first = str(caught.value).splitlines()[0]
    assert "core.creditors.sector" in first
    assert "expect_column_values_to_be_in_set" in first
    assert "'gambling'" in first


def test_warnings_are_recorded_but_do_not_stop_the_gate():
    suite = Suite(
        "core.cases",
        "core",
        "cases",
        (
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": "n_invoices", "max_value": 1},
                "meta": {"severity": "warning", "rule": "a case has one invoice"},
            },
        ),
    )
    run = validated_frames({"core.cases": pd.DataFrame({"n_invoices": [1, 3]})}, [suite])
    assert run.status == "warnings" and len(run.warnings) == 1
    assert gate(run) is run
    assert "n_invoices=3" in run.warnings[0].message


def test_the_sample_warehouse_passes_every_critical_expectation(sample_run):
    assert [o.message for o in sample_run.critical_failures] == []
    assert len(sample_run.suites) == len(loaded_suites())


def test_history_report_and_rejects_are_written(sample_run, sample_warehouse, sample_settings):
    home = Home(sample_settings.home)
    con = warehouse.connect(sample_warehouse, sample_settings, read_only=True)
    try:
        rejects = reports.written_rejects(con, home)
        quarantined = con.execute("select count(*) from quarantine.rows").fetchall()[0][0]
    finally:
        con.close()
    assert sum(r.rows for r in rejects) == quarantined > 0
    for r in rejects:
        with open(r.path, encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert {row["creditor"] for row in rows} == {r.creditor}
        assert all(row["source_file"] and row["source_row"] and row["reason"] for row in rows)
    page = reports.written_report(home, "20260101T000000-abcdef", sample_run, rejects)
    text = page.read_text(encoding="utf-8")
    assert all(name in text for name in sample_run.suites)
    assert "http://" not in text and "https://" not in text and "<script" not in text
    run_id = validate.recorded(home, sample_settings, "20260101T000000-abcdef", sample_run, "build")
    with home.state(read_only=True) as state:
        runs = state.execute(
            "select build_id, status, suites from validation_runs where run_id = ?", [run_id]
        ).fetchall()
        results = state.execute(
            "select count(*) from validation_results where run_id = ?", [run_id]
        ).fetchall()[0][0]
    assert runs == [("20260101T000000-abcdef", sample_run.status, len(sample_run.suites))]
    assert results == len(sample_run.outcomes)


@pytest.mark.slow
def test_a_critical_failure_keeps_the_current_build(
    sample_warehouse, sample_settings, tmp_path, monkeypatch
):
    settings = sample_settings.with_home(tmp_path / "home")
    home = Home(settings.home).ensure()
    shutil.copytree(Home(sample_settings.home).raw, home.raw, dirs_exist_ok=True)
    previous = new_build_id()
    shutil.copy(sample_warehouse, home.build_path(previous))
    home.switch_current(previous)
    impossible = Suite(
        "core.cases",
        "core",
        "cases",
        (
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": "placed_amount_cents", "max_value": 1},
                "meta": {"severity": "critical", "rule": "planted: no case above 1 cent"},
            },
        ),
    )
    monkeypatch.setattr(validate, "loaded_suites", lambda layers=None: [impossible])
    with pytest.raises(warehouse.BuildError) as caught:
        build.built(home, settings)
    first = str(caught.value).splitlines()[0]
    assert first.startswith("contract failed (critical): core.cases.placed_amount_cents")
    assert "e.g. placed_amount_cents=" in first
    assert home.current_id() == previous
    assert home.published_ids() == [previous]
    assert home.stale_partials() == []
