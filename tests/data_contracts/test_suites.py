"""The suite files: well formed, Great Expectations can read them, one per table and per kind,
and the generated ones in step with pipelines/kinds.py."""

from __future__ import annotations

import pytest

from data_contracts.runner import _gx
from data_contracts.suites import SQL_TYPES, loaded_suites, suite_problems
from pipelines import contract_suites, warehouse
from pipelines.kinds import KINDS


def test_every_suite_is_well_formed_and_has_a_rule_and_severity():
    suites = loaded_suites()
    assert suites
    for suite in suites:
        assert suite_problems(suite) == [], suite.name
        assert all("id" not in e for e in suite.expectations)


def test_there_is_one_suite_per_kind_and_per_table():
    names = {s.name for s in loaded_suites()}
    wanted = (
        {f"files.{k}" for k in KINDS}
        | {f"staging.{k}" for k in warehouse.STAGING_STEPS}
        | {f"core.{t}" for t in warehouse.CORE_STEPS}
        | {f"marts.{t}" for t in warehouse.MART_STEPS}
    )
    assert names == wanted


def test_generated_suites_are_in_step_with_kinds():
    stale = contract_suites.stale_suites()
    assert stale == [], "run `python -m pipelines.contract_suites` and commit the result"


def test_great_expectations_reads_every_suite():
    gx, _ = _gx()
    for suite in loaded_suites():
        parsed = gx.ExpectationSuite(**suite.to_dict())
        assert len(parsed.expectations) == len(suite.expectations), suite.name


@pytest.mark.parametrize("layer", ["staging", "core", "marts"])
def test_every_table_suite_checks_a_key_and_a_business_rule(layer):
    for suite in loaded_suites([layer]):
        types = [e["type"] for e in suite.expectations]
        assert any(
            t in ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique")
            for t in types
        ), suite.name
        rules = [
            e
            for e in suite.expectations
            if e["type"] == "unexpected_rows_expectation"
            or e["type"] == "expect_column_pair_values_a_to_be_greater_than_b"
        ]
        assert rules, f"{suite.name} has no business rule"
        assert SQL_TYPES & set(types)
