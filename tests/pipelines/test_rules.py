"""The rules engine on tiny literal warehouses: one test per exclusion, cap, window and limitation
rule (with its negative case), and the compliance marts on planted rows.

Each test starts from an empty warehouse with the real core schema (copied, without rows, from the
shared small home's build), adds a handful of literal rows, installs the rules' tables and macros
exactly as a build does, and reads ``marts.eligibility`` / ``contact_budget`` / ``limitation``.
"""

from __future__ import annotations

from datetime import date, datetime, time

import duckdb
import polars as pl
import pytest

from pipelines import rules, warehouse
from pipelines.settings import load_settings

AS_OF = date(2026, 11, 16)  # a Monday
SETTINGS = load_settings(environ={})


@pytest.fixture(scope="module")
def core_schema(small_home_master) -> dict[str, str]:
    """``create table`` statements of every core table (and raw.files) of a real build."""
    path = (small_home_master / "builds" / "current").read_text().strip()
    con = duckdb.connect(str(small_home_master / "builds" / f"{path}.duckdb"), read_only=True)
    try:
        rows = con.sql(
            "select schema_name, table_name, sql from duckdb_tables() "
            "where schema_name = 'core' or (schema_name = 'raw' and table_name = 'files')"
        ).fetchall()
    finally:
        con.close()
    return {f"{s}.{t}": sql for s, t, sql in rows}


def insert(con, table: str, **values) -> None:
    """Insert one row, the columns not given left NULL."""
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    con.execute(f"insert into {table} ({names}) values ({marks})", list(values.values()))


def debtor(con, debtor_id: str, tz: str = "Europe/Paris", department: str = "75", **extra):
    insert(
        con,
        "core.debtors",
        debtor_id=debtor_id,
        debtor_type=extra.pop("debtor_type", "individual"),
        tz=tz,
        department=department,
        address_line=extra.pop("address_line", "1 rue de la Paix"),
        **extra,
    )
    for channel, phone_type in (("phone", "mobile"), ("email", None)):
        insert(
            con,
            "core.contact_points",
            contact_point_id=f"{debtor_id}-{channel}",
            debtor_id=debtor_id,
            channel=channel,
            phone_type=phone_type,
            is_valid=True,
            first_seen_date=date(2026, 1, 1),
            received_date=date(2026, 1, 2),
        )


def case(con, case_id: str, debtor_id: str, *, due: date = date(2026, 5, 1), **extra):
    debtor_type = extra.pop("debtor_type", "individual")
    creditor = extra.pop("creditor_id", "cr1")
    title = extra.pop("title_date", None)
    insert(
        con,
        "core.cases",
        case_id=case_id,
        creditor_id=creditor,
        debtor_id=debtor_id,
        creditor_ref=creditor.upper(),
        case_ref=case_id.upper(),
        debtor_type=debtor_type,
        placed_date=date(2026, 6, 1),
        received_date=date(2026, 6, 2),
        currency="EUR",
        status="open",
        **extra,
    )
    insert(
        con,
        "core.invoices",
        invoice_id=f"{case_id}-i1",
        case_id=case_id,
        invoice_ref="F1",
        due_date=due,
        placed_date=date(2026, 6, 1),
        received_date=date(2026, 6, 2),
        amount_cents=10_000,
        corrected_amount_cents=10_000,
        currency="EUR",
        title_date=title,
        title_received_date=title,
    )


def attempt(con, action_id: str, case_id: str, debtor_id: str, at: datetime, **extra):
    insert(
        con,
        "core.actions",
        action_id=action_id,
        action_ref=action_id.upper(),
        case_id=case_id,
        debtor_id=debtor_id,
        creditor_ref="CR1",
        case_ref=case_id.upper(),
        action_at=at,
        action_date=at.date(),
        channel=extra.pop("channel", "sms"),
        tone=extra.pop("tone", "nudge"),
        direction="outbound",
        outcome=extra.pop("outcome", "delivered"),
        is_attempt=True,
        received_date=at.date(),
        **extra,
    )


@pytest.fixture
def con(core_schema):
    """An in-memory warehouse with the core schema, one debtor d1 with one case c1."""
    con = warehouse.connect(":memory:", SETTINGS)
    con.execute("create schema core; create schema raw; create schema marts")
    for sql in core_schema.values():
        con.execute(sql)
    insert(
        con,
        "raw.files",
        file_id=1,
        source="s",
        kind="placements",
        source_file="f.csv",
        file_sha256="x",
        received_date=date(2026, 11, 15),
        rows=1,
    )
    insert(con, "core.creditors", creditor_id="cr1", creditor_ref="CR1", sector="telecom")
    debtor(con, "d1")
    case(con, "c1", "d1")
    yield con
    con.close()


