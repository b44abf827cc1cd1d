"""Staging SQL (``pipelines/sql/staging/<kind>.sql``) on tiny literal raw rows.

Each kind has one valid row (``VALID``) and, in ``CASES``, one row per reason code that applies to
it: the valid row with a few fields changed. Planning a staging query costs about 0.1 s, so the
cases of a kind are staged together, once (``batch``): every case row gets its own natural key (a
``-<n>`` suffix on the natural-key refs it does not set itself, and its own placement when the key
holds the case), so the rows cannot see each other; each test then reads its own row's reason.
The helper asserts raw rows = staged + quarantined on every run.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from typing import Any

import pytest

from pipelines.kinds import KINDS
from pipelines.warehouse import STAGING_STEPS
from tests.pipelines.raw_rows import PAYMENT, PLACEMENT, RECEIVED, Staged, staged
from tests.pipelines.staged_rows import staging_columns

CASE = {"creditor_ref": "CR1", "case_ref": "C1"}
LATER = RECEIVED + dt.timedelta(days=1)
MALFORMED = {"reader_error": "missing_columns", "raw_line": "CR1;C1"}

VALID: dict[str, dict[str, str]] = {
    "placements": {
        **PLACEMENT,
        "creditor_name": " Telco SA ",
        "creditor_sector": " Telecom ",
        "invoice_date": "01/12/2025",
        "phone": "06 12 34 56 78",
        "phone_2": "0692 12 34 56",
        "email": " Jean.Dupont@Example.FR ",
        "postcode": "75011",
        "country": "fr",
    },
    "payments": {**PAYMENT, "method": "card"},
    "case_updates": {
        **CASE,
        "update_ref": "U1",
        "update_date": "10/01/2026",
        "update_type": "amount_correction",
        "amount": "-10,00",
        "reason": "remise commerciale",
    },
    "account_status": {
        **CASE,
        "status_month": "2025-12",
        "status_code": "2",
        "balance": "1 234,56",
        "paid_amount": "0,00",
    },
    "actions": {
        "action_ref": "A1",
        **CASE,
        "action_at": "12/01/2026 10:15",
        "channel": "call",
        "tone": "nudge",
        "outcome": "right_party",
        "phone": "0692 12 34 56",
    },
    "decisions": {
        **CASE,
        "iso_week": "2026-W02",
        "action": "call_nudge",
        "propensity": "0,8",
        "policy_id": "ladder-v1",
        "is_exploration": "non",
        "decided_at": "05/01/2026 06:00",
    },
    "promises": {
        "promise_ref": "PR1",
        **CASE,
        "made_date": "12/01/2026",
        "due_date": "20/02/2026",
        "amount": "50,00",
        "action_ref": "A1",
    },
    "plans": {
        "plan_ref": "PL1",
        **CASE,
        "event_date": "12/01/2026",
        "event": "agreed",
        "plan_amount": "600,00",
        "instalments": "6",
        "first_due_date": "01/02/2026",
        "frequency_days": "30",
    },
    "disputes": {
        "dispute_ref": "DS1",
        **CASE,
        "event_date": "12/01/2026",
        "event": "opened",
        "reason": "amount",
    },
    "complaints": {
        "complaint_ref": "CP1",
        **CASE,
        "event_date": "12/01/2026",
        "event": "opened",
        "channel": "call",
        "reason": "pressure",
    },
    "debtor_events": {
        "event_ref": "E1",
        **CASE,
        "event_date": "12/01/2026",
        "event_type": "vulnerable",
    },
    "contact_preferences": {
        "preference_ref": "CPR1",
        **CASE,
        "effective_date": "12/01/2026",
        "channel": "sms",
        "preference": "opt_out",
        "window_start": " 18:00 ",
    },
    "remittances": {
        "remittance_ref": "R1",
        **CASE,
        "payment_ref": "P1",
        "remitted_date": "20/01/2026",
        "amount": "100,00",
    },
    "fees": {
        "fee_ref": "FE1",
        **CASE,
        "fee_date": "12/01/2026",
        "fee_type": "indemnity_40",
        "amount": "40,00",
        "has_title": "non",
    },
    "labels": {**CASE, "label": "defaulted", "observed_date": "20/01/2026", "value": "1"},
    "experiments": {
        "experiment_ref": "X1",
        "unit_ref": "U1",
        "arm": "B",
        "propensity": "0,5",
        "outcome": "1",
        "amount": "12,50",
        "observed_date": "20/01/2026",
        "extra": '{"segment": "b2c", "wording": "friendly"}',
    },
}

# What each valid row becomes (a subset of the staged columns).
EXPECTED: dict[str, dict[str, Any]] = {
    "placements": {
        "creditor_name": "Telco SA",
        "creditor_sector": "telecom",
        "placed_date": dt.date(2026, 1, 5),
        "amount_cents": 123456,
        "currency": "EUR",
        "phone": "+33612345678",
        "phone_2": "+262692123456",
        "email": "jean.dupont@example.fr",
        "country": "FR",
    },
    "payments": {
        "paid_at": dt.datetime(2026, 1, 10, 13, 30),
        "amount_cents": 10000,
        "is_reversal": False,
    },
    "case_updates": {"amount_cents": -1000, "update_date": dt.date(2026, 1, 10)},
    "account_status": {
        "status_month": dt.date(2025, 12, 1),
        "status_code": 2,
        "balance_cents": 123456,
        "paid_amount_cents": 0,
    },
    "actions": {
        "action_at": dt.datetime(2026, 1, 12, 9, 15),
        "direction": "outbound",
        "phone": "+262692123456",
    },
    "decisions": {
        "iso_week": "2026-W02",
        "propensity": 0.8,
        "is_exploration": False,
        "decided_at": dt.datetime(2026, 1, 5, 5, 0),
    },
    "promises": {"due_date": dt.date(2026, 2, 20), "amount_cents": 5000},
    "plans": {"plan_amount_cents": 60000, "instalments": 6, "frequency_days": 30},
    "disputes": {"event": "opened", "reason": "amount"},
    "complaints": {"channel": "call", "reason": "pressure"},
    "debtor_events": {"event_type": "vulnerable", "status": "start"},
    "contact_preferences": {"preference": "opt_out", "window_start": "18:00"},
    "remittances": {"payment_ref": "P1", "amount_cents": 10000},
    "fees": {"amount_cents": 4000, "has_title": False},
    "labels": {"label": "defaulted", "value": 1.0},
    "experiments": {
        "propensity": 0.5,
        "amount_cents": 1250,
        "features": '{"segment": "b2c", "wording": "friendly"}',
    },
}

# (kind, expected reason, fields changed from VALID); None = staged.
CASES: list[tuple[str, str | None, dict[str, Any]]] = [
    ("placements", None, {}),
    ("placements", "malformed_row", MALFORMED),
    ("placements", "missing_required", {"debtor_name": "  "}),
    ("placements", "scientific_notation", {"invoice_ref": "1.23E+05"}),
    ("placements", "bad_amount", {"amount": "abc"}),
    ("placements", "inexact_amount", {"amount": "1,23456E+02"}),
    ("placements", "negative_amount", {"amount": "-5,00"}),
    ("placements", "bad_date", {"due_date": "31/02/2026"}),
    ("placements", "bad_currency", {"currency": "EURO"}),
    ("placements", "bad_value", {"debtor_type": "martian"}),
    ("placements", "date_after_received", {"placed_date": "01/02/2026"}),
    ("payments", None, {}),
    ("payments", "malformed_row", MALFORMED),
    ("payments", "missing_required", {"paid_at": ""}),
    ("payments", "scientific_notation", {"payment_ref": "1.00E+05"}),
    ("payments", "bad_amount", {"amount": "12,5x"}),
    ("payments", "inexact_amount", {"amount": "1,23456E+02"}),
    ("payments", "negative_amount", {"amount": "0,00"}),
    ("payments", "bad_timestamp", {"paid_at": "32/01/2026 10:00"}),
    ("payments", "bad_currency", {"currency": "E1R"}),
    ("payments", "bad_value", {"method": "bitcoin"}),
    ("payments", "date_after_received", {"paid_at": "01/02/2026 10:00"}),
    ("payments", "unknown_case", {"case_ref": "C404"}),
    ("payments", "unknown_payment", {"reverses_ref": "P404"}),
    ("case_updates", None, {}),
    ("case_updates", "malformed_row", MALFORMED),
    ("case_updates", "missing_required", {"update_type": None}),
    ("case_updates", "scientific_notation", {"update_ref": "1E+05"}),
    ("case_updates", "bad_amount", {"amount": "-10,00,00"}),
    ("case_updates", "inexact_amount", {"amount": "-10,001"}),
    ("case_updates", "bad_date", {"update_date": "2026-13-01"}),
    ("case_updates", "bad_currency", {"currency": "€"}),
    ("case_updates", "bad_value", {"update_type": "refund"}),
    ("case_updates", "date_after_received", {"update_date": "01/02/2026"}),
    ("case_updates", "unknown_case", {"case_ref": "C404"}),
    ("account_status", None, {}),
    ("account_status", "malformed_row", MALFORMED),
    ("account_status", "missing_required", {"status_month": ""}),
    ("account_status", "scientific_notation", {"case_ref": "1,5E+04"}),
    ("account_status", "bad_amount", {"balance": "n/a"}),
    ("account_status", "inexact_amount", {"paid_amount": "0,001"}),
    ("account_status", "bad_date", {"status_month": "2025-13"}),
    ("account_status", "bad_number", {"status_code": "deux"}),
    ("account_status", "bad_currency", {"currency": "EU"}),
    ("account_status", "date_after_received", {"status_month": "2026-02"}),
    ("account_status", "unknown_case", {"case_ref": "C404"}),
    ("actions", None, {}),
    ("actions", "malformed_row", MALFORMED),
    ("actions", "missing_required", {"channel": None}),
    ("actions", "scientific_notation", {"phone": "6.12E+08"}),
    ("actions", "bad_timestamp", {"action_at": "12/01/2026 25:00"}),
    ("actions", "bad_value", {"outcome": "maybe"}),
    # 01/02 00:30 in Paris is 31/01 23:30 UTC: the Paris date is compared
    ("actions", "date_after_received", {"action_at": "01/02/2026 00:30"}),
    ("actions", "unknown_case", {"case_ref": "C404"}),
    ("decisions", None, {}),
    ("decisions", "malformed_row", MALFORMED),
    ("decisions", "missing_required", {"policy_id": ""}),
    ("decisions", "scientific_notation", {"policy_id": "2.0E+00"}),
    ("decisions", "bad_timestamp", {"decided_at": "demain"}),
    ("decisions", "bad_number", {"propensity": "1,5"}),
    ("decisions", "bad_bool", {"is_exploration": "peut-être"}),
    ("decisions", "bad_iso_week", {"iso_week": "2025-W53"}),
    ("decisions", "bad_value", {"action": "call_angry"}),
    ("decisions", "date_after_received", {"decided_at": "01/02/2026 09:00"}),
    ("decisions", "unknown_case", {"case_ref": "C404"}),
    ("promises", None, {}),
    ("promises", "malformed_row", MALFORMED),
    ("promises", "missing_required", {"amount": None}),
    ("promises", "scientific_notation", {"promise_ref": "1.00E+05"}),
    ("promises", "bad_amount", {"amount": "cinquante"}),
    ("promises", "inexact_amount", {"amount": "5,0001E+01"}),
    ("promises", "negative_amount", {"amount": "0"}),
    ("promises", "bad_date", {"due_date": "20/13/2026"}),
    ("promises", "bad_currency", {"currency": "12"}),
    ("promises", "date_after_received", {"made_date": "01/02/2026"}),
    ("promises", "unknown_case", {"case_ref": "C404"}),
    ("plans", None, {}),
    ("plans", None, {"event": "broken", "plan_amount": None, "instalments": None}),
    ("plans", "malformed_row", MALFORMED),
    ("plans", "missing_required", {"instalments": " "}),
    ("plans", "scientific_notation", {"plan_ref": "7.5E+03"}),
    ("plans", "bad_amount", {"plan_amount": "six cents"}),
    ("plans", "inexact_amount", {"plan_amount": "600,005"}),
    ("plans", "negative_amount", {"plan_amount": "-600,00"}),
    ("plans", "bad_date", {"first_due_date": "01/02"}),
    ("plans", "bad_number", {"instalments": "0"}),
    ("plans", "bad_currency", {"currency": "EUROS"}),
    ("plans", "bad_value", {"event": "renegotiated"}),
    ("plans", "date_after_received", {"event_date": "01/02/2026"}),
    ("plans", "unknown_case", {"case_ref": "C404"}),
    ("disputes", None, {}),
    ("disputes", "malformed_row", MALFORMED),
    ("disputes", "missing_required", {"event": None}),
    ("disputes", "scientific_notation", {"dispute_ref": "1.2E+03"}),
    ("disputes", "bad_date", {"event_date": "12-01-2026"}),
    ("disputes", "bad_value", {"resolution": "maybe"}),
    ("disputes", "date_after_received", {"event_date": "01/02/2026"}),
    ("disputes", "unknown_case", {"case_ref": "C404"}),
    ("complaints", None, {}),
    ("complaints", "malformed_row", MALFORMED),
    ("complaints", "missing_required", {"complaint_ref": None}),
    ("complaints", "scientific_notation", {"creditor_ref": "3.1E+01"}),
    ("complaints", "bad_date", {"event_date": "hier"}),
    ("complaints", "bad_value", {"channel": "pigeon"}),
    ("complaints", "date_after_received", {"event_date": "01/02/2026"}),
    ("complaints", "unknown_case", {"case_ref": "C404"}),
    ("debtor_events", None, {}),
    ("debtor_events", "malformed_row", MALFORMED),
    ("debtor_events", "missing_required", {"event_type": None}),
    ("debtor_events", "scientific_notation", {"event_ref": "9.9E+09"}),
    ("debtor_events", "bad_date", {"event_date": "00/01/2026"}),
    ("debtor_events", "bad_value", {"status": "ongoing"}),
    ("debtor_events", "date_after_received", {"event_date": "01/02/2026"}),
    ("debtor_events", "unknown_case", {"case_ref": "C404"}),
    ("contact_preferences", None, {}),
    ("contact_preferences", "malformed_row", MALFORMED),
    ("contact_preferences", "missing_required", {"preference": None}),
    ("contact_preferences", "scientific_notation", {"preference_ref": "1.0E+01"}),
    ("contact_preferences", "bad_date", {"effective_date": "12/01/0026"}),
    ("contact_preferences", "bad_value", {"channel": "fax"}),
    ("contact_preferences", "date_after_received", {"effective_date": "01/02/2026"}),
    ("contact_preferences", "unknown_case", {"case_ref": "C404"}),
    ("remittances", None, {}),
    ("remittances", "malformed_row", MALFORMED),
    ("remittances", "missing_required", {"payment_ref": None}),
    ("remittances", "scientific_notation", {"remittance_ref": "4.4E+04"}),
    ("remittances", "bad_amount", {"amount": "1 00,00"}),
    ("remittances", "inexact_amount", {"amount": "1,0000001E+02"}),
    ("remittances", "negative_amount", {"amount": "-100,00"}),
    ("remittances", "bad_date", {"remitted_date": "2026/01/20x"}),
    ("remittances", "bad_currency", {"currency": "usd1"}),
    ("remittances", "date_after_received", {"remitted_date": "01/02/2026"}),
    ("remittances", "unknown_case", {"case_ref": "C404"}),
    ("remittances", "unknown_payment", {"payment_ref": "P404"}),
    ("fees", None, {}),
    ("fees", "malformed_row", MALFORMED),
    ("fees", "missing_required", {"fee_type": None}),
    ("fees", "scientific_notation", {"fee_ref": "1.00E+02"}),
    ("fees", "bad_amount", {"amount": "40 €€"}),
    ("fees", "inexact_amount", {"amount": "40,009"}),
    ("fees", "negative_amount", {"amount": "-40,00"}),
    ("fees", "bad_date", {"fee_date": "2026-02-30"}),
    ("fees", "bad_bool", {"has_title": "2"}),
    ("fees", "bad_currency", {"currency": "E R"}),
    ("fees", "bad_value", {"fee_type": "bonus"}),
    ("fees", "date_after_received", {"fee_date": "01/02/2026"}),
    ("fees", "unknown_case", {"case_ref": "C404"}),
    ("labels", None, {}),
    ("labels", "malformed_row", MALFORMED),
    ("labels", "missing_required", {"value": None}),
    ("labels", "scientific_notation", {"label": "1.0E+00"}),
    ("labels", "bad_date", {"observed_date": "20/01/26"}),
    ("labels", "bad_number", {"value": "beaucoup"}),
    ("labels", "date_after_received", {"observed_date": "01/02/2026"}),
    ("labels", "unknown_case", {"case_ref": "C404"}),
    ("experiments", None, {}),
    ("experiments", "malformed_row", MALFORMED),
    ("experiments", "missing_required", {"arm": None}),
    ("experiments", "scientific_notation", {"unit_ref": "4.5E+07"}),
    ("experiments", "bad_amount", {"amount": "douze"}),
    ("experiments", "inexact_amount", {"amount": "12,505"}),
    ("experiments", "bad_date", {"observed_date": "31/04/2026"}),
    ("experiments", "bad_number", {"propensity": "0"}),
    ("experiments", "bad_currency", {"currency": "$"}),
    ("experiments", "date_after_received", {"observed_date": "01/02/2026"}),
]

# A non-key field changed by a later copy of the row (conflicting_duplicate).
CHANGED: dict[str, dict[str, str]] = {
    "placements": {"debtor_name": "Jean Dupond"},
    "payments": {"amount": "101,00"},
    "case_updates": {"amount": "-11,00"},
    "account_status": {"balance": "1 000,00"},
    "actions": {"outcome": "no_answer"},
    "decisions": {"propensity": "0,7"},
    "promises": {"amount": "60,00"},
    "plans": {"instalments": "12"},
    "disputes": {"reason": "service"},
    "complaints": {"reason": "tone"},
    "debtor_events": {"event_type": "deceased"},
    "contact_preferences": {"preference": "opt_in"},
    "remittances": {"amount": "90,00"},
    "fees": {"amount": "50,00"},
    "labels": {"value": "0"},
    "experiments": {"outcome": "0"},
}

# Rows appended to each batch after the cases: (label, file index, fields changed from VALID).
DUPLICATES: list[tuple[str | None, int, str]] = [
    (None, 0, "dup"),
    ("duplicate_row", 1, "dup"),
    (None, 0, "conflict"),
    ("conflicting_duplicate", 1, "conflict"),
]


def _own_key(kind_name: str, row: Mapping[str, Any], tag: str) -> dict[str, Any]:
    """``row`` with ``-<tag>`` on the natural-key refs it keeps from VALID (creditor_ref and a
    remittance's payment_ref excepted: those must name the one creditor and payment)."""
    import_kind = KINDS[kind_name]
    out = dict(row)
    for name in import_kind.natural_key:
        column = import_kind.column(name)
        if column.type != "ref" or name == "creditor_ref":
            continue
        if kind_name == "remittances" and name == "payment_ref":
            continue
        if out.get(name) is not None and out.get(name) == VALID[kind_name].get(name):
            out[name] = f"{out[name]}-{tag}"
    return out


def _case_rows(kind_name: str) -> list[tuple[str | None, dict[str, Any]]]:
    rows = []
    for n, (name, reason, changes) in enumerate(c for c in CASES if c[0] == kind_name):
        assert name == kind_name
        if "reader_error" in changes:
            row = dict(changes)
        else:
            row = {**VALID[kind_name], **changes}
            if n > 0:
                row = _own_key(kind_name, row, str(n))
        rows.append((reason, row))
    for reason, file_index, tag in DUPLICATES:
        row = _own_key(kind_name, VALID[kind_name], tag)
        if reason == "conflicting_duplicate":
            row.update(CHANGED[kind_name])
        rows.append((reason, {**row, "file": file_index}))
    return rows


@functools.cache
def batch(kind_name: str) -> tuple[Staged, list[str | None]]:
    """Stage every case row of a kind at once; return the result and the expected reasons."""
    rows = _case_rows(kind_name)
    # one placement per case the rows name (a case that must stay unknown excepted)
    case_refs = {
        row["case_ref"] for reason, row in rows if reason != "unknown_case" and row.get("case_ref")
    }
    placements = [{**PLACEMENT, "case_ref": ref} for ref in sorted(case_refs | {"C1"})]
    result = staged(
        kind_name,
        [row for _, row in rows],
        files=[{}, {"received_date": LATER}],
        placements=placements,
    )
    # the first file's rows come first in (file_id, source_row) order
    expected = [r for r, row in rows if row.get("file", 0) == 0] + [
        r for r, row in rows if row.get("file", 0) == 1
    ]
    return result, expected


def _case_ids() -> list[str]:
    seen: dict[str, int] = {}
    ids = []
    for kind_name, reason, _ in CASES:
        label = f"{kind_name}-{reason or 'valid'}"
        seen[label] = seen.get(label, 0) + 1
        ids.append(label if seen[label] == 1 else f"{label}-{seen[label]}")
    return ids


@pytest.mark.parametrize(("kind_name", "reason", "changes"), CASES, ids=_case_ids())
def test_reason_code(kind_name: str, reason: str | None, changes: dict[str, Any]) -> None:
    result, expected = batch(kind_name)
    # the cases of a kind are its first rows, in order
    index = [c for c in CASES if c[0] == kind_name].index((kind_name, reason, changes))
    assert expected[index] == reason
    assert result.reasons[index] == reason


@pytest.mark.parametrize("kind_name", STAGING_STEPS)
def test_every_row_of_the_batch_gets_its_expected_reason(kind_name: str) -> None:
    result, expected = batch(kind_name)
    assert result.reasons == expected
    assert result.staged.height + result.quarantined.height == result.raw_rows


@pytest.mark.parametrize("kind_name", STAGING_STEPS)
def test_happy_path_types_the_valid_row(kind_name: str) -> None:
    result, _ = batch(kind_name)
    first = result.staged.row(0, named=True)
    assert first["source_row"] == 1
    assert first["received_date"] == RECEIVED
    assert first["source_file"].startswith("raw/test/")
    for column, value in EXPECTED[kind_name].items():
        assert first[column] == value, column


@pytest.mark.parametrize("kind_name", STAGING_STEPS)
def test_staging_schema_matches_the_contract(kind_name: str) -> None:
    result, _ = batch(kind_name)
    expected = staging_columns(KINDS[kind_name])
    assert result.columns == [(name, sql_type) for name, sql_type in expected]


@pytest.mark.parametrize("kind_name", STAGING_STEPS)
def test_every_reason_code_that_applies_is_exercised(kind_name: str) -> None:
    import_kind = KINDS[kind_name]
    types = {c.type for c in import_kind.columns}
    reasons = {reason for name, reason, _ in CASES if name == kind_name} | {
        r for r, _, _ in DUPLICATES
    }
    applicable = {"malformed_row", "missing_required", "duplicate_row", "conflicting_duplicate"}
    if types & {"ref", "phone"}:
        applicable.add("scientific_notation")
    if "money" in types:
        applicable |= {"bad_amount", "inexact_amount", "bad_currency"}
    if types & {"date", "month"}:
        applicable.add("bad_date")
    if "timestamp" in types:
        applicable.add("bad_timestamp")
    if types & {"int", "float"}:
        applicable.add("bad_number")
    if "bool" in types:
        applicable.add("bad_bool")
    if "iso_week" in types:
        applicable.add("bad_iso_week")
    if "enum" in types:
        applicable.add("bad_value")
    if import_kind.not_after_received:
        applicable.add("date_after_received")
    if "case_ref" in import_kind.column_names and kind_name != "placements":
        applicable.add("unknown_case")
    if kind_name in ("payments", "remittances"):
        applicable.add("unknown_payment")
    assert applicable <= reasons


def test_every_reason_code_of_the_readme_is_produced() -> None:
    readme = [
        "malformed_row",
        "missing_required",
        "scientific_notation",
        "bad_amount",
        "inexact_amount",
        "negative_amount",
        "bad_date",
        "bad_timestamp",
        "bad_number",
        "bad_bool",
        "bad_iso_week",
        "bad_currency",
        "bad_value",
        "date_after_received",
        "unknown_case",
        "unknown_payment",
        "duplicate_row",
        "conflicting_duplicate",
    ]
    produced = set()
    for kind_name in STAGING_STEPS:
        produced |= set(batch(kind_name)[0].quarantined["reason"].to_list())
    assert produced == set(readme)


# --- payments: reversals ------------------------------------------------------------------------


def test_a_reversal_is_negative_whatever_its_sign_in_the_file() -> None:
    result = staged(
        "payments",
        [
            PAYMENT,
            {**PAYMENT, "payment_ref": "P2", "reverses_ref": "P1", "amount": "100,00"},
            {**PAYMENT, "payment_ref": "P3", "reverses_ref": "P1", "amount": "-30,00"},
            {**PAYMENT, "payment_ref": "P4", "reverses_ref": "P1", "amount": "0"},
            # a reversal names the reporter's own payment
            {**PAYMENT, "reported_by": "creditor", "payment_ref": "P5", "reverses_ref": "P1"},
        ],
    )
    assert result.reasons == [None, None, None, "negative_amount", "unknown_payment"]
    assert result.staged["amount_cents"].to_list() == [10000, -10000, -3000]
    assert result.staged["is_reversal"].to_list() == [False, True, True]


def test_a_reversal_of_a_rejected_payment_is_an_unknown_payment() -> None:
    result = staged(
        "payments",
        [
            {**PAYMENT, "amount": "abc"},
            {**PAYMENT, "payment_ref": "P2", "reverses_ref": "P1"},
        ],
    )
    assert result.reasons == ["bad_amount", "unknown_payment"]


def test_a_remittance_names_a_payment_of_its_creditor() -> None:
    remittance = VALID["remittances"]
    result = staged(
        "remittances",
        [remittance, {**remittance, "remittance_ref": "R2", "creditor_ref": "CR2"}],
        placements=[PLACEMENT, {**PLACEMENT, "creditor_ref": "CR2"}],
        payments=[PAYMENT],
    )
    assert result.reasons == [None, "unknown_payment"]


# --- duplicates ---------------------------------------------------------------------------------


def test_the_earliest_received_row_is_kept_whatever_the_file_order() -> None:
    first, second = VALID["fees"], {**VALID["fees"], "amount": "41,00"}
    result = staged(
        "fees",
        [{**first, "file": 0}, {**second, "file": 1}],
        files=[{"received_date": LATER}, {"received_date": RECEIVED}],
    )
    assert result.reasons == ["conflicting_duplicate", None]
    assert result.staged["amount_cents"].to_list() == [4100]


def test_a_duplicate_in_the_same_file_keeps_the_first_line() -> None:
    result = staged("debtor_events", [VALID["debtor_events"], VALID["debtor_events"]])
    assert result.reasons == [None, "duplicate_row"]


def test_a_rejected_row_does_not_hide_a_later_valid_one() -> None:
    result = staged("fees", [{**VALID["fees"], "amount": "x"}, VALID["fees"]])
    assert result.reasons == ["bad_amount", None]


def test_defaults_count_in_the_duplicate_comparison() -> None:
    event = VALID["debtor_events"]
    result = staged("debtor_events", [event, {**event, "status": "START"}])
    assert result.reasons == [None, "duplicate_row"]


# --- money --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "decimal_mark", "thousands_sep", "cents", "reason"),
    [
        ("1 234,56", ",", " ", 123456, None),
        ("1\u00a0234,56", ",", "\u00a0", 123456, None),
        ("1\u202f234,56 €", ",", "\u202f", 123456, None),
        ("1.234,56", ",", ".", 123456, None),
        ("1234.5", ".", "", 123450, None),
        ("1,234.50", ".", ",", 123450, None),
        ("EUR 99", ".", "", 9900, None),
        ("1.00E+05", ".", "", 10000000, None),
        ("1,5E+03", ",", "", 150000, None),
        ("1.23456E+02", ".", "", None, "inexact_amount"),
        ("12.345", ".", "", None, "inexact_amount"),
        ("abc", ".", "", None, "bad_amount"),
        ("1.234,56", ".", ",", None, "bad_amount"),
        ("12,34", ".", "", None, "bad_amount"),
        ("-5,00", ",", "", None, "negative_amount"),
        ("(5,00)", ",", "", None, "negative_amount"),
        ("5,00-", ",", "", None, "negative_amount"),
        ("0", ",", "", None, "negative_amount"),
    ],
)
def test_placement_amounts_in_the_files_dialect(
    amount: str, decimal_mark: str, thousands_sep: str, cents: int | None, reason: str | None
) -> None:
    dialect = {"decimal_mark": decimal_mark, "thousands_sep": thousands_sep}
    result = staged("placements", [{**PLACEMENT, "amount": amount}], files=[dialect])
    assert result.reasons == [reason]
    if cents is not None:
        assert result.staged["amount_cents"].to_list() == [cents]


