"""core.* on tiny literal staging rows: ids, identity, lineage and each table's rules."""

from __future__ import annotations

import datetime as dt
import hashlib

import polars as pl
import pytest

from pipelines.settings import load_settings
from pipelines.warehouse import CORE_STEPS, connect
from tests.pipelines.staged_rows import (
    action,
    built,
    decision,
    payment,
    placement,
    rows_as_dicts,
    staging_columns,
)

D = dt.date.fromisoformat


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


@pytest.fixture
def build():
    """``build(rows)`` → a connection with staging, core and marts built from ``rows``."""
    connections = []

    def _build(rows):
        con = connect(":memory:", load_settings())
        connections.append(con)
        built(con, load_settings(), rows)
        return con

    yield _build
    for con in connections:
        con.close()


def test_every_core_table_builds_on_empty_staging(build):
    con = build({})
    for name in CORE_STEPS:
        assert rows_as_dicts(con, f"select count(*) as n from core.{name}") == [{"n": 0}]


def test_staging_helper_has_the_contract_schema():
    from pipelines.kinds import KINDS

    payments = dict(staging_columns(KINDS["payments"]))
    assert payments["amount_cents"] == "bigint"
    assert payments["paid_at"] == "timestamp"
    assert payments["is_reversal"] == "boolean"
    assert "amount" not in payments
    assert dict(staging_columns(KINDS["account_status"]))["status_month"] == "date"


# -- ids and identity ---------------------------------------------------------------------------


def test_ids_are_md5_of_natural_keys(build):
    con = build({"placements": [placement("K1", "C1")]})
    case = rows_as_dicts(con, "select case_id, creditor_id, debtor_id from core.cases")[0]
    assert case["case_id"] == md5("C1|K1")
    assert case["creditor_id"] == md5("C1")
    assert case["debtor_id"] == md5("cred|C1|D-K1")
    invoice = rows_as_dicts(con, "select invoice_id from core.invoices")[0]
    assert invoice["invoice_id"] == md5("C1|K1|K1-I1")


def test_debtor_with_cases_at_two_creditors_sharing_a_key_is_one_debtor(build):
    con = build(
        {
            "placements": [
                placement("K1", "C1", debtor_ref="A-17", debtor_key="SIREN123"),
                placement("K9", "C2", debtor_ref="B-900", debtor_key="SIREN123"),
                placement("K5", "C2", debtor_ref="B-901"),
            ]
        }
    )
    debtors = rows_as_dicts(
        con, "select debtor_id, debtor_key, n_cases, n_creditors from core.debtors order by 3 desc"
    )
    assert debtors[0] == {
        "debtor_id": md5("key|SIREN123"),
        "debtor_key": "SIREN123",
        "n_cases": 2,
        "n_creditors": 2,
    }
    assert len(debtors) == 2
    by_case = {
        r["case_ref"]: r["debtor_id"]
        for r in rows_as_dicts(con, "select case_ref, debtor_id from core.cases")
    }
    assert by_case["K1"] == by_case["K9"] != by_case["K5"]


def test_same_debtor_ref_at_two_creditors_without_a_key_is_two_debtors(build):
    con = build(
        {
            "placements": [
                placement("K1", "C1", debtor_ref="X"),
                placement("K2", "C2", debtor_ref="X"),
            ]
        }
    )
    assert rows_as_dicts(con, "select count(*) as n from core.debtors") == [{"n": 2}]


def test_a_key_sent_in_a_later_file_joins_the_earlier_case(build):
    con = build(
        {
            "placements": [
                placement("K1", "C1", debtor_ref="A", received_date="2026-01-05"),
                placement(
                    "K2",
                    "C1",
                    debtor_ref="A",
                    debtor_key="KEY-1",
                    placed_date="2026-02-01",
                    received_date="2026-02-02",
                ),
                placement("K3", "C2", debtor_ref="Z", debtor_key="KEY-1"),
            ]
        }
    )
    ids = {r["debtor_id"] for r in rows_as_dicts(con, "select debtor_id from core.cases")}
    assert ids == {md5("key|KEY-1")}


