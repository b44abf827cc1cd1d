"""The one rules engine (DOMAIN §4, DESIGN §9): eligibility, contact budgets, calling windows,
limitation deadlines and the figures behind the compliance tiles.

Everything that contacts a debtor asks this module (or the SQL it installs) whether it may:

- ``marts.eligibility(as_of, …)`` — one row per case known at ``as_of``: each exclusion with its
  reason, per-channel blocks, the debtor's contact budget, the limitation deadline and the
  actions allowed this week (the eight of DESIGN §5, tone ladder and approval included);
- ``marts.contact_budget(as_of, …)`` — one row per debtor, across cases and creditors;
- ``marts.limitation(as_of, …)`` — one row per invoice: basis, start, deadline, alert;
- ``calling_windows(…)`` — per (time zone, department) and day of a week, the calling window in
  the debtor's local time intersected with the team's hours, public holidays removed;
- the tables ``marts.rule_settings``, ``marts.public_holidays`` and ``marts.calling_windows`` that a
  build writes from ``relance.toml`` (so every build records the figures it applied), used by the
  compliance marts and as the macros' default arguments.

Policy figures come from settings only (``[contact]``, ``[exclusions]``, ``[limitation]``,
``[money]``); :func:`eligibility` passes the current settings to the macro explicitly, so a
changed figure applies to the next plan without a rebuild. Holidays come from the ``holidays``
library (France, with the subdivisions of Alsace-Moselle and the overseas departments).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import polars as pl

from pipelines.kinds import ACTIONS as ACTIONS  # the eight actions (DESIGN §5), defined once
from pipelines.settings import Settings

ACTION_CHANNEL: dict[str, str | None] = {
    "wait": None,
    "sms_nudge": "sms",
    "email_nudge": "email",
    "email_formal": "email",
    "call_nudge": "call",
    "call_formal": "call",
    "letter_formal": "letter",
    "formal_notice": "letter",
}
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Exclusion reasons in the order a case's primary reason is chosen (DOMAIN §4).
EXCLUSION_REASONS: tuple[str, ...] = (
    "closed",
    "recalled",
    "deceased",
    "over_indebtedness",
    "insolvency",
    "vulnerable",
    "represented",
    "time_barred",
    "open_dispute",
    "plan_in_good_standing",
    "promise_pending",
    "nothing_due",
)

# Department → subdivision of the ``holidays`` library (others: metropolitan France).
HOLIDAY_SUBDIVISIONS: dict[str, str] = {
    "57": "57",
    "67": "6AE",
    "68": "6AE",
    "971": "971",
    "972": "972",
    "973": "973",
    "974": "974",
    "976": "976",
}


class RulesError(ValueError):
    """A rules setting is invalid (names the setting and what to do)."""


@dataclass(frozen=True)
class Window:
    """A daily time window ``[start, end)`` in local time."""

    start: time
    end: time


@dataclass(frozen=True)
class RuleFigures:
    """The policy figures the rules apply, read from settings."""

    max_calls_per_day: int
    max_outbound_per_7_days: int
    quiet_days_after_conversation: int
    calling_profile: str
    promise_grace_days: int
    formal_notice_requires_nudge: bool
    formal_notice_requires_approval: bool
    consumer_years: int
    business_years: int
    judgment_years: int
    alert_days: int
    remittance_max_days: int
    remittance_alert_day: int
    window_channels: tuple[str, ...]


def rule_figures(settings: Settings) -> RuleFigures:
    """The rules' figures from ``settings`` (every one required)."""
    profile = str(settings.require("contact.calling_profile"))
    if settings.get(f"contact.profiles.{profile}") is None:
        known = ", ".join(sorted(settings.require("contact.profiles")))
        raise RulesError(
            f"relance.toml: contact.calling_profile = {profile!r} has no [contact.profiles."
            f"{profile}] section; choose one of {known}"
        )
    return RuleFigures(
        max_calls_per_day=int(settings.require("contact.max_calls_per_day")),
        max_outbound_per_7_days=int(settings.require("contact.max_outbound_per_7_days")),
        quiet_days_after_conversation=int(
            settings.require("contact.quiet_days_after_conversation")
        ),
        calling_profile=profile,
        promise_grace_days=int(settings.require("exclusions.promise_grace_days")),
        formal_notice_requires_nudge=bool(
            settings.require("exclusions.formal_notice_requires_nudge")
        ),
        formal_notice_requires_approval=bool(
            settings.require("exclusions.formal_notice_requires_approval")
        ),
        consumer_years=int(settings.require("limitation.consumer_years")),
        business_years=int(settings.require("limitation.business_years")),
        judgment_years=int(settings.require("limitation.judgment_years")),
        alert_days=int(settings.require("limitation.alert_days")),
        remittance_max_days=int(settings.require("money.remittance_max_days")),
        remittance_alert_day=int(settings.require("money.remittance_alert_day")),
        window_channels=tuple(settings.require("contact.window_channels")),
    )