def installed(con, settings=SETTINGS):
    """Install the rules' tables and macros as a build does."""
    warehouse.macros_installed(con, settings)
    return con


def eligibility_of(con, case_id: str = "c1", as_of: date = AS_OF, settings=SETTINGS) -> dict:
    frame = rules.eligibility(installed(con, settings), as_of, settings)
    return frame.filter(pl.col("case_id") == case_id).to_dicts()[0]


# -- exclusions --------------------------------------------------------------------------------


def test_a_clean_case_is_eligible_for_every_channel(con):
    row = eligibility_of(con)
    assert not row["is_excluded"] and row["primary_reason"] is None
    assert row["exclusion_reasons"] == [] and row["channel_blocks"] == []
    assert row["allowed_actions"] == list(rules.ACTIONS[:-1])  # no nudge yet: no formal notice


def _dispute(con):
    insert(
        con,
        "core.disputes",
        dispute_id="x1",
        case_id="c1",
        debtor_id="d1",
        opened_date=date(2026, 11, 2),
        opened_received_date=date(2026, 11, 3),
    )


def _debtor_event(kind):
    def plant(con):
        insert(
            con,
            "core.debtor_events",
            debtor_event_id=f"e-{kind}",
            debtor_id="d1",
            event_type=kind,
            start_date=date(2026, 10, 1),
            start_received_date=date(2026, 10, 2),
        )

    return plant


def _plan(con):
    insert(
        con,
        "core.payment_plans",
        plan_id="p1",
        case_id="c1",
        debtor_id="d1",
        agreed_date=date(2026, 10, 1),
        agreed_received_date=date(2026, 10, 2),
        plan_amount_cents=10_000,
        instalments=4,
    )
    insert(
        con,
        "core.plan_instalments",
        instalment_id="p1-1",
        plan_id="p1",
        case_id="c1",
        due_date=date(2026, 11, 1),
        amount_cents=2_500,
    )
    insert(
        con,
        "core.payments",
        payment_id="pay1",
        case_id="c1",
        debtor_id="d1",
        paid_date=date(2026, 10, 30),
        amount_cents=2_500,
        is_reversal=False,
        received_date=date(2026, 10, 31),
    )


def _promise(due: date):
    def plant(con):
        insert(
            con,
            "core.promises",
            promise_id="pr1",
            case_id="c1",
            debtor_id="d1",
            made_date=date(2026, 11, 5),
            due_date=due,
            amount_cents=5_000,
            is_kept=False,
            received_date=date(2026, 11, 6),
        )

    return plant


def _case_event(kind):
    def plant(con):
        insert(
            con,
            "core.case_events",
            case_id="c1",
            debtor_id="d1",
            event_type=kind,
            event_date=date(2026, 11, 1),
            received_date=date(2026, 11, 2),
        )

    return plant


def _paid_in_full(con):
    insert(
        con,
        "core.payments",
        payment_id="pay-all",
        case_id="c1",
        debtor_id="d1",
        paid_date=date(2026, 11, 2),
        amount_cents=10_000,
        is_reversal=False,
        received_date=date(2026, 11, 3),
    )


def _time_barred(con):
    con.execute("update core.invoices set due_date = date '2024-05-01' where case_id = 'c1'")


@pytest.mark.parametrize(
    ("reason", "plant"),
    [
        ("open_dispute", _dispute),
        ("over_indebtedness", _debtor_event("over_indebtedness")),
        ("insolvency", _debtor_event("insolvency")),
        ("deceased", _debtor_event("deceased")),
        ("represented", _debtor_event("represented")),
        ("vulnerable", _debtor_event("vulnerable")),
        ("plan_in_good_standing", _plan),
        ("promise_pending", _promise(date(2026, 11, 20))),
        ("promise_pending", _promise(date(2026, 11, 14))),  # due, but within the grace days
        ("closed", _case_event("closure")),
        ("recalled", _case_event("recall")),
        ("nothing_due", _paid_in_full),
        ("time_barred", _time_barred),
    ],
)
def test_each_exclusion_allows_only_wait_and_names_its_reason(con, reason, plant):
    plant(con)
    row = eligibility_of(con)
    assert row["is_excluded"] and row["primary_reason"] == reason
    assert row["exclusion_reasons"] == [reason]
    assert row["allowed_actions"] == ["wait"]
    assert row["is_specialist"] == (reason == "vulnerable")