@pytest.mark.parametrize(
    ("postcode", "country", "department", "tz"),
    [
        ("75011", None, "75", "Europe/Paris"),
        ("1000", "FR", "01", "Europe/Paris"),
        ("20000", None, "2A", "Europe/Paris"),
        ("20250", None, "2B", "Europe/Paris"),
        ("97110", None, "971", "America/Guadeloupe"),
        ("97200", None, "972", "America/Martinique"),
        ("97300", None, "973", "America/Cayenne"),
        ("97400", None, "974", "Indian/Reunion"),
        ("97500", None, "975", "America/Miquelon"),
        ("97600", None, "976", "Indian/Mayotte"),
        ("97133", None, "977", "America/St_Barthelemy"),
        ("97150", None, "978", "America/Marigot"),
        (None, "RE", "974", "Indian/Reunion"),
        (None, None, None, "Europe/Paris"),
        ("1000", "BE", None, "Europe/Paris"),
    ],
)
def test_department_and_time_zone_from_postcode(build, postcode, country, department, tz):
    con = build({"placements": [placement(postcode=postcode, country=country)]})
    debtor = rows_as_dicts(con, "select department, tz from core.debtors")[0]
    assert debtor == {"department": department, "tz": tz}


def test_debtor_attributes_are_the_latest_received(build):
    con = build(
        {
            "placements": [
                placement("K1", debtor_key="K", debtor_name="Old", postcode="75011"),
                placement(
                    "K2",
                    debtor_key="K",
                    debtor_name="New",
                    postcode=None,
                    placed_date="2026-03-01",
                ),
            ]
        }
    )
    debtor = rows_as_dicts(
        con, "select display_name, postcode, first_received_date from core.debtors"
    )[0]
    assert debtor == {
        "display_name": "New",
        "postcode": "75011",
        "first_received_date": D("2026-01-05"),
    }


# -- contact points -----------------------------------------------------------------------------


def test_contact_points_and_their_invalidation(build):
    con = build(
        {
            "placements": [
                placement(phone="+33612345678", phone_2="+33145454545", email="a@ex.fr"),
            ],
            "actions": [
                action(
                    "A1",
                    "2026-01-10 09:00:00",
                    "call",
                    phone="+33145454545",
                    outcome="wrong_party",
                    received_date="2026-01-12",
                ),
                action(
                    "A2", "2026-01-11 09:00:00", "call", phone="+33699999999", outcome="right_party"
                ),
                action("A3", "2026-01-12 09:00:00", "email", outcome="bounced"),
            ],
        }
    )
    points = {
        r["value"]: r
        for r in rows_as_dicts(
            con,
            "select value, channel, phone_type, is_valid, source, first_seen_date, "
            "invalidated_date, invalidated_received_date from core.contact_points",
        )
    }
    assert set(points) == {"+33612345678", "+33145454545", "+33699999999", "a@ex.fr"}
    assert points["+33612345678"]["is_valid"] is True
    assert points["+33612345678"]["phone_type"] == "mobile"
    assert points["+33145454545"]["phone_type"] == "fixed"
    assert points["+33145454545"]["is_valid"] is False
    assert points["+33145454545"]["invalidated_date"] == D("2026-01-10")
    assert points["+33145454545"]["invalidated_received_date"] == D("2026-01-12")
    assert points["+33699999999"]["source"] == "action"
    assert points["+33699999999"]["is_valid"] is True
    assert points["a@ex.fr"]["is_valid"] is False
    assert points["a@ex.fr"]["phone_type"] is None


def test_an_email_first_seen_after_a_bounce_stays_valid(build):
    con = build(
        {
            "placements": [
                placement("K1"),
                placement("K2", debtor_ref="D-K1", email="new@ex.fr", placed_date="2026-02-01"),
            ],
            "actions": [action("A3", "2026-01-12 09:00:00", "email", outcome="bounced")],
        }
    )
    assert rows_as_dicts(con, "select value, is_valid from core.contact_points") == [
        {"value": "new@ex.fr", "is_valid": True}
    ]