# -- calling windows and holidays ---------------------------------------------------------------


def parsed_windows(pairs: list[list[str]], where: str) -> tuple[Window, ...]:
    """``[["08:00", "20:00"], …]`` → windows; a malformed pair names the setting."""
    windows = []
    for pair in pairs:
        try:
            start, end = (time.fromisoformat(value) for value in pair)
        except (TypeError, ValueError) as exc:
            raise RulesError(f'relance.toml: {where}: {pair!r} is not ["HH:MM", "HH:MM"]') from exc
        if end <= start:
            raise RulesError(f"relance.toml: {where}: {pair!r} ends before it starts")
        windows.append(Window(start, end))
    return tuple(sorted(windows, key=lambda w: w.start))


def profile_windows(
    settings: Settings, profile: str | None = None
) -> dict[str, tuple[Window, ...]]:
    """Per weekday (``mon`` … ``sun``), the calling windows of a profile (empty: no calls)."""
    name = profile or str(settings.require("contact.calling_profile"))
    section = settings.require(f"contact.profiles.{name}")
    windows = parsed_windows(section["windows"], f"contact.profiles.{name}.windows")
    days = set(section["days"])
    return {day: windows if day in days else () for day in WEEKDAYS}


def team_windows(settings: Settings) -> dict[str, tuple[Window, ...]]:
    """Per weekday, the phone team's hours (in ``team.timezone``)."""
    windows = parsed_windows(settings.require("team.windows"), "team.windows")
    days = set(settings.require("team.days"))
    return {day: windows if day in days else () for day in WEEKDAYS}


def holiday_subdivision(department: str | None) -> str | None:
    """The ``holidays`` subdivision of a French department (``None``: metropolitan rules)."""
    return HOLIDAY_SUBDIVISIONS.get((department or "").strip())


def public_holidays(departments: list[str | None], years: range) -> pl.DataFrame:
    """French public holidays per department: ``department, holiday_date, name``.

    Departments without their own rules get metropolitan France's; Alsace-Moselle and the
    overseas departments get theirs (Good Friday, St Stephen's day, abolition of slavery…).
    A null department is listed as ``''`` (metropolitan).
    """
    import holidays

    rows: list[tuple[str, date, str]] = []
    cache: dict[str | None, list[tuple[date, str]]] = {}
    for department in sorted({d or "" for d in departments}):
        subdivision = holiday_subdivision(department)
        if subdivision not in cache:
            calendar = holidays.France(years=list(years), subdiv=subdivision, language="fr")
            cache[subdivision] = sorted(calendar.items())
        rows.extend((department, day, name) for day, name in cache[subdivision])
    return pl.DataFrame(
        rows,
        schema={"department": pl.String, "holiday_date": pl.Date, "name": pl.String},
        orient="row",
    )


