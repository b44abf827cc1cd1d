"""``relance call-outcomes load FILE``: the phone team's call outcomes, by the ordinary route.

The file (CSV, UTF-8, header) has one row per call made from an exported call list:

=================  ==========================================================================
``list_id``        the call list's id (``exports/calls/<week>.csv``)
``line_id``        the line called
``called_at``      when: ISO 8601, with an offset or in the team's time zone (``team.timezone``)
``outcome``        reached, no_answer, wrong_number, promise, dispute, complaint,
                   callback_requested
``case_ref``       optional: the line's case concerned (default: the line's first case)
``promise_amount`` promise only: the amount promised, in euros (``.`` decimal mark)
``promise_date``   promise only: the date promised, ``YYYY-MM-DD``
``agent_ref``      optional: who called
=================  ==========================================================================

Rows are checked against the lines recorded in the state store when the list was exported
(a wrong list, line or case is refused with the file and row named). The outcomes are then
written as agency files of the existing import kinds — ``actions`` (the attempt and its outcome,
on the case concerned, with the number the line dialled as recorded in ``plan_lines``),
``promises``, ``disputes`` (opened), ``complaints`` (opened, channel call) — into
``raw/phone_team/`` with its ``mapping.toml``; the next ``relance build`` ingests them like any
source, and KPIs, eligibility and the next plan follow: a dispute excludes the case, a promise
suspends it until its date + ``exclusions.promise_grace_days``, and a wrong number (outcome
``wrong_party`` on that number) makes ``core.contact_points`` invalidate it from the call's date,
known from the file's received date — the debtor's calls (and texts, for a mobile) are then
blocked (``call:no_valid_phone``) unless another valid number is known or a newer one arrives.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from pipelines.home import Home
from pipelines.plan import PlanError
from pipelines.settings import Settings

SOURCE = "phone_team"
OUTCOMES: dict[str, str] = {
    "reached": "right_party",
    "no_answer": "no_answer",
    "wrong_number": "wrong_party",
    "promise": "right_party",
    "dispute": "right_party",
    "complaint": "right_party",
    "callback_requested": "callback_requested",
}
REQUIRED: tuple[str, ...] = ("list_id", "line_id", "called_at", "outcome")
MAPPING = """# the phone team's call outcomes, written by `relance call-outcomes load`
template = "iso_csv"

[defaults]
timezone = "{timezone}"

[[files]]
kind = "actions"
glob = "actions_*.csv"

[[files]]
kind = "promises"
glob = "promises_*.csv"

[[files]]
kind = "disputes"
glob = "disputes_*.csv"