@pytest.mark.parametrize(
    "plant",
    [
        _promise(date(2026, 11, 12)),  # fell due more than the grace days ago
        lambda con: (
            _dispute(con),
            con.execute(
                "update core.disputes set resolved_date = date '2026-11-10', "
                "resolved_received_date = date '2026-11-11'"
            ),
        ),
        lambda con: (
            _debtor_event("represented")(con),
            con.execute(
                "update core.debtor_events set end_date = date '2026-11-01', "
                "end_received_date = date '2026-11-02'"
            ),
        ),
        lambda con: (
            _plan(con),
            con.execute("delete from core.payments"),  # an instalment due and unpaid: broken
        ),
        lambda con: (
            _debtor_event("vulnerable")(con)
            or con.execute("update core.debtor_events set start_received_date = date '2026-11-20'")
        ),
    ],
    ids=[
        "promise_past_grace",
        "dispute_resolved",
        "representation_ended",
        "plan_behind",
        "unknown_yet",
    ],
)
def test_an_exclusion_that_no_longer_holds_or_is_not_yet_known_does_not_exclude(con, plant):
    plant(con)
    assert not eligibility_of(con)["is_excluded"]


@pytest.mark.parametrize(
    ("plant", "blocked", "block"),
    [
        (
            lambda con: con.execute("delete from core.contact_points where channel = 'phone'"),
            ("call_nudge", "call_formal", "sms_nudge"),
            ["call:no_valid_phone", "sms:no_valid_mobile"],
        ),
        (
            lambda con: con.execute("update core.contact_points set phone_type = 'fixed'"),
            ("sms_nudge",),
            ["sms:no_valid_mobile"],
        ),
        (
            lambda con: con.execute(
                "update core.contact_points set invalidated_date = date '2026-11-01', "
                "invalidated_received_date = date '2026-11-02' where channel = 'email'"
            ),
            ("email_nudge", "email_formal"),
            ["email:no_valid_email"],
        ),
        (
            lambda con: insert(
                con,
                "core.contact_preferences",
                preference_id="o1",
                case_id="c1",
                debtor_id="d1",
                effective_date=date(2026, 11, 1),
                channel="sms",
                preference="opt_out",
                received_date=date(2026, 11, 2),
            ),
            ("sms_nudge",),
            ["sms:opt_out"],
        ),
        (
            lambda con: con.execute("update core.debtors set address_line = null"),
            ("letter_formal", "formal_notice"),
            ["letter:no_address"],
        ),
    ],
    ids=["no_phone", "fixed_line_only", "email_invalidated", "sms_opt_out", "no_address"],
)
def test_a_blocked_channel_removes_only_its_actions(con, plant, blocked, block):
    plant(con)
    row = eligibility_of(con)
    assert not row["is_excluded"] and row["channel_blocks"] == block
    for action in blocked:
        assert action not in row["allowed_actions"]
    for action in set(rules.ACTIONS) - set(blocked) - {"formal_notice"}:
        assert action in row["allowed_actions"]


def test_formal_notice_needs_a_nudge_first_unless_settings_say_otherwise(con):
    assert "formal_notice" not in eligibility_of(con)["allowed_actions"]
    relaxed = load_settings(environ={"RELANCE_EXCLUSIONS__FORMAL_NOTICE_REQUIRES_NUDGE": "false"})
    assert "formal_notice" in eligibility_of(con, settings=relaxed)["allowed_actions"]
    attempt(con, "a1", "c1", "d1", datetime(2026, 10, 1, 10), channel="sms", tone="nudge")
    row = eligibility_of(con)
    assert row["allow_formal_notice"] and row["formal_notice_needs_approval"]


# -- contact caps (per debtor, across cases and creditors) -------------------------------------


@pytest.fixture
def three_cases(con):
    """Debtor d1 with c1 (creditor cr1) and c2, c3 placed by a second creditor."""
    insert(con, "core.creditors", creditor_id="cr2", creditor_ref="CR2", sector="energy")
    case(con, "c2", "d1", creditor_id="cr2")
    case(con, "c3", "d1", creditor_id="cr2")
    return con