def _local_interval(day: date, window: Window, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """A window of ``day`` in ``tz`` as aware datetimes."""
    return (
        datetime.combine(day, window.start, tzinfo=tz),
        datetime.combine(day, window.end, tzinfo=tz),
    )


def day_windows(
    day: date,
    tz_name: str,
    holiday_dates: set[date],
    debtor_windows: dict[str, tuple[Window, ...]],
    team: dict[str, tuple[Window, ...]],
    team_tz_name: str,
    preferred: Window | None = None,
) -> list[tuple[datetime, datetime]]:
    """The callable intervals of the debtor's local ``day`` (UTC datetimes, in order).

    The debtor's profile windows on that weekday (none on a public holiday of the debtor's
    department), narrowed to a stated preferred window when there is one, intersected with the
    team's hours, which are in the team's own time zone (so a Réunion debtor's afternoon meets the
    Paris team's morning).
    """
    if day in holiday_dates:
        return []
    tz, team_tz = ZoneInfo(tz_name), ZoneInfo(team_tz_name)
    local = [_local_interval(day, w, tz) for w in debtor_windows[WEEKDAYS[day.weekday()]]]
    if preferred is not None:
        pref = _local_interval(day, preferred, tz)
        local = [(max(a, pref[0]), min(b, pref[1])) for a, b in local]
    team_intervals = [
        _local_interval(team_day, w, team_tz)
        for team_day in (day - timedelta(days=1), day, day + timedelta(days=1))
        for w in team[WEEKDAYS[team_day.weekday()]]
    ]
    utc = ZoneInfo("UTC")
    out = []
    for a, b in local:
        for c, d in team_intervals:
            start, end = max(a, c), min(b, d)
            if start < end:
                out.append((start.astimezone(utc), end.astimezone(utc)))
    return sorted(out)


def calling_windows(
    week_start: date,
    places: pl.DataFrame,
    holidays_frame: pl.DataFrame,
    settings: Settings,
    profile: str | None = None,
) -> pl.DataFrame:
    """Callable intervals for the 7 days from ``week_start``, per (tz, department) of ``places``.

    Returns ``tz, department, call_date, window_no, start_at, end_at`` (UTC, naive),
    ``local_start, local_end`` (``HH:MM`` in the debtor's zone) and ``team_start, team_end``
    (``HH:MM`` in the team's zone). A (tz, department) with no row that day cannot be called.
    """
    debtor_w = profile_windows(settings, profile)
    team_w = team_windows(settings)
    team_tz = str(settings.require("team.timezone"))
    by_department: dict[str, set[date]] = {}
    for department, day in holidays_frame.select("department", "holiday_date").iter_rows():
        by_department.setdefault(department, set()).add(day)
    rows = []
    for tz_name, department in (
        places.select("tz", "department").unique().sort("tz", "department").iter_rows()
    ):
        tz = tz_name or str(settings.require("build.default_timezone"))
        days_off = by_department.get(department or "", set())
        for offset in range(7):
            day = week_start + timedelta(days=offset)
            for number, (start, end) in enumerate(
                day_windows(day, tz, days_off, debtor_w, team_w, team_tz)
            ):
                rows.append(
                    (
                        tz_name,
                        department,
                        day,
                        number,
                        start.replace(tzinfo=None),
                        end.replace(tzinfo=None),
                        start.astimezone(ZoneInfo(tz)).strftime("%H:%M"),
                        end.astimezone(ZoneInfo(tz)).strftime("%H:%M"),
                        start.astimezone(ZoneInfo(team_tz)).strftime("%H:%M"),
                        end.astimezone(ZoneInfo(team_tz)).strftime("%H:%M"),
                    )
                )
    return pl.DataFrame(
        rows,
        schema={
            "tz": pl.String,
            "department": pl.String,
            "call_date": pl.Date,
            "window_no": pl.Int64,
            "start_at": pl.Datetime("us"),
            "end_at": pl.Datetime("us"),
            "local_start": pl.String,
            "local_end": pl.String,
            "team_start": pl.String,
            "team_end": pl.String,
        },
        orient="row",
    )


def is_within_window(
    at_utc: datetime,
    tz_name: str,
    holiday_dates: set[date],
    debtor_windows: dict[str, tuple[Window, ...]],
) -> bool:
    """Whether an attempt at ``at_utc`` falls inside the debtor's calling window (local time,
    weekday, public holidays); the team's hours do not matter here."""
    local = at_utc.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(tz_name))
    if local.date() in holiday_dates:
        return False
    clock = local.time().replace(tzinfo=None)
    return any(w.start <= clock < w.end for w in debtor_windows[WEEKDAYS[local.weekday()]])