[[files]]
kind = "complaints"
glob = "complaints_*.csv"
"""


@dataclass(frozen=True)
class OutcomesResult:
    rows: int
    by_outcome: dict[str, int]
    files: tuple[Path, ...]


@dataclass(frozen=True)
class Outcome:
    row: int
    list_id: str
    line_id: int
    called_at: datetime  # team local time, naive
    outcome: str
    creditor_ref: str
    case_ref: str
    tone: str
    phone_e164: str  # the number dialled ("" when the list did not record it)
    promise_cents: int | None
    promise_date: date | None
    agent_ref: str


def read_rows(file: Path) -> list[dict[str, str]]:
    """The file's rows as dicts (a missing column names the file)."""
    try:
        with open(file, encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
            if missing:
                raise PlanError(f"{file}: missing column(s) {', '.join(missing)}")
            return [dict(row) for row in reader]
    except FileNotFoundError:
        raise PlanError(f"{file}: no such file") from None
    except UnicodeDecodeError:
        raise PlanError(f"{file}: not UTF-8; save it as UTF-8 CSV") from None


def list_lines(home: Home, list_ids: list[str]) -> pl.DataFrame:
    """The recorded call lines of ``list_ids`` (list and line ids, case and action)."""
    empty = pl.DataFrame(
        schema={
            "list_id": pl.String,
            "line_id": pl.Int32,
            "creditor_ref": pl.String,
            "case_ref": pl.String,
            "action": pl.String,
            "phone_e164": pl.String,
        }
    )
    if not home.state_path.exists() or not list_ids:
        return empty
    with home.state(read_only=True) as con:
        columns = {
            name
            for (name,) in con.execute(
                "select column_name from information_schema.columns where table_name = 'plan_lines'"
            ).fetchall()
        }
        if not columns:
            return empty
        # lists exported before plan_lines named the number have none
        phone = "phone_e164" if "phone_e164" in columns else "null::varchar as phone_e164"
        return con.sql(
            f"select list_id, line_id, creditor_ref, case_ref, action, {phone} from plan_lines "
            "where channel = 'call' and list_id in (select unnest(?::varchar[])) "
            "order by list_id, line_id, creditor_ref, case_ref",
            params=[list_ids],
        ).pl()


def parsed_outcome(
    file: Path, number: int, row: dict[str, str], lines: pl.DataFrame, team_tz: str
) -> Outcome:
    """One checked row; a problem raises ``PlanError`` naming the file and row."""
    where = f"{file}: row {number}"
    list_id = (row.get("list_id") or "").strip()
    try:
        line_id = int((row.get("line_id") or "").strip())
    except ValueError:
        raise PlanError(f"{where}: line_id {row.get('line_id')!r} is not a number") from None
    line = lines.filter((pl.col("list_id") == list_id) & (pl.col("line_id") == line_id))
    if line.is_empty():
        raise PlanError(
            f"{where}: no line {line_id} in an exported call list {list_id!r}; "
            "use the list_id and line_id of exports/calls/<week>.csv"
        )
    outcome = (row.get("outcome") or "").strip()
    if outcome not in OUTCOMES:
        raise PlanError(f"{where}: outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")
    try:
        called = datetime.fromisoformat((row.get("called_at") or "").strip())
    except ValueError:
        raise PlanError(
            f"{where}: called_at {row.get('called_at')!r} is not ISO 8601 (2026-11-17T10:30:00)"
        ) from None
    if called.tzinfo is not None:
        called = called.astimezone(ZoneInfo(team_tz)).replace(tzinfo=None)
    case_ref = (row.get("case_ref") or "").strip()
    if case_ref:
        line = line.filter(pl.col("case_ref") == case_ref)
        if line.is_empty():
            raise PlanError(f"{where}: case {case_ref!r} is not on line {line_id} of {list_id}")
    first = line.row(0, named=True)
    promise_cents = promise_date = None
    if outcome == "promise":
        try:
            amount = Decimal((row.get("promise_amount") or "").strip())
            promise_date = date.fromisoformat((row.get("promise_date") or "").strip())
        except (InvalidOperation, ValueError):
            raise PlanError(
                f"{where}: a promise needs promise_amount (euros, 12.50) and promise_date "
                "(YYYY-MM-DD)"
            ) from None
        if amount <= 0 or promise_date < called.date():
            raise PlanError(
                f"{where}: a promise needs an amount > 0 and a date on or after the call"
            )
        promise_cents = int(amount * 100)
    return Outcome(
        row=number,
        list_id=list_id,
        line_id=line_id,
        called_at=called,
        outcome=outcome,
        creditor_ref=first["creditor_ref"],
        case_ref=first["case_ref"],
        tone=first["action"].removeprefix("call_"),
        phone_e164=first["phone_e164"] or "",
        promise_cents=promise_cents,
        promise_date=promise_date,
        agent_ref=(row.get("agent_ref") or "").strip(),
    )


def kind_frames(outcomes: list[Outcome], stamp: str) -> dict[str, pl.DataFrame]:
    """The agency files of the outcomes: ``actions``, ``promises``, ``disputes``, ``complaints``."""

    def ref(o: Outcome) -> str:
        return f"{o.list_id}-{o.line_id}-{o.row}-{stamp}"

    frames = {
        "actions": pl.DataFrame(
            [
                {
                    "action_ref": ref(o),
                    "creditor_ref": o.creditor_ref,
                    "case_ref": o.case_ref,
                    "action_at": o.called_at.strftime("%Y-%m-%dT%H:%M:%S"),
                    "channel": "call",
                    "tone": o.tone,
                    "direction": "outbound",
                    "outcome": OUTCOMES[o.outcome],
                    "agent_ref": o.agent_ref,
                    "phone": o.phone_e164,
                }
                for o in outcomes
            ]
        ),
        "promises": pl.DataFrame(
            [
                {
                    "promise_ref": ref(o),
                    "creditor_ref": o.creditor_ref,
                    "case_ref": o.case_ref,
                    "made_date": o.called_at.date().isoformat(),
                    "due_date": o.promise_date.isoformat(),
                    "amount": f"{o.promise_cents // 100}.{o.promise_cents % 100:02d}",
                    "action_ref": ref(o),
                }
                for o in outcomes
                if o.outcome == "promise"
            ]
        ),
        "disputes": pl.DataFrame(
            [
                {
                    "dispute_ref": ref(o),
                    "creditor_ref": o.creditor_ref,
                    "case_ref": o.case_ref,
                    "event_date": o.called_at.date().isoformat(),
                    "event": "opened",
                    "reason": "other",
                }
                for o in outcomes
                if o.outcome == "dispute"
            ]
        ),
        "complaints": pl.DataFrame(
            [
                {
                    "complaint_ref": ref(o),
                    "creditor_ref": o.creditor_ref,
                    "case_ref": o.case_ref,
                    "event_date": o.called_at.date().isoformat(),
                    "event": "opened",
                    "channel": "call",
                    "reason": "other",
                }
                for o in outcomes
                if o.outcome == "complaint"
            ]
        ),
    }
    return {kind: frame for kind, frame in frames.items() if frame.height}


def call_outcomes_loaded(home: Home | Path, settings: Settings, file: Path | str) -> OutcomesResult:
    """Check ``file`` against the exported call lists and write its outcomes into
    ``raw/phone_team/`` as agency files (received on the last call's date); ``relance build``
    ingests them."""
    home = home if isinstance(home, Home) else Home(Path(home))
    file = Path(file)
    rows = read_rows(file)
    if not rows:
        raise PlanError(f"{file}: no outcome rows")
    lines = list_lines(home, sorted({(r.get("list_id") or "").strip() for r in rows}))
    team_tz = str(settings.require("team.timezone"))
    outcomes = [
        parsed_outcome(file, number, row, lines, team_tz) for number, row in enumerate(rows, 1)
    ]
    stamp = hashlib.sha256(file.read_bytes()).hexdigest()[:8]
    received = max(o.called_at.date() for o in outcomes)
    folder = home.raw / SOURCE
    folder.mkdir(parents=True, exist_ok=True)
    mapping = folder / "mapping.toml"
    if not mapping.exists():
        mapping.write_text(MAPPING.format(timezone=team_tz), encoding="utf-8")
    written = []
    for kind, frame in kind_frames(outcomes, stamp).items():
        path = folder / f"{kind}_{received.isoformat()}_{stamp}.csv"
        frame.write_csv(path)
        written.append(path)
    by_outcome: dict[str, int] = {}
    for o in outcomes:
        by_outcome[o.outcome] = by_outcome.get(o.outcome, 0) + 1
    return OutcomesResult(len(outcomes), dict(sorted(by_outcome.items())), tuple(written))