def test_the_files_currency_applies_when_the_row_has_none() -> None:
    result = staged(
        "placements",
        [PLACEMENT, {**PLACEMENT, "invoice_ref": "F2", "currency": " xpf "}],
        files=[{"currency": "chf"}],
    )
    assert result.staged["currency"].to_list() == ["CHF", "XPF"]


# --- phones and e-mails -------------------------------------------------------------------------

PHONES: list[tuple[str, str | None]] = [
    ("06 12 34 56 78", "+33612345678"),  # Paris mobile
    ("01.42.68.53.00", "+33142685300"),  # Paris landline
    ("0692 12 34 56", "+262692123456"),  # Réunion mobile
    ("0262 16 12 34", "+262262161234"),  # Réunion landline
    ("0690 00 12 34", "+590690001234"),  # Guadeloupe mobile
    ("0590 20 12 34", "+590590201234"),  # Guadeloupe landline
    ("0696 20 12 34", "+596696201234"),  # Martinique mobile
    ("0596 30 12 34", "+596596301234"),  # Martinique landline
    ("0694 20 12 34", "+594694201234"),  # Guyane mobile
    ("0594 10 12 34", "+594594101234"),  # Guyane landline
    ("0639 01 23 45", "+262639012345"),  # Mayotte mobile
    ("0269 60 12 34", "+262269601234"),  # Mayotte landline
    ("+33 6 12 34 56 78", "+33612345678"),
    ("0033 6 12 34 56 78", "+33612345678"),
    ("33612345678", "+33612345678"),
    ("06 12", None),  # invalid: NULL, row kept
]