# -- what the build writes ----------------------------------------------------------------------


def rule_settings_frame(figures: RuleFigures) -> pl.DataFrame:
    """One row: the figures a build applied (compliance marts read them)."""
    return pl.DataFrame(
        [
            {
                "max_calls_per_day": figures.max_calls_per_day,
                "max_outbound_per_7_days": figures.max_outbound_per_7_days,
                "quiet_days_after_conversation": figures.quiet_days_after_conversation,
                "calling_profile": figures.calling_profile,
                "promise_grace_days": figures.promise_grace_days,
                "formal_notice_requires_nudge": figures.formal_notice_requires_nudge,
                "formal_notice_requires_approval": figures.formal_notice_requires_approval,
                "consumer_years": figures.consumer_years,
                "business_years": figures.business_years,
                "judgment_years": figures.judgment_years,
                "alert_days": figures.alert_days,
                "remittance_max_days": figures.remittance_max_days,
                "remittance_alert_day": figures.remittance_alert_day,
                "window_channels": list(figures.window_channels),
            }
        ]
    ).with_columns(pl.col(pl.Int64).cast(pl.Int32))


def calling_windows_frame(settings: Settings) -> pl.DataFrame:
    """Every profile's windows: ``profile, isodow (1 = Monday), start_time, end_time``."""
    rows = []
    for name in sorted(settings.require("contact.profiles")):
        for day, windows in profile_windows(settings, name).items():
            for w in windows:
                rows.append((name, WEEKDAYS.index(day) + 1, w.start, w.end))
    return pl.DataFrame(
        rows,
        schema={
            "profile": pl.String,
            "isodow": pl.Int64,
            "start_time": pl.Time,
            "end_time": pl.Time,
        },
        orient="row",
    )


def rule_tables(con, settings: Settings) -> None:
    """Write ``marts.rule_settings``, ``marts.calling_windows`` and ``marts.public_holidays`` (the
    departments of ``core.debtors``, for every year of the data and two after)."""
    figures = rule_figures(settings)
    first, last = con.execute(
        "select min(y), max(y) from (select year(min(placed_date)) as y from core.cases "
        "union all select year(max(received_date)) from raw.files)"
    ).fetchall()[0]
    this_year = date.today().year
    years = range(int(first or this_year) - 1, int(last or this_year) + 3)
    departments = [
        row[0] for row in con.execute("select distinct department from core.debtors").fetchall()
    ]
    frames = {
        "rule_settings": rule_settings_frame(figures),
        "calling_windows": calling_windows_frame(settings),
        "public_holidays": public_holidays(departments, years),
    }
    con.execute("create schema if not exists marts")
    for name, frame in frames.items():
        con.register("_rule_frame", frame.to_arrow())
        con.execute(f"create or replace table marts.{name} as select * from _rule_frame")
        con.unregister("_rule_frame")


def macro_parameters(settings: Settings) -> dict[str, tuple[str, ...]]:
    """The rules' table macros and their parameters, with this build's figures as defaults."""
    f = rule_figures(settings)
    limitation = (
        f"consumer_years := {f.consumer_years}",
        f"business_years := {f.business_years}",
        f"judgment_years := {f.judgment_years}",
        f"alert_days := {f.alert_days}",
    )
    budget = (
        f"max_calls_per_day := {f.max_calls_per_day}",
        f"max_outbound_per_7_days := {f.max_outbound_per_7_days}",
        f"quiet_days := {f.quiet_days_after_conversation}",
    )
    eligibility = (
        *limitation,
        *budget,
        f"promise_grace_days := {f.promise_grace_days}",
        f"formal_notice_requires_nudge := {str(f.formal_notice_requires_nudge).lower()}",
        f"formal_notice_requires_approval := {str(f.formal_notice_requires_approval).lower()}",
    )
    return {
        "limitation": ("as_of", *limitation),
        "contact_budget": ("as_of", *budget),
        "eligibility": ("as_of", *eligibility),
    }


