"""World parameters (``world.toml``), their hash, and the simulation calendar.

Days are integers counted from the history's first Monday (day 0). ``Calendar`` turns them into
dates, ISO weeks and contact days (Monday–Saturday, never a French public holiday of any
department, so every simulated contact is inside every department's calling days).
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
import numpy as np

from pipelines.kinds import ACTIONS

WORLD_PATH = Path(__file__).resolve().parent / "world.toml"

A = {name: i for i, name in enumerate(ACTIONS)}
N_ACTIONS = len(ACTIONS)
NUDGES = np.array([A["sms_nudge"], A["email_nudge"], A["call_nudge"]])
FORMAL = np.array([A["email_formal"], A["call_formal"], A["letter_formal"], A["formal_notice"]])
IS_NUDGE = np.isin(np.arange(N_ACTIONS), NUDGES)
IS_FORMAL = np.isin(np.arange(N_ACTIONS), FORMAL)
IS_CALL = np.isin(np.arange(N_ACTIONS), [A["call_nudge"], A["call_formal"]])
IS_SMS = np.arange(N_ACTIONS) == A["sms_nudge"]
IS_EMAIL = np.isin(np.arange(N_ACTIONS), [A["email_nudge"], A["email_formal"]])
IS_LETTER = np.isin(np.arange(N_ACTIONS), [A["letter_formal"], A["formal_notice"]])
# (channel, tone) of each action in the actions file
CHANNEL_TONE = {
    "sms_nudge": ("sms", "nudge"),
    "email_nudge": ("email", "nudge"),
    "email_formal": ("email", "formal"),
    "call_nudge": ("call", "nudge"),
    "call_formal": ("call", "formal"),
    "letter_formal": ("letter", "formal"),
    "formal_notice": ("letter", "notice"),
}

# causes: index 0–5 are the latent causes; 6 is a dispute or error that has been resolved
CAUSES = ("cash_flow", "dispute", "administrative", "hardship", "unwilling", "unreachable")
CAUSE_NAMES = (*CAUSES, "resolved")
C = {name: i for i, name in enumerate(CAUSE_NAMES)}
GOOD_FAITH = np.isin(
    np.arange(len(CAUSE_NAMES)),
    [C[c] for c in ("cash_flow", "dispute", "administrative", "hardship", "resolved")],
)
SECTORS = ("telecom", "energy", "consumer_credit", "b2b_wholesale", "b2b_services")
NEVER = 1 << 30

# time zones: metropolitan France and the overseas departments (postcode prefix, zone, UTC h)
ZONES = (
    ("", "Europe/Paris", None),
    ("971", "America/Guadeloupe", -4),
    ("972", "America/Martinique", -4),
    ("973", "America/Cayenne", -3),
    ("974", "Indian/Reunion", 4),
    ("976", "Indian/Mayotte", 3),
)


class SimulationError(ValueError):
    """A user mistake when simulating (one-line message)."""


def world_hash(path: Path | None = None) -> str:
    """sha256 of the world file's bytes (the frozen default world's identity)."""
    return hashlib.sha256(Path(path or WORLD_PATH).read_bytes()).hexdigest()


def load_world(path: Path | None = None) -> dict:
    """The world parameters as nested dictionaries."""
    return tomllib.loads(Path(path or WORLD_PATH).read_text(encoding="utf-8"))


def by_name(table: dict, names: tuple[str, ...], default: float = 0.0) -> np.ndarray:
    """``table[name]`` for each name, as a float array (``default`` when absent)."""
    return np.array([float(table.get(n, default)) for n in names])


def by_action(table: dict, default: float = 0.0) -> np.ndarray:
    return by_name(table, ACTIONS, default)


def history_start(end_date: date, months: int) -> date:
    """The first Monday on or after ``end_date`` minus ``months`` months."""
    year, month = end_date.year, end_date.month - months
    while month < 1:
        month += 12
        year -= 1
    start = date(year, month, min(end_date.day, 28)) + timedelta(days=1)
    return start + timedelta(days=(7 - start.weekday()) % 7)


@dataclass(frozen=True)
class Calendar:
    """Days 0 … n_days-1 from ``start`` (a Monday); the history ends on ``end`` (inclusive)."""

    start: date
    end: date
    extra_days: int = 120

    @property
    def history_days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def n_days(self) -> int:
        return self.history_days + self.extra_days

    def date(self, day: int) -> date:
        return self.start + timedelta(days=int(day))

    def day(self, value: date) -> int:
        return (value - self.start).days

    @cached_property
    def dates(self) -> np.ndarray:
        return np.datetime64(self.start, "D") + np.arange(self.n_days)

    @cached_property
    def weekday(self) -> np.ndarray:
        return (np.arange(self.n_days) + self.start.weekday()) % 7

    @cached_property
    def contact_day(self) -> np.ndarray:
        """Monday–Saturday and no public holiday of any French department."""
        years = range(self.start.year, self.end.year + 2)
        off: set[date] = set(holidays.France(years=years))
        for sub in ("57", "971", "972", "973", "974", "976"):
            off |= set(holidays.France(years=years, subdiv=sub))
        flags = self.weekday < 6
        for d in off:
            i = (d - self.start).days
            if 0 <= i < self.n_days:
                flags[i] = False
        return flags

    @cached_property
    def paris_offset_hours(self) -> np.ndarray:
        """Europe/Paris UTC offset (hours) at 12:00 UTC of each day."""
        tz = ZoneInfo("Europe/Paris")
        base = datetime(self.start.year, self.start.month, self.start.day, 12)
        return np.array(
            [
                (base + timedelta(days=i))
                .replace(tzinfo=ZoneInfo("UTC"))
                .astimezone(tz)
                .utcoffset()
                .total_seconds()
                / 3600
                for i in range(self.n_days)
            ]
        )

    def mondays(self, last_day: int | None = None) -> np.ndarray:
        last = self.history_days if last_day is None else last_day
        return np.arange(0, last, 7)

    def iso_week(self, day: int) -> str:
        y, w, _ = self.date(day).isocalendar()
        return f"{y}-W{w:02d}"

    def week_contact_days(self, monday: int) -> np.ndarray:
        """The contact days of the week starting at ``monday``, in order."""
        days = np.arange(monday, min(monday + 7, self.n_days))
        return days[self.contact_day[days]]