def test_a_wrong_number_blocks_calls_from_when_it_is_known_until_a_newer_number_arrives(build):
    """The phone team's wrong number (an ``actions`` row naming the number dialled, outcome
    wrong_party) invalidates that number for the debtor's every case; eligibility sees it only
    once the call happened and its file was received before as_of, and a newer number makes the
    debtor callable again."""
    from pipelines import rules

    con = build(
        {
            "placements": [
                placement("K1", phone="+33612345678"),
                placement("K2", debtor_ref="D-K1", phone="+33698765432", placed_date="2026-03-02"),
            ],
            "actions": [
                action(
                    "PT1",
                    "2026-02-02 10:15:00",
                    "call",
                    phone="+33612345678",
                    outcome="wrong_party",
                    received_date="2026-02-06",
                ),
            ],
        }
    )
    settings = load_settings()

    def k1(as_of: str) -> dict:
        rows = rules.eligibility(con, D(as_of), settings).filter(pl.col("case_ref") == "K1")
        return rows.select("can_call", "can_sms", "channel_blocks").to_dicts()[0]

    assert k1("2026-02-02")["can_call"] is True  # the call is that day
    assert k1("2026-02-06")["can_call"] is True  # its file arrives that day
    blocked = k1("2026-02-09")
    assert (blocked["can_call"], blocked["can_sms"]) == (False, False)
    assert {"call:no_valid_phone", "sms:no_valid_mobile"} <= set(blocked["channel_blocks"])
    assert k1("2026-03-09")["can_call"] is True  # the number placed with K2 on 2026-03-02
    points = rows_as_dicts(con, "select value, is_valid from core.contact_points order by value")
    assert points == [
        {"value": "+33612345678", "is_valid": False},
        {"value": "+33698765432", "is_valid": True},
    ]


# -- cases and invoices -------------------------------------------------------------------------


def test_case_amounts_and_corrections(build):
    con = build(
        {
            "placements": [
                placement(invoice_ref="I1", amount_cents=15_000),
                placement(invoice_ref="I2", amount_cents=5_000, due_date="2025-10-01"),
            ],
            "case_updates": [
                {
                    "creditor_ref": "C1",
                    "case_ref": "K1",
                    "update_ref": "U1",
                    "update_date": "2026-01-20",
                    "update_type": "amount_correction",
                    "invoice_ref": "I2",
                    "amount_cents": -2_000,
                },
            ],
        }
    )
    case = rows_as_dicts(
        con,
        "select placed_amount_cents, correction_cents, corrected_amount_cents, n_invoices, "
        "oldest_due_date, status from core.cases",
    )[0]
    assert case == {
        "placed_amount_cents": 20_000,
        "correction_cents": -2_000,
        "corrected_amount_cents": 18_000,
        "n_invoices": 2,
        "oldest_due_date": D("2025-10-01"),
        "status": "open",
    }
    invoices = rows_as_dicts(
        con, "select invoice_ref, corrected_amount_cents from core.invoices order by 1"
    )
    assert invoices == [
        {"invoice_ref": "I1", "corrected_amount_cents": 15_000},
        {"invoice_ref": "I2", "corrected_amount_cents": 3_000},
    ]


def _update(ref: str, day: str, kind: str, **columns):
    return {
        "creditor_ref": "C1",
        "case_ref": "K1",
        "update_ref": ref,
        "update_date": day,
        "update_type": kind,
        **columns,
    }


@pytest.mark.parametrize(
    ("updates", "status", "closed_date"),
    [
        ([], "open", None),
        ([_update("U1", "2026-02-01", "closure")], "closed", D("2026-02-01")),
        ([_update("U1", "2026-02-01", "recall")], "recalled", D("2026-02-01")),
        (
            [_update("U1", "2026-02-01", "closure"), _update("U2", "2026-02-10", "reopen")],
            "open",
            None,
        ),
        ([_update("U1", "2026-02-01", "title_obtained")], "open", None),
    ],
)
def test_case_status_is_the_latest_status_update(build, updates, status, closed_date):
    con = build({"placements": [placement()], "case_updates": updates})
    case = rows_as_dicts(con, "select status, closed_date from core.cases")[0]
    assert case == {"status": status, "closed_date": closed_date}


def test_title_obtained_for_the_whole_case_reaches_every_invoice(build):
    con = build(
        {
            "placements": [
                placement(invoice_ref="I1"),
                placement(invoice_ref="I2", title_date="2025-12-01"),
            ],
            "case_updates": [
                _update("U1", "2026-03-01", "title_obtained", received_date="2026-03-04")
            ],
        }
    )
    invoices = rows_as_dicts(
        con, "select invoice_ref, title_date, title_received_date from core.invoices order by 1"
    )
    assert invoices == [
        {
            "invoice_ref": "I1",
            "title_date": D("2026-03-01"),
            "title_received_date": D("2026-03-04"),
        },
        {
            "invoice_ref": "I2",
            "title_date": D("2025-12-01"),
            "title_received_date": D("2026-01-05"),
        },
    ]