def test_a_debtor_with_three_cases_appears_once_in_the_budget(three_cases):
    attempt(three_cases, "a1", "c2", "d1", datetime(2026, 11, 12, 9))
    budget = rules.contact_budget(installed(three_cases), AS_OF, SETTINGS)
    assert budget["debtor_id"].to_list() == ["d1"]
    assert budget["outbound_remaining"].to_list() == [2]


@pytest.mark.parametrize(("attempts", "remaining"), [(0, 3), (2, 1), (3, 0), (4, 0)])
def test_the_7_day_cap_counts_attempts_on_every_case_and_creditor(three_cases, attempts, remaining):
    for n in range(attempts):
        case_id = ("c1", "c2", "c3")[n % 3]
        attempt(three_cases, f"a{n}", case_id, "d1", datetime(2026, 11, 10 + n, 9))
    frame = rules.eligibility(installed(three_cases), AS_OF, SETTINGS)
    assert frame["outbound_remaining"].to_list() == [remaining] * 3
    if remaining == 0:
        assert frame["allowed_actions"].to_list() == [["wait"]] * 3


def test_attempts_older_than_the_window_do_not_count(con):
    attempt(con, "a1", "c1", "d1", datetime(2026, 11, 9, 9))  # 7 days before as_of: outside
    attempt(con, "a2", "c1", "d1", datetime(2026, 11, 10, 9))  # 6 days before: inside
    assert eligibility_of(con)["outbound_remaining"] == 2


@pytest.mark.parametrize(
    ("conversation_day", "callback", "next_call", "calls"),
    [
        (date(2026, 11, 13), False, date(2026, 11, 21), 2),  # quiet for 7 days after
        (date(2026, 11, 13), True, AS_OF, 3),  # a call-back was requested: no quiet period
        (date(2026, 11, 5), False, AS_OF, 3),  # the quiet period is over
    ],
)
def test_no_call_in_the_quiet_days_after_a_conversation(
    con, conversation_day, callback, next_call, calls
):
    at = datetime.combine(conversation_day, time(10))
    attempt(con, "a1", "c1", "d1", at, channel="call", outcome="right_party")
    if callback:
        attempt(
            con, "a2", "c1", "d1", at.replace(hour=11), channel="call", outcome="callback_requested"
        )
    row = eligibility_of(con)
    assert row["next_call_date"] == next_call
    assert row["call_attempts_remaining"] == min(calls, row["outbound_remaining"])


def test_call_attempts_are_capped_per_day(con):
    one_a_day = eligibility_of(con)["call_attempts_remaining"]
    assert one_a_day == 3  # 7 days × 1 call a day, within the 3 outbound of the week
    settings = load_settings(
        environ={
            "RELANCE_CONTACT__MAX_OUTBOUND_PER_7_DAYS": "20",
            "RELANCE_CONTACT__MAX_CALLS_PER_DAY": "1",
        }
    )
    assert eligibility_of(con, settings=settings)["call_attempts_remaining"] == 7


# -- calling windows ---------------------------------------------------------------------------


def _windows(tz: str, department: str, week: date, profile: str | None = None) -> pl.DataFrame:
    places = pl.DataFrame({"tz": [tz], "department": [department]})
    holidays = rules.public_holidays([department], range(week.year, week.year + 1))
    return rules.calling_windows(week, places, holidays, SETTINGS, profile)


def _day(frame: pl.DataFrame, day: date) -> list[tuple[str, str, str, str]]:
    return [
        (r["local_start"], r["local_end"], r["team_start"], r["team_end"])
        for r in frame.filter(pl.col("call_date") == day).iter_rows(named=True)
    ]


def test_paris_window_is_the_profile_within_team_hours_and_no_weekend_calls():
    week = _windows("Europe/Paris", "75", date(2026, 11, 16))
    assert _day(week, date(2026, 11, 16)) == [
        ("09:00", "12:30", "09:00", "12:30"),
        ("13:30", "19:00", "13:30", "19:00"),
    ]
    assert _day(week, date(2026, 11, 21)) == []  # Saturday: the profile allows it, the team is off
    assert _day(week, date(2026, 11, 22)) == []  # Sunday


def test_reunion_afternoon_meets_the_paris_team_morning():
    week = _windows("Indian/Reunion", "974", date(2026, 11, 16))
    assert _day(week, date(2026, 11, 16)) == [
        ("12:00", "15:30", "09:00", "12:30"),
        ("16:30", "20:00", "13:30", "17:00"),
    ]