# -- reading eligibility ------------------------------------------------------------------------


def macro_arguments(settings: Settings) -> tuple[str, list]:
    """``(sql argument list, values)`` passing the current settings to ``marts.eligibility``."""
    f = rule_figures(settings)
    values = {
        "consumer_years": f.consumer_years,
        "business_years": f.business_years,
        "judgment_years": f.judgment_years,
        "alert_days": f.alert_days,
        "max_calls_per_day": f.max_calls_per_day,
        "max_outbound_per_7_days": f.max_outbound_per_7_days,
        "quiet_days": f.quiet_days_after_conversation,
        "promise_grace_days": f.promise_grace_days,
        "formal_notice_requires_nudge": f.formal_notice_requires_nudge,
        "formal_notice_requires_approval": f.formal_notice_requires_approval,
    }
    return ", ".join(f"{name} := ?" for name in values), list(values.values())


def eligibility(con, as_of: date, settings: Settings) -> pl.DataFrame:
    """``marts.eligibility(as_of)`` with the current settings' figures, one row per case known at
    ``as_of`` (see ``sql/marts/eligibility.sql`` for the columns)."""
    arguments, values = macro_arguments(settings)
    return con.sql(
        f"select * from marts.eligibility(?::date, {arguments})", params=[as_of, *values]
    ).pl()


def contact_budget(con, as_of: date, settings: Settings) -> pl.DataFrame:
    """``marts.contact_budget(as_of)`` with the current settings: one row per debtor."""
    f = rule_figures(settings)
    return con.sql(
        "select * from marts.contact_budget(?::date, max_calls_per_day := ?, "
        "max_outbound_per_7_days := ?, quiet_days := ?)",
        params=[
            as_of,
            f.max_calls_per_day,
            f.max_outbound_per_7_days,
            f.quiet_days_after_conversation,
        ],
    ).pl()


def week_start_after(day: date) -> date:
    """The Monday after ``day`` (the plan week of a home whose last data date is ``day``)."""
    return day + timedelta(days=7 - day.weekday())


def data_date(con) -> date | None:
    """The last received date of the current build's files (``None`` when empty)."""
    return con.execute("select max(received_date) from raw.files").fetchall()[0][0]


def eligibility_bench(ctx) -> dict:
    """Bench stage ``eligibility``: ``marts.eligibility`` for every case of the bench home's
    current build as of the plan week's Monday, then the calling windows of that week."""
    import time as clock

    from pipelines import warehouse
    from pipelines.home import Home

    con = warehouse.connect(Home(ctx.home).current_path(), ctx.settings, read_only=True)
    try:
        as_of = week_start_after(data_date(con))
        started = clock.perf_counter()
        frame = eligibility(con, as_of, ctx.settings)
        eligibility_seconds = clock.perf_counter() - started
        started = clock.perf_counter()
        windows = calling_windows(
            as_of,
            frame.select("tz", "department").unique(),
            con.sql("select * from marts.public_holidays").pl(),
            ctx.settings,
        )
        windows_seconds = clock.perf_counter() - started
    finally:
        con.close()
    return {
        "rows": frame.height,
        "bytes": frame.estimated_size(),
        "bytes_of": "eligibility frame in memory",
        "as_of": as_of.isoformat(),
        "eligibility_seconds": round(eligibility_seconds, 3),
        "calling_windows_seconds": round(windows_seconds, 3),
        "cases_not_excluded": int((~frame["is_excluded"]).sum()),
        "calling_window_rows": windows.height,
    }