# -- payments -----------------------------------------------------------------------------------


def test_a_reversal_is_linked_to_the_payment_it_reverses_and_netted(build):
    con = build(
        {
            "placements": [placement()],
            "payments": [
                payment("P1", "2026-01-20 10:00:00", 3_000),
                payment("P2", "2026-01-22 10:00:00", 1_000),
                payment("R1", "2026-01-25 10:00:00", 3_000, reverses_ref="P1"),
                # same payment_ref from another reporter: the reversal links to its own reporter's
                payment("P1", "2026-01-21 10:00:00", 500, reported_by="creditor"),
            ],
        }
    )
    rows = {
        (r["reported_by"], r["payment_ref"]): r
        for r in rows_as_dicts(
            con,
            "select reported_by, payment_ref, payment_id, amount_cents, is_reversal, "
            "reverses_payment_id, reversed_cents, is_fully_reversed from core.payments",
        )
    }
    reversal = rows[("provider", "R1")]
    assert reversal["amount_cents"] == -3_000
    assert reversal["is_reversal"] is True
    assert reversal["reverses_payment_id"] == md5("provider|C1|P1")
    assert rows[("provider", "P1")]["payment_id"] == md5("provider|C1|P1")
    assert rows[("provider", "P1")]["is_fully_reversed"] is True
    assert rows[("provider", "P1")]["reversed_cents"] == 3_000
    assert rows[("creditor", "P1")]["reversed_cents"] == 0
    assert rows[("provider", "P2")]["reverses_payment_id"] is None
    net = rows_as_dicts(con, "select sum(amount_cents)::bigint as net from core.payments")
    assert net == [{"net": 3_000 + 1_000 - 3_000 + 500}]


@pytest.mark.parametrize(
    ("paid_at", "paid_date"),
    [
        ("2026-01-31 22:59:00", D("2026-01-31")),  # 23:59 in Paris (winter, UTC+1)
        ("2026-01-31 23:30:00", D("2026-02-01")),  # 00:30 in Paris
        ("2026-07-31 21:59:00", D("2026-07-31")),  # 23:59 in Paris (summer, UTC+2)
        ("2026-07-31 22:00:00", D("2026-08-01")),
    ],
)
def test_paid_date_is_the_paris_date(build, paid_at, paid_date):
    con = build({"placements": [placement()], "payments": [payment("P1", paid_at, 100)]})
    assert rows_as_dicts(con, "select paid_date from core.payments") == [{"paid_date": paid_date}]


# -- actions and decisions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "tone", "direction", "expected"),
    [
        ("sms", "nudge", None, "sms_nudge"),
        ("sms", None, "outbound", "sms_nudge"),
        ("email", "nudge", None, "email_nudge"),
        ("email", "formal", None, "email_formal"),
        ("call", "nudge", None, "call_nudge"),
        ("call", "formal", None, "call_formal"),
        ("letter", "formal", None, "letter_formal"),
        ("letter", "notice", None, "formal_notice"),
        ("call", "nudge", "inbound", None),
        ("visit", "formal", None, None),
        ("email", None, None, None),
    ],
)
def test_action_names(build, channel, tone, direction, expected):
    con = build(
        {
            "placements": [placement()],
            "actions": [
                action("A1", "2026-01-10 09:00:00", channel, tone=tone, direction=direction)
            ],
        }
    )
    row = rows_as_dicts(con, "select action, is_attempt, direction from core.actions")[0]
    assert row["action"] == expected
    assert row["is_attempt"] is (direction != "inbound")


def test_right_party_contact_flag(build):
    con = build(
        {
            "placements": [placement()],
            "actions": [
                action("A1", "2026-01-10 09:00:00", "call", outcome="right_party"),
                action("A2", "2026-01-11 09:00:00", "call", outcome="callback_requested"),
                action("A3", "2026-01-12 09:00:00", "call"),
            ],
        }
    )
    flags = rows_as_dicts(
        con, "select action_ref, is_right_party_contact from core.actions order by 1"
    )
    assert [f["is_right_party_contact"] for f in flags] == [True, False, False]