def test_guadeloupe_morning_meets_the_paris_team_afternoon():
    week = _windows("America/Guadeloupe", "971", date(2026, 11, 16))
    assert _day(week, date(2026, 11, 16)) == [("08:30", "14:00", "13:30", "19:00")]


def test_a_french_public_holiday_has_no_window():
    week = _windows("Europe/Paris", "75", date(2026, 11, 9))
    assert _day(week, date(2026, 11, 11)) == []  # Armistice, a Wednesday
    assert _day(week, date(2026, 11, 12)) != []


def test_an_overseas_department_keeps_its_own_holiday():
    week = date(2027, 5, 24)  # 27 May: abolition of slavery in Guadeloupe, a Thursday
    guadeloupe = _windows("America/Guadeloupe", "971", week)
    paris = _windows("Europe/Paris", "75", week)
    assert _day(guadeloupe, date(2027, 5, 27)) == []
    assert _day(paris, date(2027, 5, 27)) != []


def test_the_strict_profile_drops_lunch_and_saturdays():
    holidays = set()
    strict = rules.profile_windows(SETTINGS, "strict")
    assert not rules.is_within_window(
        datetime(2026, 11, 20, 12, 30), "Europe/Paris", holidays, strict
    )
    assert rules.is_within_window(datetime(2026, 11, 20, 9, 30), "Europe/Paris", holidays, strict)
    assert not rules.is_within_window(
        datetime(2026, 11, 21, 9, 30), "Europe/Paris", holidays, strict
    )
    standard = rules.profile_windows(SETTINGS, "standard")
    assert rules.is_within_window(datetime(2026, 11, 21, 9, 30), "Europe/Paris", holidays, standard)


@pytest.mark.parametrize(
    ("at_utc", "tz", "inside"),
    [
        (datetime(2026, 11, 16, 7, 30), "Europe/Paris", True),  # 08:30 in Paris
        (datetime(2026, 11, 16, 19, 30), "Europe/Paris", False),  # 20:30
        (datetime(2026, 11, 16, 4, 30), "Indian/Reunion", True),  # 08:30 in Réunion
        (datetime(2026, 11, 16, 11, 30), "America/Guadeloupe", False),  # 07:30 there
        (datetime(2026, 11, 22, 10, 0), "Europe/Paris", False),  # a Sunday
    ],
)
def test_an_attempt_is_judged_in_the_debtors_local_time(at_utc, tz, inside):
    windows = rules.profile_windows(SETTINGS)
    assert rules.is_within_window(at_utc, tz, set(), windows) is inside


def test_a_malformed_window_setting_names_the_setting():
    with pytest.raises(rules.RulesError, match=r"team\.windows"):
        rules.parsed_windows([["19:00", "09:00"]], "team.windows")


# -- limitation deadlines ----------------------------------------------------------------------


def limitation_of(con, as_of: date = AS_OF) -> dict:
    installed(con)
    return con.sql(f"select * from marts.limitation(date '{as_of}')").pl().to_dicts()[0]


@pytest.mark.parametrize(
    ("debtor_type", "title", "basis", "deadline"),
    [
        ("individual", None, "consumer", date(2028, 5, 1)),
        ("business", None, "business", date(2031, 5, 1)),
        ("individual", date(2026, 7, 1), "judgment", date(2036, 7, 1)),
    ],
)
def test_the_limitation_period_depends_on_the_basis(
    core_schema, debtor_type, title, basis, deadline
):
    con = warehouse.connect(":memory:", SETTINGS)
    con.execute("create schema core; create schema raw; create schema marts")
    for sql in core_schema.values():
        con.execute(sql)
    debtor(con, "d1", debtor_type=debtor_type)
    case(con, "c1", "d1", debtor_type=debtor_type, title_date=title)
    row = limitation_of(con)
    assert (row["basis"], row["deadline_date"]) == (basis, deadline)


def test_a_part_payment_restarts_the_period(con):
    _paid_in_full(con)
    con.execute("update core.payments set amount_cents = 1000")
    assert limitation_of(con)["deadline_date"] == date(2028, 11, 2)


def test_a_formal_notice_does_not_restart_it(con):
    attempt(con, "n1", "c1", "d1", datetime(2026, 10, 1, 10), channel="letter", tone="notice")
    assert limitation_of(con)["deadline_date"] == date(2028, 5, 1)