def test_phones_become_e164_and_an_invalid_one_is_null() -> None:
    rows = [
        {**PLACEMENT, "invoice_ref": f"F{n}", "phone": text} for n, (text, _) in enumerate(PHONES)
    ]
    result = staged("placements", rows)
    assert result.reasons == [None] * len(PHONES)
    assert result.staged["phone"].to_list() == [e164 for _, e164 in PHONES]


def test_a_phone_in_scientific_notation_is_quarantined() -> None:
    result = staged("placements", [{**PLACEMENT, "phone_2": "6.12E+08"}])
    assert result.reasons == ["scientific_notation"]


def test_the_files_phone_region_is_the_default() -> None:
    result = staged(
        "placements", [{**PLACEMENT, "phone": "0692 12 34 56"}], files=[{"phone_region": "re"}]
    )
    assert result.staged["phone"].to_list() == ["+262692123456"]


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        (" Jean.Dupont@Example.FR ", "jean.dupont@example.fr"),
        ("jean.dupont@", None),
        ("jean dupont@example.fr", None),
    ],
)
def test_an_invalid_email_is_null_and_the_row_kept(email: str, expected: str | None) -> None:
    result = staged("placements", [{**PLACEMENT, "email": email}])
    assert result.reasons == [None]
    assert result.staged["email"].to_list() == [expected]