@pytest.mark.parametrize(
    ("iso_week", "monday"),
    [("2026-W01", D("2025-12-29")), ("2021-W01", D("2021-01-04")), ("2026-W47", D("2026-11-16"))],
)
def test_decision_week_start(build, iso_week, monday):
    con = build(
        {
            "placements": [placement()],
            "decisions": [decision(iso_week)],
        }
    )
    assert rows_as_dicts(con, "select week_start_date from core.decisions") == [
        {"week_start_date": monday}
    ]


def test_decision_id_is_computed_when_read_and_never_stored(build):
    con = build(
        {
            "placements": [placement()],
            "decisions": [decision("2026-W47")],
        }
    )
    assert rows_as_dicts(con, "select decision_id from core.decisions") == [
        {"decision_id": md5("C1|K1|2026-W47")}
    ]
    generated = rows_as_dicts(
        con,
        "select column_name, column_default is not null as generated "
        "from information_schema.columns "
        "where table_schema = 'core' and table_name = 'decisions' order by ordinal_position",
    )
    assert generated[0] == {"column_name": "decision_id", "generated": True}
    assert not any(c["generated"] for c in generated[1:])


def test_a_decision_names_its_case_and_takes_debtor_and_creditor_from_it(build):
    con = build(
        {
            "placements": [placement(), placement("K2")],
            "decisions": [decision("2026-W47"), decision("2026-W47", case_ref="K2")],
        }
    )
    columns = {r["column_name"] for r in rows_as_dicts(con, "describe core.decisions")}
    assert "case_id" in columns
    assert not columns & {"debtor_id", "creditor_id"}
    assert rows_as_dicts(
        con,
        "select d.case_ref, d.case_id = c.case_id as same_case, c.debtor_ref "
        "from core.decisions as d join core.cases as c using (case_id) order by 1",
    ) == [
        {"case_ref": "K1", "same_case": True, "debtor_ref": "D-K1"},
        {"case_ref": "K2", "same_case": True, "debtor_ref": "D-K2"},
    ]


def test_per_fact_ids_are_stored_plain_and_low_cardinality_ids_compressed(build):
    con = build(
        {
            "placements": [placement()],
            "actions": [
                action(f"A{i}", f"2026-11-{10 + i % 5:02d}T09:00:00", "sms") for i in range(50)
            ],
        }
    )
    con.execute("checkpoint")
    compression = dict(
        con.execute(
            "select column_name, string_agg(distinct compression, ',') "
            "from pragma_storage_info('core.actions') "
            "where segment_type = 'VARCHAR' group by column_name"
        ).fetchall()
    )
    assert {compression[c] for c in ("action_id", "case_id", "debtor_id")} == {"Uncompressed"}
    assert compression["creditor_id"] != "Uncompressed"


# -- promises and plans -------------------------------------------------------------------------


def _promise(ref: str, made: str, due: str, amount: int, **columns):
    return {
        "promise_ref": ref,
        "creditor_ref": "C1",
        "case_ref": "K1",
        "made_date": made,
        "due_date": due,
        "amount_cents": amount,
        **columns,
    }


@pytest.mark.parametrize(
    ("payments", "paid_by_due", "is_kept", "kept_date"),
    [
        ([payment("P1", "2026-02-10 10:00:00", 5_000)], 5_000, True, D("2026-02-10")),
        (
            [
                payment("P1", "2026-02-03 10:00:00", 2_000),
                payment("P2", "2026-02-14 10:00:00", 3_000),
            ],
            5_000,
            True,
            D("2026-02-14"),
        ),
        ([payment("P1", "2026-02-16 10:00:00", 5_000)], 0, False, None),  # after the due date
        ([payment("P1", "2026-02-10 10:00:00", 4_999)], 4_999, False, None),  # short
        (
            [
                payment("P1", "2026-02-10 10:00:00", 5_000),
                payment("R1", "2026-02-12 10:00:00", 5_000, reverses_ref="P1"),
            ],
            0,
            False,
            None,
        ),
    ],
)
def test_promise_kept_by_its_due_date(build, payments, paid_by_due, is_kept, kept_date):
    con = build(
        {
            "placements": [placement()],
            "payments": payments,
            "promises": [_promise("PR1", "2026-02-01", "2026-02-15", 5_000, action_ref="A9")],
        }
    )
    row = rows_as_dicts(
        con, "select paid_by_due_cents, is_kept, kept_date, action_id from core.promises"
    )[0]
    assert row == {
        "paid_by_due_cents": paid_by_due,
        "is_kept": is_kept,
        "kept_date": kept_date,
        "action_id": md5("A9"),
    }