def test_a_reversed_payment_does_not_restart_it(con):
    _paid_in_full(con)
    con.execute(
        "update core.payments set is_fully_reversed = true, reversed_date = date '2026-11-05', "
        "reversed_received_date = date '2026-11-06'"
    )
    assert limitation_of(con)["deadline_date"] == date(2028, 5, 1)


@pytest.mark.parametrize(
    ("due", "alert", "barred"),
    [
        (date(2024, 12, 1), True, False),  # deadline 2026-12-01: 15 days away
        (date(2025, 6, 1), False, False),
        (date(2024, 11, 16), False, True),  # deadline today: barred
    ],
)
def test_the_90_day_alert_and_the_time_bar(con, due, alert, barred):
    con.execute(f"update core.invoices set due_date = date '{due}'")
    row = limitation_of(con)
    assert (row["is_alert"], row["is_time_barred"]) == (alert, barred)


# -- compliance marts --------------------------------------------------------------------------


def breaches_of(con) -> pl.DataFrame:
    installed(con)
    for name in ("contact_pressure", "compliance_breaches", "compliance_tiles"):
        warehouse.materialised(con, "marts", name)
    return con.sql("select tile, rule, ref from marts.compliance_breaches order by ref").pl()


def test_compliance_is_empty_for_a_clean_history(con):
    attempt(con, "a1", "c1", "d1", datetime(2026, 10, 5, 9))
    attempt(con, "a2", "c1", "d1", datetime(2026, 10, 6, 9), channel="call")
    assert breaches_of(con).is_empty()
    tiles = con.sql("select tile, breaches from marts.compliance_tiles").fetchall()
    assert len(tiles) == 6 and all(n == 0 for _, n in tiles)


@pytest.mark.parametrize(
    ("times", "channel", "tile", "rule", "ref"),
    [
        (
            [datetime(2026, 10, 5, 9), datetime(2026, 10, 5, 14)],
            "call",
            "contact_cap",
            "calls_per_day",
            "A1",
        ),
        (
            [datetime(2026, 10, d, 9) for d in (5, 6, 7, 8)],
            "sms",
            "contact_cap",
            "outbound_7_days",
            "A3",
        ),
        ([datetime(2026, 10, 5, 20, 15)], "call", "out_of_window", "outside_window", "A0"),
        ([datetime(2026, 11, 11, 10)], "sms", "out_of_window", "public_holiday", "A0"),
    ],
)
def test_each_cap_and_window_breach_is_listed(con, times, channel, tile, rule, ref):
    for n, at in enumerate(times):
        attempt(con, f"a{n}", "c1", "d1", at, channel=channel)
    assert breaches_of(con).rows() == [(tile, rule, ref)]


def test_a_call_in_the_quiet_period_is_a_cap_breach(con):
    attempt(con, "a0", "c1", "d1", datetime(2026, 10, 5, 9), channel="call", outcome="right_party")
    attempt(con, "a1", "c1", "d1", datetime(2026, 10, 8, 9), channel="call")
    assert breaches_of(con).rows() == [("contact_cap", "quiet_period", "A1")]
    assert _shown(con) == [("c1", "d1", date(2026, 10, 8), "call at 11:00 local")]


def test_contacts_on_an_excluded_case_and_a_time_barred_case_are_listed(con):
    _dispute(con)  # opened 2026-11-02 (the week before)
    attempt(con, "a0", "c1", "d1", datetime(2026, 11, 3, 9))  # same week: decided before it
    attempt(con, "a1", "c1", "d1", datetime(2026, 11, 10, 9))  # next week: excluded
    assert breaches_of(con).rows() == [("excluded_contact", "open_dispute", "A1")]
    assert _shown(con) == [("c1", "d1", date(2026, 11, 10), "sms while open_dispute")]
    con.execute("delete from core.disputes; delete from core.actions")
    _time_barred(con)  # deadline 2026-05-01
    attempt(con, "a2", "c1", "d1", datetime(2026, 6, 10, 9))
    assert breaches_of(con).rows() == [("time_barred_worked", "limitation_passed", "A2")]
    assert _shown(con) == [("c1", "d1", date(2026, 6, 10), "sms after deadline 2026-05-01")]


def _shown(con) -> list[tuple]:
    """What the breach rows show besides tile, rule and ref (ids, day, detail)."""
    return con.sql(
        "select case_id, debtor_id, event_date, detail from marts.compliance_breaches order by ref"
    ).fetchall()