# --- time ---------------------------------------------------------------------------------------


def test_an_explicit_offset_is_honoured_and_its_paris_date_compared() -> None:
    action = VALID["actions"]
    result = staged(
        "actions",
        [
            {**action, "action_at": "2026-01-31T23:30:00+01:00"},
            {**action, "action_ref": "A2", "action_at": "2026-01-31T23:30:00-05:00"},
        ],
    )
    assert result.reasons == [None, "date_after_received"]
    assert result.staged["action_at"].to_list() == [dt.datetime(2026, 1, 31, 22, 30)]


def test_local_time_uses_the_files_time_zone() -> None:
    result = staged(
        "actions",
        [{**VALID["actions"], "action_at": "12/01/2026 10:15"}],
        files=[{"timezone": "Indian/Reunion"}],
    )
    assert result.staged["action_at"].to_list() == [dt.datetime(2026, 1, 12, 6, 15)]


def test_each_decision_time_is_read_in_its_own_files_time_zone() -> None:
    decision = VALID["decisions"]
    result = staged(
        "decisions",
        [
            {**decision, "file": 0},
            {**decision, "iso_week": "2026-W03", "file": 1},
            {**decision, "iso_week": "2026-W04", "decided_at": None, "file": 0},
        ],
        files=[{}, {"timezone": "Indian/Reunion"}],
    )
    assert result.reasons == [None, None, None]
    assert result.staged.sort("iso_week")["decided_at"].to_list() == [
        dt.datetime(2026, 1, 5, 5, 0),
        dt.datetime(2026, 1, 5, 2, 0),
        None,
    ]


def test_an_unknown_time_zone_makes_every_timestamp_bad() -> None:
    result = staged("actions", [VALID["actions"]], files=[{"timezone": "Europe/Atlantis"}])
    assert result.reasons == ["bad_timestamp"]


def test_a_bare_date_is_local_midnight() -> None:
    result = staged("payments", [{**PAYMENT, "paid_at": "10/01/2026"}])
    assert result.staged["paid_at"].to_list() == [dt.datetime(2026, 1, 9, 23, 0)]


def test_the_files_date_format_is_used() -> None:
    result = staged(
        "placements",
        [{**PLACEMENT, "placed_date": "01/05/2026", "due_date": "12/31/2025"}],
        files=[{"date_format": "%m/%d/%Y"}],
    )
    assert result.staged["placed_date"].to_list() == [dt.date(2026, 1, 5)]