def _plan_event(event: str, day: str, **columns):
    return {
        "plan_ref": "PL1",
        "creditor_ref": "C1",
        "case_ref": "K1",
        "event_date": day,
        "event": event,
        **columns,
    }


@pytest.mark.parametrize(
    ("amount", "instalments"), [(10_000, 3), (100, 7), (1, 1), (99_999, 12), (5, 6)]
)
def test_plan_instalments_sum_exactly_to_the_plan_amount(build, amount, instalments):
    con = build(
        {
            "placements": [placement()],
            "plans": [
                _plan_event(
                    "agreed",
                    "2026-02-01",
                    plan_amount_cents=amount,
                    instalments=instalments,
                    first_due_date="2026-02-10",
                    frequency_days=14,
                )
            ],
        }
    )
    rows = rows_as_dicts(
        con,
        "select instalment_no, due_date, amount_cents from core.plan_instalments order by 1",
    )
    assert [r["instalment_no"] for r in rows] == list(range(1, instalments + 1))
    assert sum(r["amount_cents"] for r in rows) == amount
    assert len({r["amount_cents"] for r in rows[:-1]}) <= 1
    assert rows[-1]["due_date"] == D("2026-02-10") + dt.timedelta(days=14 * (instalments - 1))


def test_plan_instalments_default_to_monthly_from_the_agreed_date_and_are_paid_in_order(build):
    con = build(
        {
            "placements": [placement()],
            "plans": [_plan_event("agreed", "2026-02-01", plan_amount_cents=10_000, instalments=3)],
            "payments": [
                payment("P0", "2026-01-20 10:00:00", 9_000),  # before the plan: not applied
                payment("P1", "2026-02-01 10:00:00", 3_333),
                payment("P2", "2026-03-05 10:00:00", 4_000, received_date="2026-03-09"),
            ],
        }
    )
    rows = rows_as_dicts(
        con,
        "select instalment_no, due_date, amount_cents, paid_date, paid_received_date, "
        "is_paid_on_time from core.plan_instalments order by 1",
    )
    assert rows == [
        {
            "instalment_no": 1,
            "due_date": D("2026-02-01"),
            "amount_cents": 3_333,
            "paid_date": D("2026-02-01"),
            "paid_received_date": D("2026-02-01"),
            "is_paid_on_time": True,
        },
        {
            "instalment_no": 2,
            "due_date": D("2026-03-03"),
            "amount_cents": 3_333,
            "paid_date": D("2026-03-05"),
            "paid_received_date": D("2026-03-09"),
            "is_paid_on_time": False,
        },
        {
            "instalment_no": 3,
            "due_date": D("2026-04-02"),
            "amount_cents": 3_334,
            "paid_date": None,
            "paid_received_date": None,
            "is_paid_on_time": False,
        },
    ]


@pytest.mark.parametrize(
    ("later", "status", "status_date"),
    [
        ([], "active", D("2026-02-01")),
        ([_plan_event("broken", "2026-04-01")], "broken", D("2026-04-01")),
        (
            [_plan_event("broken", "2026-04-01"), _plan_event("cancelled", "2026-05-01")],
            "cancelled",
            D("2026-05-01"),
        ),
        ([_plan_event("completed", "2026-06-01")], "completed", D("2026-06-01")),
    ],
)
def test_plan_status_from_later_events(build, later, status, status_date):
    agreed = _plan_event("agreed", "2026-02-01", plan_amount_cents=900, instalments=3)
    con = build({"placements": [placement()], "plans": [agreed, *later]})
    row = rows_as_dicts(
        con,
        "select status, status_date, agreed_received_date, frequency_days, first_due_date "
        "from core.payment_plans",
    )[0]
    assert row == {
        "status": status,
        "status_date": status_date,
        "agreed_received_date": D("2026-02-01"),
        "frequency_days": 30,
        "first_due_date": D("2026-02-01"),
    }


# -- disputes, complaints, debtor events --------------------------------------------------------


def test_dispute_events_pair_into_one_row(build):
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
                    "reason": "amount",
                    "received_date": "2026-02-02",
                },
                {
                    "dispute_ref": "DS1",
                    "creditor_ref": "C1",
                    "case_ref": "K1",
                    "event_date": "2026-02-10",
                    "event": "resolved",
                    "resolution": "corrected",
                    "received_date": "2026-02-20",
                },
                {
                    "dispute_ref": "DS2",
                    "creditor_ref": "C1",
                    "case_ref": "K1",
                    "event_date": "2026-03-01",
                    "event": "opened",
                },
            ],
        }
    )
    rows = rows_as_dicts(
        con,
        "select dispute_ref, opened_date, opened_received_date, resolved_date, "
        "resolved_received_date, reason, resolution, is_open from core.disputes order by 1",
    )
    assert rows == [
        {
            "dispute_ref": "DS1",
            "opened_date": D("2026-02-01"),
            "opened_received_date": D("2026-02-02"),
            "resolved_date": D("2026-02-10"),
            "resolved_received_date": D("2026-02-20"),
            "reason": "amount",
            "resolution": "corrected",
            "is_open": False,
        },
        {
            "dispute_ref": "DS2",
            "opened_date": D("2026-03-01"),
            "opened_received_date": D("2026-03-01"),
            "resolved_date": None,
            "resolved_received_date": None,
            "reason": None,
            "resolution": None,
            "is_open": True,
        },
    ]


def test_complaints_pair_opened_and_closed(build):
    con = build(
        {
            "placements": [placement()],
            "complaints": [
                {
                    "complaint_ref": "CP1",
                    "creditor_ref": "C1",
                    "case_ref": "K1",
                    "event_date": "2026-02-01",
                    "event": "opened",
                    "channel": "call",
                    "reason": "pressure",
                },
                {
                    "complaint_ref": "CP1",
                    "creditor_ref": "C1",
                    "case_ref": "K1",
                    "event_date": "2026-02-05",
                    "event": "closed",
                },
            ],
        }
    )
    rows = rows_as_dicts(
        con, "select opened_date, closed_date, channel, reason, is_open from core.complaints"
    )
    assert rows == [
        {
            "opened_date": D("2026-02-01"),
            "closed_date": D("2026-02-05"),
            "channel": "call",
            "reason": "pressure",
            "is_open": False,
        }
    ]


def _debtor_event(ref: str, case_ref: str, day: str, status: str | None = None, **columns):
    return {
        "event_ref": ref,
        "creditor_ref": "C1",
        "case_ref": case_ref,
        "event_date": day,
        "event_type": "over_indebtedness",
        "status": status,
        **columns,
    }


def test_debtor_event_reported_on_two_cases_is_one_episode(build):
    con = build(
        {
            "placements": [
                placement("K1", debtor_ref="SAME"),
                placement("K2", debtor_ref="SAME"),
            ],
            "debtor_events": [
                _debtor_event("E1", "K1", "2026-02-01", received_date="2026-02-05"),
                _debtor_event("E2", "K2", "2026-02-03", "start"),
                _debtor_event("E3", "K2", "2026-05-01", "end"),
                _debtor_event("E4", "K1", "2026-07-01", "start"),
            ],
        }
    )
    rows = rows_as_dicts(
        con,
        "select debtor_id, start_date, start_received_date, end_date, is_active, n_reports "
        "from core.debtor_events order by start_date",
    )
    debtor_id = md5("cred|C1|SAME")
    assert rows == [
        {
            "debtor_id": debtor_id,
            "start_date": D("2026-02-01"),
            "start_received_date": D("2026-02-03"),
            "end_date": D("2026-05-01"),
            "is_active": False,
            "n_reports": 3,
        },
        {
            "debtor_id": debtor_id,
            "start_date": D("2026-07-01"),
            "start_received_date": D("2026-07-01"),
            "end_date": None,
            "is_active": True,
            "n_reports": 1,
        },
    ]


def test_case_events_log_every_kind_and_debtor_events_on_every_case(build):
    con = build(
        {
            "placements": [
                placement("K1", debtor_ref="SAME"),
                placement("K2", debtor_ref="SAME"),
            ],
            "payments": [
                payment("P1", "2026-01-20 10:00:00", 1_000),
                payment("R1", "2026-01-22 10:00:00", 1_000, reverses_ref="P1"),
            ],
            "actions": [action("A1", "2026-01-10 09:00:00", "call", outcome="right_party")],
            "promises": [_promise("PR1", "2026-01-10", "2026-01-25", 1_000)],
            "plans": [_plan_event("agreed", "2026-02-01", plan_amount_cents=900, instalments=3)],
            "case_updates": [_update("U1", "2026-02-02", "amount_correction", amount_cents=-50)],
            "debtor_events": [_debtor_event("E1", "K1", "2026-02-03")],
            "disputes": [
                {
                    "dispute_ref": "DS1",
                    "creditor_ref": "C1",
                    "case_ref": "K1",
                    "event_date": "2026-02-01",
                    "event": "opened",
                }
            ],
            "complaints": [
                {
                    "complaint_ref": "CP1",
                    "creditor_ref": "C1",
                    "case_ref": "K1",
                    "event_date": "2026-02-01",
                    "event": "opened",
                }
            ],
        }
    )
    rows = rows_as_dicts(
        con,
        "select case_ref, event_type, amount_cents, detail from core.case_events "
        "join core.cases using (case_id) order by case_ref, event_type",
    )
    k1 = {r["event_type"]: r for r in rows if r["case_ref"] == "K1"}
    assert set(k1) == {
        "placement",
        "payment",
        "reversal",
        "action",
        "promise",
        "plan_agreed",
        "amount_correction",
        "over_indebtedness_start",
        "dispute_opened",
        "complaint_opened",
    }
    assert k1["reversal"]["amount_cents"] == -1_000
    assert k1["action"]["detail"] == "call_nudge/outbound:right_party"
    assert k1["amount_correction"]["amount_cents"] == -50
    k2 = [r["event_type"] for r in rows if r["case_ref"] == "K2"]
    assert k2 == ["over_indebtedness_start", "placement"]


# -- money out: remittances, fees ---------------------------------------------------------------


def test_remittance_is_matched_to_its_payment(build):
    con = build(
        {
            "placements": [placement()],
            "payments": [payment("P1", "2026-01-20 10:00:00", 1_000)],
            "remittances": [
                {
                    "remittance_ref": "RM1",
                    "creditor_ref": "C1",
                    "case_ref": "K1",
                    "payment_ref": "P1",
                    "remitted_date": "2026-02-25",
                    "amount_cents": 1_000,
                },
            ],
        }
    )
    row = rows_as_dicts(con, "select payment_id, paid_date, days_held from core.remittances")[0]
    assert row == {
        "payment_id": md5("provider|C1|P1"),
        "paid_date": D("2026-01-20"),
        "days_held": 36,
    }


@pytest.mark.parametrize(
    ("title_date", "expected"), [(None, False), ("2026-02-01", True), ("2026-03-02", False)]
)
def test_fee_title_by_fee_date(build, title_date, expected):
    con = build(
        {
            "placements": [placement(title_date=title_date, received_date="2026-03-05")],
            "fees": [
                {
                    "fee_ref": "F1",
                    "creditor_ref": "C1",
                    "case_ref": "K1",
                    "fee_date": "2026-03-01",
                    "fee_type": "collection_fee",
                    "amount_cents": 1_500,
                }
            ],
        }
    )
    row = rows_as_dicts(con, "select debtor_type, has_title_by_fee_date from core.fees")[0]
    assert row == {"debtor_type": "individual", "has_title_by_fee_date": expected}


# -- lineage ------------------------------------------------------------------------------------

EVENT_TABLES = (
    "invoices",
    "payments",
    "actions",
    "decisions",
    "promises",
    "payment_plans",
    "plan_instalments",
    "disputes",
    "complaints",
    "debtor_events",
    "contact_preferences",
    "case_events",
    "remittances",
    "fees",
    "account_status",
    "labels",
    "experiments",
    "contact_points",
    "cases",
)


@pytest.mark.parametrize("table", EVENT_TABLES)
def test_event_tables_keep_knowledge_time_and_lineage(build, table):
    con = build({})
    columns = {
        r["column_name"]
        for r in rows_as_dicts(
            con,
            "select column_name from duckdb_columns() where schema_name = 'core' "
            "and table_name = ?",
            table,
        )
    }
    assert {"received_date", "source_file", "source_row"} <= columns


def test_money_columns_are_bigint(build):
    con = build({})
    wrong = rows_as_dicts(
        con,
        "select table_name, column_name, data_type from duckdb_columns() "
        "where schema_name in ('core', 'marts') and column_name like '%\\_cents' escape '\\' "
        "and data_type <> 'BIGINT'",
    )
    assert wrong == []
