"""``relance plan``: the weekly contact plan (DESIGN §5, §9; README "The weekly plan").

One plan per ISO week across channels, built from ``marts.eligibility`` (``pipelines.rules``) and
the per-case value of every allowed action (:func:`action_values`):

1. **Values.** The recommender champion's action values when there is one; otherwise the
   documented fallback rule (:func:`fallback_action_values`), named in the summary and in every
   file's metadata.
2. **Call slots.** Debtors whose best allowed action is a call (summed over their callable
   cases) are ranked by value(best call) − value(best allowed non-call action) and take call
   slots until the capacity in attempts (``[team]`` agents × attempts per agent-day × team days)
   is used. A debtor with no calling window left in the week (quiet days, holidays, stated
   hours) gets no slot.
3. **Approvals.** A formal notice is only sent once ``relance approve`` recorded who approved it
   and why; until then it is requested (``exports/approvals/``) and the case takes its next best
   action.
4. **Decisions with exploration, after capacity and approvals.** Every open case gets one
   decision (``wait`` included), its debtor's contact budget (``outbound_remaining``) allocated
   once across all the debtor's cases and creditors, cases taken in order of their best uplift.
   A permanent control holdout waits; otherwise, with probability ``exploration_share``, the
   action is drawn uniformly among the case's feasible actions (calls only on a call slot,
   formal notices never); the final action and its probability are logged in ``decisions``.
5. **Exports and audit.** Call list (CSV for diallers, XLSX for people), SMS / e-mail / letter
   batches, the specialist queue, the formal-notice requests; each recorded in ``plan_exports``
   with the week, model run ids, settings hash and who exported it; every line in
   ``plan_lines`` (with the number it dials or texts) so call outcomes join back by list and
   line id.

Draws are keyed hashes of (seed, week, case): the same week with the same inputs gives the same
rows, byte for byte in the CSV files.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import time as clock
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from pipelines import rules
from pipelines.home import Home, utc_now
from pipelines.rules import ACTION_CHANNEL, ACTIONS
from pipelines.settings import Settings

CALL_ACTIONS: tuple[str, ...] = tuple(a for a in ACTIONS if ACTION_CHANNEL[a] == "call")
NON_CALL_ACTIONS: tuple[str, ...] = tuple(a for a in ACTIONS if ACTION_CHANNEL[a] != "call")
BATCH_CHANNELS: tuple[str, ...] = ("sms", "email", "letter")
DAY_NAMES_FR: tuple[str, ...] = ("lun", "mar", "mer", "jeu", "ven", "sam", "dim")

# The call list's columns (DESIGN §9) and nothing else, with the French headers of the XLSX.
CALL_LIST_COLUMNS: dict[str, str] = {
    "list_id": "Liste",
    "line_id": "Ligne",
    "rank": "Rang",
    "case_refs": "Dossiers",
    "creditor": "Créancier",
    "debtor_name": "Débiteur",
    "phone_e164": "Téléphone (E.164)",
    "phone_type": "Type de téléphone",
    "tz": "Fuseau horaire",
    "window_local": "Créneau (heure du débiteur)",
    "window_team": "Créneau (heure de l'équipe)",
    "amount_due_cents": "Montant dû",
    "currency": "Devise",
    "recommended_tone": "Ton recommandé",
    "score_band": "Classe de score",
    "top_reasons": "Motifs principaux",
    "last_contact_date": "Dernier contact",
    "last_broken_promise_date": "Dernière promesse non tenue",
    "first_letter_refs": "Réf. première lettre",
    "first_letter_dates": "Date première lettre",
    "limitation_date": "Prescription",
}
BATCH_COMMON: tuple[str, ...] = (
    "list_id",
    "line_id",
    "creditor_ref",
    "case_ref",
    "action",
    "debtor_name",
)
BATCH_TAIL: tuple[str, ...] = (
    "amount_due_cents",
    "currency",
    "first_letter_ref",
    "first_letter_date",
)
BATCH_CONTACT: dict[str, tuple[str, ...]] = {
    "sms": ("mobile_e164",),
    "email": ("email",),
    "letter": ("address_line", "postcode", "city", "country"),
}
# the batch column ``plan_lines.phone_e164`` records (the number texted), per channel
BATCH_NUMBER: dict[str, str] = {"sms": "mobile_e164"}
SPECIALIST_COLUMNS: tuple[str, ...] = ("case_ref", "queue")
APPROVAL_REQUEST_COLUMNS: tuple[str, ...] = (
    "iso_week",
    "creditor_ref",
    "case_ref",
    "action",
    "amount_due_cents",
    "currency",
    "first_letter_ref",
    "first_letter_date",
    "last_contact_date",
)

PLAN_DDL: tuple[str, ...] = (
    """
    create table if not exists plan_exports (
      export_id varchar primary key,
      iso_week varchar not null,
      list_id varchar not null,
      kind varchar not null,        -- calls_csv, calls_xlsx, batch_<channel>, specialist, …
      path varchar not null,
      rows bigint not null,
      sha256 varchar not null,
      build_id varchar,
      policy_source varchar not null,    -- recommender or fallback
      policy_id varchar not null,
      model_run_ids varchar not null,    -- JSON {kind: run id}
      settings_hash varchar not null,
      exported_by varchar not null,
      exported_at timestamp not null
    )
    """,
    """
    create table if not exists plan_lines (
      list_id varchar not null,
      line_id integer not null,
      iso_week varchar not null,
      channel varchar not null,
      debtor_id varchar not null,
      case_id varchar not null,
      creditor_ref varchar not null,
      case_ref varchar not null,
      action varchar not null,
      planned_attempts integer not null,
      phone_e164 varchar              -- the number the line dials (call) or texts (sms)
    )
    """,
    # state stores written before plan_lines named the number
    "alter table plan_lines add column if not exists phone_e164 varchar",
    """
    create table if not exists decisions (
      iso_week varchar not null,
      case_id varchar not null,
      creditor_ref varchar not null,
      case_ref varchar not null,
      action varchar not null,
      propensity double not null,
      policy_id varchar not null,
      is_exploration boolean not null,
      is_holdout boolean not null,
      decided_at timestamp not null
    )
    """,
    """
    create table if not exists approval_requests (
      iso_week varchar not null,
      case_id varchar not null,
      creditor_ref varchar not null,
      case_ref varchar not null,
      action varchar not null,
      requested_at timestamp not null
    )
    """,
    """
    create table if not exists approvals (
      iso_week varchar not null,
      creditor_ref varchar not null,
      case_ref varchar not null,
      action varchar not null,
      approved_by varchar not null,
      reason varchar not null,
      approved_at timestamp not null,
      source_file varchar not null,
      file_sha256 varchar not null
    )
    """,
)


class PlanError(ValueError):
    """A plan input or setting a user can fix (one line: what and what to do)."""


# -- settings -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanFigures:
    """Every figure the plan applies, from relance.toml."""

    capacity: int
    attempts_per_debtor: int
    exploration_share: float
    holdout_share: float
    formal_notice_explored: bool
    seed: int
    fallback_policy_id: str
    commission: float
    complaint_penalty_cents: float
    cost_cents: dict[str, int]
    fallback_base_rate: float
    fallback_uplift: dict[str, float]
    fallback_complaint: dict[str, float]


def team_capacity(settings: Settings) -> int:
    """Call attempts a week: agents × attempts per agent-day × team days, which must equal
    ``team.call_attempts_per_week`` (the same figure, stated for people)."""
    agents = int(settings.require("team.agents"))
    per_day = int(settings.require("team.attempts_per_agent_per_day"))
    days = len(settings.require("team.days"))
    weekly = int(settings.require("team.call_attempts_per_week"))
    if agents * per_day * days != weekly:
        raise PlanError(
            f"relance.toml: [team] agents × attempts_per_agent_per_day × days = "
            f"{agents} × {per_day} × {days} = {agents * per_day * days}, but "
            f"call_attempts_per_week = {weekly}; make them agree"
        )
    return weekly


def _action_table(settings: Settings, key: str) -> dict[str, float]:
    table = settings.require(key)
    missing = [a for a in ACTIONS if a not in table]
    if missing:
        raise PlanError(f"relance.toml: [{key}] lacks {', '.join(missing)}; give every action")
    return {a: float(table[a]) for a in ACTIONS}


def plan_figures(settings: Settings, capacity: int | None = None) -> PlanFigures:
    """The plan's figures (``capacity`` overrides the team's weekly attempts)."""
    figures = PlanFigures(
        capacity=int(capacity) if capacity is not None else team_capacity(settings),
        attempts_per_debtor=int(settings.require("plan.attempts_per_debtor")),
        exploration_share=float(settings.require("policy.exploration_share")),
        holdout_share=float(settings.require("policy.control_holdout_share")),
        formal_notice_explored=bool(settings.require("policy.formal_notice_explored")),
        seed=int(settings.require("plan.seed")),
        fallback_policy_id=str(settings.require("plan.fallback_policy_id")),
        commission=float(settings.require("objective.commission")),
        complaint_penalty_cents=float(settings.require("objective.complaint_penalty_cents")),
        cost_cents={a: int(v) for a, v in _action_table(settings, "objective.cost_cents").items()},
        fallback_base_rate=float(settings.require("plan.fallback_base_rate")),
        fallback_uplift=_action_table(settings, "plan.fallback_uplift"),
        fallback_complaint=_action_table(settings, "plan.fallback_complaint"),
    )
    if figures.capacity < 0 or figures.attempts_per_debtor < 1:
        raise PlanError("capacity must be ≥ 0 and plan.attempts_per_debtor ≥ 1")
    if not 0 <= figures.exploration_share < 1 or not 0 <= figures.holdout_share < 1:
        raise PlanError("relance.toml: [policy] shares must be in [0, 1)")
    return figures


# -- weeks --------------------------------------------------------------------------------------


def week_monday(iso_week: str) -> date:
    """``2026-W47`` → its Monday; a malformed week names the expected form."""
    try:
        year, week = iso_week.split("-W")
        return date.fromisocalendar(int(year), int(week), 1)
    except ValueError as exc:
        raise PlanError(f"--week {iso_week!r}: expected YYYY-Www, for example 2026-W47") from exc


def iso_week_of(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


# -- action values ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionValues:
    """The long frame ``case_id, action, value_cents, propensity`` and where it came from."""

    frame: pl.DataFrame
    source: str  # "recommender" or "fallback"
    policy_id: str
    run_ids: dict[str, str]
    note: str


def scorer_frame(
    con, home: Home, settings: Settings, as_of: date
) -> tuple[pl.DataFrame, str] | None:
    """The champion scorer's ``case_id, p_pay, expected_cents, score_band, reasons_fr`` at
    ``as_of``: its rows in the state store's ``scores`` for that date when ``relance score`` wrote
    them, else scored now in memory; ``None`` without a champion."""
    from models.registry import Registry

    registry = Registry(home.artifacts / "models")
    champion = registry.champion("scorer")
    if champion is None:
        return None
    columns = ["case_id", "p_pay", "expected_cents", "score_band", "reasons_fr"]
    if home.state_path.exists():
        with home.state(read_only=True) as state:
            has_table = state.execute(
                "select count(*) from information_schema.tables where table_name = 'scores'"
            ).fetchall()[0][0]
            if has_table:
                stored = state.sql(
                    f"select {', '.join(columns)} from scores where run_id = ? and as_of = ?",
                    params=[champion.run_id, as_of],
                ).pl()
                if stored.height:
                    return stored, champion.run_id
    from pipelines import features as F
    from pipelines.score import scores_frame

    model = registry.load("scorer", champion.run_id)
    bounds = tuple(float(b) for b in settings.require("scorer.bands"))
    frame = F.model_frame_at(con, as_of)
    scored = scores_frame(model, frame, champion.run_id, bounds, reasons=True)
    return scored.select(columns), champion.run_id


def fallback_action_values(
    eligible: pl.DataFrame, scores: pl.DataFrame | None, figures: PlanFigures
) -> pl.DataFrame:
    """The documented fallback rule (no recommender champion), for every allowed action:

    ``E[amount | a] = base × (1 + uplift[a])`` with ``base`` the champion scorer's expected
    amount (``p_pay × E[amount | pay]``), or ``balance × fallback_base_rate`` without a scorer;
    ``V(a) = commission × E[amount | a] − cost(a) − λ × P(complaint | a)`` with the fixed tables
    ``[plan.fallback_uplift]`` and ``[plan.fallback_complaint]``. ``propensity`` is 1 for the
    best allowed action and 0 otherwise (before capacity, approvals and exploration).
    """
    base = eligible.select("case_id", "balance_cents", *[f"allow_{a}" for a in ACTIONS])
    if scores is not None:
        base = base.join(
            scores.select("case_id", "expected_cents"), on="case_id", how="left"
        ).with_columns(
            pl.col("expected_cents")
            .cast(pl.Float64)
            .fill_null(pl.col("balance_cents").clip(0) * figures.fallback_base_rate)
            .alias("base_cents")
        )
    else:
        base = base.with_columns(
            (pl.col("balance_cents").clip(0) * figures.fallback_base_rate).alias("base_cents")
        )
    long = pl.concat(
        [
            base.filter(pl.col(f"allow_{a}")).select(
                "case_id",
                pl.lit(a).alias("action"),
                (
                    figures.commission * pl.col("base_cents") * (1 + figures.fallback_uplift[a])
                    - figures.cost_cents[a]
                    - figures.complaint_penalty_cents * figures.fallback_complaint[a]
                ).alias("value_cents"),
            )
            for a in ACTIONS
        ]
    )
    return with_greedy_propensity(long)


def with_greedy_propensity(values: pl.DataFrame) -> pl.DataFrame:
    """``propensity`` = 1 on each case's best action (ties: DESIGN §5 order), else 0."""
    order = {a: i for i, a in enumerate(ACTIONS)}
    ranked = values.with_columns(
        pl.col("action").replace_strict(order, return_dtype=pl.Int32).alias("_order")
    ).sort(["case_id", "value_cents", "_order"], descending=[False, True, False])
    best = ranked.group_by("case_id", maintain_order=True).first().select("case_id", "action")
    return (
        ranked.join(
            best.with_columns(pl.lit(1.0).alias("propensity")), on=["case_id", "action"], how="left"
        )
        .with_columns(pl.col("propensity").fill_null(0.0))
        .select("case_id", "action", pl.col("value_cents").cast(pl.Float64), "propensity")
        .sort("case_id", "action")
    )


def recommender_champion(home: Home) -> tuple[str | None, bool]:
    """The recommender champion's run id (``None`` without one) and whether its run fell back
    to a single action (its own held-out evaluation did not show that personalising beats it,
    so its per-case values are not to be ranked on)."""
    from models.registry import Registry

    registry = Registry(home.artifacts / "models")
    champion = registry.champion("recommender")
    if champion is None:
        return None, False
    policy = registry.meta("recommender", champion.run_id).get("policy") or {}
    return champion.run_id, policy.get("mode") == "fallback"


def recommender_values(
    home: Home, settings: Settings, as_of: date, run_id: str
) -> tuple[pl.DataFrame, str] | None:
    """The per-case action values of the recommender champion ``run_id`` (one that
    personalises), when ``pipelines.recommend`` offers ``action_values(home, settings,
    as_of)`` (imported lazily: the recommender is optional); ``None`` otherwise."""
    try:
        from pipelines import recommend
    except ImportError:
        return None
    function = getattr(recommend, "action_values", None)
    if function is None:
        return None
    frame = function(home, settings, as_of)
    if "propensity" not in frame.columns:
        frame = with_greedy_propensity(frame.select("case_id", "action", "value_cents"))
    return frame.select("case_id", "action", "value_cents", "propensity"), run_id


def action_values(
    con, home: Home, settings: Settings, eligible: pl.DataFrame, as_of: date, figures: PlanFigures
) -> tuple[ActionValues, pl.DataFrame | None]:
    """The one source of action values for the plan, and the scorer frame (band, reasons)."""
    scored = scorer_frame(con, home, settings, as_of)
    scores, scorer_run = scored if scored else (None, None)
    run_ids = {"scorer": scorer_run} if scorer_run else {}
    champion, fell_back = recommender_champion(home)
    recommended = (
        recommender_values(home, settings, as_of, champion)
        if champion is not None and not fell_back
        else None
    )
    if recommended is not None:
        frame, run_id = recommended
        allowed = allowed_pairs(eligible)
        frame = frame.join(allowed, on=["case_id", "action"], how="semi")
        return (
            ActionValues(
                frame,
                "recommender",
                f"recommender:{run_id}",
                run_ids | {"recommender": run_id},
                "recommender champion",
            ),
            scores,
        )
    basis = (
        "scorer champion expected amount"
        if scores is not None
        else "balance × base rate (no scorer champion)"
    )
    why = (
        f"recommender champion {champion} fell back to a single action (personalising "
        "unproven), so its per-case values are not ranked on"
        if fell_back
        else "no recommender champion"
    )
    note = (
        f"{why}: fallback rule V(a) = commission × base × (1 + uplift[a]) "
        f"− cost(a) − λ × P(complaint | a), base = {basis}; tables [plan.fallback_uplift], "
        "[plan.fallback_complaint]"
    )
    frame = fallback_action_values(eligible, scores, figures)
    return ActionValues(frame, "fallback", figures.fallback_policy_id, run_ids, note), scores


def allowed_pairs(eligible: pl.DataFrame) -> pl.DataFrame:
    """``case_id, action`` for every action ``marts.eligibility`` allows."""
    return pl.concat(
        [
            eligible.filter(pl.col(f"allow_{a}")).select("case_id", pl.lit(a).alias("action"))
            for a in ACTIONS
        ]
    )


# -- calling windows ----------------------------------------------------------------------------


def _parsed_time(text: str | None) -> time | None:
    try:
        return time.fromisoformat(text) if text else None
    except ValueError:
        return None


def window_text(days: list[tuple[date, list[tuple[str, str]]]]) -> str:
    """``[(day, [("09:00", "12:30"), …]), …]`` → ``lun-ven 09:00-12:30 13:30-19:00; sam …``
    (consecutive days with the same hours grouped; days without a window left out)."""
    groups: list[tuple[date, date, str]] = []
    for day, intervals in days:
        if not intervals:
            continue
        hours = " ".join(f"{a}-{b}" for a, b in intervals)
        if groups and groups[-1][2] == hours and groups[-1][1] == day - timedelta(days=1):
            groups[-1] = (groups[-1][0], day, hours)
        else:
            groups.append((day, day, hours))
    parts = []
    for first, last, hours in groups:
        name = DAY_NAMES_FR[first.weekday()]
        if last != first:
            name += "-" + DAY_NAMES_FR[last.weekday()]
        parts.append(f"{name} {hours}")
    return "; ".join(parts)


def debtor_call_windows(
    debtors: pl.DataFrame, week_start: date, holidays: pl.DataFrame, settings: Settings
) -> pl.DataFrame:
    """Per debtor (``debtor_id, tz, department, next_call_date, preferred_call_start/_end``):
    ``call_days`` (days with a window from ``next_call_date``), ``window_local`` and
    ``window_team`` (the same intervals in the debtor's and the team's time), by
    ``rules.day_windows`` (profile, holidays of the department, stated hours, team hours)."""
    from zoneinfo import ZoneInfo

    debtor_w = rules.profile_windows(settings)
    team_w = rules.team_windows(settings)
    team_tz = str(settings.require("team.timezone"))
    default_tz = str(settings.require("build.default_timezone"))
    by_department: dict[str, set[date]] = {}
    for department, day in holidays.select("department", "holiday_date").iter_rows():
        by_department.setdefault(department, set()).add(day)
    keys = ["tz", "department", "next_call_date", "preferred_call_start", "preferred_call_end"]
    rows = []
    for tz_name, department, first_day, p_start, p_end in debtors.select(keys).unique().iter_rows():
        tz = tz_name or default_tz
        start, end = _parsed_time(p_start), _parsed_time(p_end)
        preferred = rules.Window(start, end) if start and end and start < end else None
        local_days, team_days = [], []
        for offset in range(7):
            day = week_start + timedelta(days=offset)
            if first_day is not None and day < first_day:
                continue
            intervals = rules.day_windows(
                day,
                tz,
                by_department.get(department or "", set()),
                debtor_w,
                team_w,
                team_tz,
                preferred,
            )
            local_days.append(
                (
                    day,
                    [
                        (
                            a.astimezone(ZoneInfo(tz)).strftime("%H:%M"),
                            b.astimezone(ZoneInfo(tz)).strftime("%H:%M"),
                        )
                        for a, b in intervals
                    ],
                )
            )
            team_days.append(
                (
                    day,
                    [
                        (
                            a.astimezone(ZoneInfo(team_tz)).strftime("%H:%M"),
                            b.astimezone(ZoneInfo(team_tz)).strftime("%H:%M"),
                        )
                        for a, b in intervals
                    ],
                )
            )
        rows.append(
            (
                tz_name,
                department,
                first_day,
                p_start,
                p_end,
                sum(1 for _, i in local_days if i),
                window_text(local_days),
                window_text(team_days),
            )
        )
    schema = {
        "tz": pl.String,
        "department": pl.String,
        "next_call_date": pl.Date,
        "preferred_call_start": pl.String,
        "preferred_call_end": pl.String,
        "call_days": pl.Int64,
        "window_local": pl.String,
        "window_team": pl.String,
    }
    windows = pl.DataFrame(rows, schema=schema, orient="row")
    return debtors.select("debtor_id", *keys).join(windows, on=keys, how="left", nulls_equal=True)


# -- call slots ---------------------------------------------------------------------------------


def feasible_values(
    values: pl.DataFrame, eligible: pl.DataFrame, approved: pl.DataFrame
) -> pl.DataFrame:
    """Action values restricted to what may be done this week before capacity: allowed by
    ``marts.eligibility`` and, for a formal notice needing approval, approved for the week
    (``approved``: ``case_id``). Adds ``debtor_id``."""
    needs = eligible.select("case_id", "debtor_id", "formal_notice_needs_approval")
    frame = values.join(needs, on="case_id", how="inner").join(
        allowed_pairs(eligible), on=["case_id", "action"], how="semi"
    )
    approved_ids = approved.select("case_id").with_columns(pl.lit(True).alias("_approved"))
    frame = frame.join(approved_ids, on="case_id", how="left")
    held = (
        (pl.col("action") == "formal_notice")
        & pl.col("formal_notice_needs_approval")
        & pl.col("_approved").is_null()
    )
    return frame.filter(~held).select("case_id", "debtor_id", "action", "value_cents")


def call_margins(feasible: pl.DataFrame, callable_debtors: pl.DataFrame) -> pl.DataFrame:
    """Per debtor with a calling window and a callable case: the tone of the best call
    (summed over the debtor's callable cases), ``margin_cents`` = Σ over those cases of
    value(that call) − value(the case's best feasible non-call action)."""
    calls = feasible.filter(pl.col("action").is_in(CALL_ACTIONS)).join(
        callable_debtors.select("debtor_id"), on="debtor_id", how="semi"
    )
    non_call = (
        feasible.filter(~pl.col("action").is_in(CALL_ACTIONS))
        .group_by("case_id")
        .agg(pl.col("value_cents").max().alias("non_call_cents"))
    )
    per_tone = (
        calls.join(non_call, on="case_id", how="left")
        .with_columns(
            (pl.col("value_cents") - pl.col("non_call_cents").fill_null(0.0)).alias("gain")
        )
        .group_by("debtor_id", "action")
        .agg(pl.col("gain").sum().alias("margin_cents"))
    )
    return (
        per_tone.sort(["debtor_id", "margin_cents", "action"], descending=[False, True, False])
        .group_by("debtor_id", maintain_order=True)
        .first()
        .rename({"action": "call_action"})
    )


def call_slots(
    margins: pl.DataFrame, attempts: pl.DataFrame, capacity: int, per_debtor: int
) -> pl.DataFrame:
    """Debtors whose best action is a call (margin > 0), best margin first (ties: debtor id),
    while the planned attempts (``min(per_debtor, call_attempts_remaining)``) fit the capacity.
    Returns ``debtor_id, call_action, margin_cents, planned_attempts, slot_rank``."""
    ranked = (
        margins.filter(pl.col("margin_cents") > 0)
        .join(attempts, on="debtor_id", how="inner")
        .with_columns(
            pl.min_horizontal(pl.lit(per_debtor), pl.col("call_attempts_remaining"))
            .cast(pl.Int64)
            .alias("planned_attempts")
        )
        .filter(pl.col("planned_attempts") > 0)
        .sort(["margin_cents", "debtor_id"], descending=[True, False])
        .with_columns(pl.col("planned_attempts").cum_sum().alias("_used"))
    )
    return (
        ranked.filter(pl.col("_used") <= capacity)
        .with_row_index("slot_rank", offset=1)
        .select(
            "debtor_id",
            "call_action",
            "margin_cents",
            "planned_attempts",
            pl.col("slot_rank").cast(pl.Int64),
        )
    )


# -- decisions ----------------------------------------------------------------------------------


def unit_draws(keys: list[str], salt: str) -> np.ndarray:
    """Two uniforms in [0, 1) per key from a keyed BLAKE2b of ``salt`` and the key (stable
    across processes and versions; the same key and salt give the same draws)."""
    out = np.empty((len(keys), 2))
    salt_bytes = salt.encode()
    for i, key in enumerate(keys):
        digest = hashlib.blake2b(key.encode(), digest_size=16, key=salt_bytes[:64]).digest()
        out[i, 0] = int.from_bytes(digest[:8], "big") / 2**64
        out[i, 1] = int.from_bytes(digest[8:], "big") / 2**64
    return out


def decided(
    feasible: pl.DataFrame,
    cases: pl.DataFrame,
    slots: pl.DataFrame,
    figures: PlanFigures,
    iso_week: str,
) -> pl.DataFrame:
    """One final decision per case of ``cases`` (``case_id, debtor_id, outbound_remaining``).

    Cases of a debtor are taken in order of their best value above ``wait`` (then case id);
    each sees the debtor's budget left by the earlier ones (a call costs the debtor's planned
    attempts once, however many of its cases it covers; any other contact costs 1; ``wait`` 0),
    so the budget is allocated once per debtor. Among the feasible actions (calls only on a call
    slot), the control holdout waits; otherwise the greedy best is taken, or with probability
    ``exploration_share`` a uniform draw among the feasible actions (never a formal notice, nor
    when the best is an approved formal notice). Returns ``case_id, action, value_cents,
    propensity, is_exploration, is_holdout, greedy_action``.
    """
    order = {a: i for i, a in enumerate(ACTIONS)}
    slot = slots.select("debtor_id", "planned_attempts")
    options = (
        feasible.join(cases.select("case_id"), on="case_id", how="semi")
        .join(slot, on="debtor_id", how="left")
        .filter(~pl.col("action").is_in(CALL_ACTIONS) | pl.col("planned_attempts").is_not_null())
        .with_columns(pl.col("action").replace_strict(order, return_dtype=pl.Int32).alias("_order"))
    )
    # every case may wait (even when the values give none)
    waits = cases.select("case_id", "debtor_id").join(
        options.filter(pl.col("action") == "wait").select("case_id"), on="case_id", how="anti"
    )
    options = pl.concat(
        [
            options,
            waits.with_columns(
                pl.lit("wait").alias("action"),
                pl.lit(0.0).alias("value_cents"),
                pl.lit(None, pl.Int64).alias("planned_attempts"),
                pl.lit(0, pl.Int32).alias("_order"),
            ).select(options.columns),
        ]
    )
    wait_value = options.filter(pl.col("action") == "wait").select(
        "case_id", pl.col("value_cents").alias("_wait")
    )
    priority = (
        options.join(wait_value, on="case_id", how="left")
        .group_by("case_id")
        .agg((pl.col("value_cents") - pl.col("_wait")).max().alias("_best_uplift"))
        .join(cases.select("case_id", "debtor_id"), on="case_id")
        .sort(["debtor_id", "_best_uplift", "case_id"], descending=[False, True, False])
        .with_columns(pl.int_range(pl.len()).over("debtor_id").alias("_k"))
    )
    case_ids = priority["case_id"].to_list()
    week_draws = unit_draws(case_ids, f"{figures.seed}:{iso_week}")
    holdout_draws = unit_draws(case_ids, f"{figures.seed}:holdout")
    priority = priority.with_columns(
        pl.Series("_u_explore", week_draws[:, 0]),
        pl.Series("_u_pick", week_draws[:, 1]),
        (pl.Series("_u_hold", holdout_draws[:, 0]) < figures.holdout_share).alias("is_holdout"),
    )
    budget = (
        cases.group_by("debtor_id")
        .agg(pl.col("outbound_remaining").first().fill_null(0).cast(pl.Int64).alias("_left"))
        .with_columns(pl.lit(False).alias("_call_charged"))
    )
    eps = figures.exploration_share
    results = []
    for k in range(int(priority["_k"].max() or 0) + 1 if priority.height else 0):
        round_cases = priority.filter(pl.col("_k") == k)
        opts = (
            options.join(
                round_cases.select("case_id", "is_holdout", "_u_explore", "_u_pick"),
                on="case_id",
                how="inner",
            )
            .join(budget, on="debtor_id", how="left")
            .with_columns(
                pl.when(pl.col("action") == "wait")
                .then(0)
                .when(pl.col("action").is_in(CALL_ACTIONS))
                .then(
                    pl.when(pl.col("_call_charged")).then(0).otherwise(pl.col("planned_attempts"))
                )
                .otherwise(1)
                .alias("_cost")
            )
            .filter(pl.col("_cost") <= pl.col("_left"))
            .sort(["case_id", "value_cents", "_order"], descending=[False, True, False])
        )
        greedy = (
            opts.group_by("case_id", maintain_order=True)
            .first()
            .select("case_id", pl.col("action").alias("greedy_action"))
        )
        opts = opts.join(greedy, on="case_id").with_columns(
            ((pl.col("action") != "formal_notice") | pl.lit(figures.formal_notice_explored)).alias(
                "_explorable"
            )
        )
        explore_n = opts.group_by("case_id").agg(
            pl.col("_explorable").sum().alias("_n"),
            (pl.col("greedy_action") == "formal_notice").first().alias("_greedy_notice"),
        )
        opts = (
            opts.join(explore_n, on="case_id")
            .with_columns(
                (
                    ~pl.col("is_holdout")
                    & ~(pl.col("_greedy_notice") & pl.lit(not figures.formal_notice_explored))
                    & (pl.col("_n") > 0)
                ).alias("_may_explore")
            )
            .with_columns(
                (pl.col("_may_explore") & (pl.col("_u_explore") < eps)).alias("is_exploration"),
                pl.when(pl.col("_explorable"))
                .then(pl.col("_order"))
                .otherwise(None)
                .rank("ordinal")
                .over("case_id")
                .alias("_explore_index"),
            )
        )
        pick = (pl.col("_u_pick") * pl.col("_n")).floor().cast(pl.Int64) + 1
        chosen = opts.filter(
            pl.when(pl.col("is_holdout"))
            .then(pl.col("action") == "wait")
            .when(pl.col("is_exploration"))
            .then(pl.col("_explorable") & (pl.col("_explore_index") == pick))
            .otherwise(pl.col("action") == pl.col("greedy_action"))
        ).with_columns(
            pl.when(pl.col("is_holdout"))
            .then(1.0)
            .when(~pl.col("_may_explore"))
            .then(1.0)
            .otherwise(
                (1 - eps) * (pl.col("action") == pl.col("greedy_action")).cast(pl.Float64)
                + eps * pl.col("_explorable").cast(pl.Float64) / pl.col("_n")
            )
            .alias("propensity")
        )
        results.append(
            chosen.select(
                "case_id",
                "debtor_id",
                "action",
                "value_cents",
                "propensity",
                "is_exploration",
                "is_holdout",
                "greedy_action",
                "_cost",
            )
        )
        spent = chosen.group_by("debtor_id").agg(
            pl.col("_cost").sum().alias("_spent"),
            pl.col("action").is_in(CALL_ACTIONS).any().alias("_called"),
        )
        budget = (
            budget.join(spent, on="debtor_id", how="left")
            .with_columns(
                (pl.col("_left") - pl.col("_spent").fill_null(0)).alias("_left"),
                (pl.col("_call_charged") | pl.col("_called").fill_null(False)).alias(
                    "_call_charged"
                ),
            )
            .select("debtor_id", "_left", "_call_charged")
        )
    schema_cols = [
        "case_id",
        "debtor_id",
        "action",
        "value_cents",
        "propensity",
        "is_exploration",
        "is_holdout",
        "greedy_action",
    ]
    if not results:
        return pl.DataFrame(
            schema={c: pl.String for c in schema_cols[:3]}
            | {
                "value_cents": pl.Float64,
                "propensity": pl.Float64,
                "is_exploration": pl.Boolean,
                "is_holdout": pl.Boolean,
                "greedy_action": pl.String,
            }
        )
    return pl.concat(results).select(schema_cols).sort("case_id")


# -- the week's plan (frames only) --------------------------------------------------------------


@dataclass(frozen=True)
class WeeklyPlan:
    """Everything a week's plan decided, before any file is written."""

    iso_week: str
    as_of: date
    eligibility: pl.DataFrame
    values: ActionValues
    scores: pl.DataFrame | None
    slots: pl.DataFrame
    decisions: pl.DataFrame
    requests: pl.DataFrame
    windows: pl.DataFrame
    figures: PlanFigures
    non_call_best: pl.DataFrame = field(repr=False)


def open_cases(eligibility: pl.DataFrame) -> pl.DataFrame:
    """The cases that get a decision this week: every case known and neither closed nor
    recalled (excluded ones included: they wait)."""
    return eligibility.filter(
        ~pl.col("exclusion_reasons").list.contains("closed")
        & ~pl.col("exclusion_reasons").list.contains("recalled")
    )


def approved_cases(eligibility: pl.DataFrame, approvals: pl.DataFrame) -> pl.DataFrame:
    """``case_id`` of the cases whose formal notice is approved for the week (``approvals``:
    ``creditor_ref, case_ref``)."""
    return (
        eligibility.select("case_id", "creditor_ref", "case_ref")
        .join(
            approvals.select("creditor_ref", "case_ref").unique(),
            on=["creditor_ref", "case_ref"],
            how="semi",
        )
        .select("case_id")
    )


def weekly_plan(
    con,
    home: Home,
    settings: Settings,
    as_of: date,
    figures: PlanFigures,
    approvals: pl.DataFrame,
    values: ActionValues | None = None,
) -> WeeklyPlan:
    """The week's plan from the build behind ``con`` as of ``as_of`` (the week's Monday)."""
    iso_week = iso_week_of(as_of)
    eligibility = rules.eligibility(con, as_of, settings)
    cases = open_cases(eligibility)
    scores = None
    if values is None:
        values, scores = action_values(con, home, settings, cases, as_of, figures)
    approved = approved_cases(cases, approvals)
    feasible = feasible_values(values.frame, cases, approved)
    # requests: the best allowed action is a formal notice that still needs its approval
    with_notices = feasible_values(values.frame, cases, cases.select("case_id"))
    best = with_greedy_propensity(with_notices.select("case_id", "action", "value_cents")).filter(
        pl.col("propensity") == 1.0
    )
    requests = (
        best.filter(pl.col("action") == "formal_notice")
        .join(approved, on="case_id", how="anti")
        .join(
            cases.filter(pl.col("formal_notice_needs_approval")).select("case_id"),
            on="case_id",
            how="semi",
        )
        .select("case_id", "action")
    )
    callers = (
        cases.filter(pl.col("allow_call_nudge") | pl.col("allow_call_formal"))
        .unique("debtor_id", keep="first")
        .sort("debtor_id")
    )
    windows = debtor_call_windows(
        callers, as_of, con.sql("select * from marts.public_holidays").pl(), settings
    )
    callable_debtors = windows.filter(pl.col("call_days") > 0)
    margins = call_margins(feasible, callable_debtors)
    attempts = cases.group_by("debtor_id").agg(pl.col("call_attempts_remaining").first())
    slots = call_slots(margins, attempts, figures.capacity, figures.attempts_per_debtor)
    decisions = decided(feasible, cases, slots, figures, iso_week)
    non_call_best = (
        feasible.filter(~pl.col("action").is_in(CALL_ACTIONS))
        .sort(["case_id", "value_cents"], descending=[False, True])
        .group_by("case_id", maintain_order=True)
        .first()
        .select(
            "case_id",
            pl.col("action").alias("non_call_action"),
            pl.col("value_cents").alias("non_call_cents"),
        )
    )
    return WeeklyPlan(
        iso_week,
        as_of,
        eligibility,
        values,
        scores,
        slots,
        decisions,
        requests,
        windows,
        figures,
        non_call_best,
    )


# -- what the files carry -----------------------------------------------------------------------


def contact_points_at(con, as_of: date) -> pl.DataFrame:
    """Per debtor at ``as_of``: the phone to call (mobile first, then the latest seen), the
    mobile to text, the latest e-mail — valid and not invalidated by then."""
    return con.sql(
        """
        with known as (
            select debtor_id, channel, value, phone_type, first_seen_date
            from core.contact_points
            where is_valid and first_seen_date < ?::date and received_date < ?::date
              and not coalesce(
                  invalidated_date < ?::date and invalidated_received_date < ?::date, false
              )
        )
        select
            debtor_id,
            arg_max(value, (phone_type = 'mobile', first_seen_date, value))
                filter (where channel = 'phone') as phone_e164,
            arg_max(phone_type, (phone_type = 'mobile', first_seen_date, value))
                filter (where channel = 'phone') as phone_type,
            arg_max(value, (first_seen_date, value))
                filter (where channel = 'phone' and phone_type = 'mobile') as mobile_e164,
            arg_max(value, (first_seen_date, value)) filter (where channel = 'email') as email
        from known
        group by debtor_id
        """,
        params=[as_of, as_of, as_of, as_of],
    ).pl()


def debtor_details(con) -> pl.DataFrame:
    return con.sql(
        "select debtor_id, display_name as debtor_name, address_line, postcode, city, country "
        "from core.debtors"
    ).pl()


def creditor_names(con) -> pl.DataFrame:
    return con.sql(
        "select creditor_id, coalesce(name, creditor_ref) as creditor_name from core.creditors"
    ).pl()


def joined_non_empty(column: str, separator: str = " | ") -> pl.Expr:
    """In an aggregation: the group's non-null, non-blank values of ``column`` as text, joined
    by ``separator`` in the group's order; null when there is none (no empty slots: a debtor's
    case without a first letter adds nothing)."""
    text = pl.col(column).cast(pl.String)
    joined = text.filter(text.str.strip_chars().fill_null("") != "").str.join(separator)
    return pl.when(joined != "").then(joined)


def stable_id(prefix: str, parts: pl.DataFrame) -> str:
    """``prefix-xxxxxxxx``: a hash of the rows (the same rows give the same id)."""
    digest = hashlib.sha256(parts.write_csv().encode()).hexdigest()[:8]
    return f"{prefix}-{digest}"


def call_list(plan: WeeklyPlan, con) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(the call list in ``CALL_LIST_COLUMNS``, its lines per case for ``plan_lines``): one row per
    debtor whose final action on some case is a call, ranked by the call's margin."""
    calls = plan.decisions.filter(pl.col("action").is_in(CALL_ACTIONS))
    cases = plan.eligibility.select(
        "case_id",
        "debtor_id",
        "creditor_id",
        "creditor_ref",
        "case_ref",
        "balance_cents",
        "currency",
        "tz",
        "last_action_date",
        "last_broken_promise_date",
        "first_letter_ref",
        "first_letter_date",
        "limitation_date",
    )
    scores = (
        plan.scores.select("case_id", "score_band", "reasons_fr")
        if plan.scores is not None
        else pl.DataFrame(
            schema={"case_id": pl.String, "score_band": pl.String, "reasons_fr": pl.String}
        )
    )
    rows = (
        calls.select("case_id", "action", "value_cents")
        .join(cases, on="case_id")
        .join(scores, on="case_id", how="left")
        .join(creditor_names(con), on="creditor_id", how="left")
        .join(plan.slots.select("debtor_id", "slot_rank", "planned_attempts"), on="debtor_id")
        .sort(
            ["slot_rank", "value_cents", "creditor_ref", "case_ref"],
            descending=[False, True, False, False],
        )
    )
    lines = rows.group_by("debtor_id", maintain_order=True).agg(
        pl.col("slot_rank").first(),
        pl.col("planned_attempts").first(),
        pl.col("case_ref").str.join(" | ").alias("case_refs"),
        pl.col("creditor_name").unique(maintain_order=True).str.join(" | ").alias("creditor"),
        pl.col("tz").first(),
        pl.col("balance_cents").sum().alias("amount_due_cents"),
        pl.col("currency").unique(maintain_order=True).str.join(" | ").alias("currency"),
        pl.col("action").first().str.replace("call_", "").alias("recommended_tone"),
        pl.col("score_band").drop_nulls().first(),
        pl.col("reasons_fr").drop_nulls().first().alias("top_reasons"),
        pl.col("last_action_date").max().alias("last_contact_date"),
        pl.col("last_broken_promise_date").max(),
        joined_non_empty("first_letter_ref").alias("first_letter_refs"),
        joined_non_empty("first_letter_date").alias("first_letter_dates"),
        pl.col("limitation_date").min(),
    )
    points = contact_points_at(con, plan.as_of).select("debtor_id", "phone_e164", "phone_type")
    lines = (
        lines.join(points, on="debtor_id", how="left")
        .join(debtor_details(con).select("debtor_id", "debtor_name"), on="debtor_id", how="left")
        .join(
            plan.windows.select("debtor_id", "window_local", "window_team"),
            on="debtor_id",
            how="left",
        )
        .sort("slot_rank")
        .with_row_index("rank", offset=1)
        .with_columns(pl.col("rank").cast(pl.Int64), pl.col("rank").cast(pl.Int64).alias("line_id"))
    )
    list_id = stable_id(
        f"{plan.iso_week}-calls", lines.select("debtor_id", "case_refs", "recommended_tone")
    )
    lines = lines.with_columns(pl.lit(list_id).alias("list_id"))
    per_case = rows.join(
        lines.select("debtor_id", "list_id", "line_id", "phone_e164"), on="debtor_id"
    ).select(
        "list_id",
        "line_id",
        "debtor_id",
        "case_id",
        "creditor_ref",
        "case_ref",
        "action",
        "planned_attempts",
        "phone_e164",
    )
    return lines.select(list(CALL_LIST_COLUMNS)), per_case.with_columns(
        pl.lit("call").alias("channel")
    )


def batch(plan: WeeklyPlan, con, channel: str) -> pl.DataFrame:
    """One channel's batch for the week: one row per case whose final action uses it."""
    actions = [a for a in ACTIONS if ACTION_CHANNEL[a] == channel]
    chosen = plan.decisions.filter(pl.col("action").is_in(actions)).select(
        "case_id", "debtor_id", "action"
    )
    cases = plan.eligibility.select(
        "case_id",
        "creditor_ref",
        "case_ref",
        pl.col("balance_cents").alias("amount_due_cents"),
        "currency",
        "first_letter_ref",
        "first_letter_date",
    )
    frame = (
        chosen.join(cases, on="case_id")
        .join(debtor_details(con), on="debtor_id", how="left")
        .join(contact_points_at(con, plan.as_of), on="debtor_id", how="left")
        .sort("creditor_ref", "case_ref")
        .with_row_index("line_id", offset=1)
        .with_columns(pl.col("line_id").cast(pl.Int64))
    )
    list_id = stable_id(f"{plan.iso_week}-{channel}", frame.select("case_id", "action"))
    return frame.with_columns(pl.lit(list_id).alias("list_id"))


def batch_columns(channel: str) -> list[str]:
    return [*BATCH_COMMON, *BATCH_CONTACT[channel], *BATCH_TAIL]


def specialist_queue(plan: WeeklyPlan) -> pl.DataFrame:
    """The specialist queue: case references and ``specialist``, nothing else."""
    return (
        open_cases(plan.eligibility)
        .filter(pl.col("is_specialist"))
        .select("case_ref", pl.lit("specialist").alias("queue"))
        .sort("case_ref")
    )


def approval_request_rows(plan: WeeklyPlan) -> pl.DataFrame:
    return (
        plan.requests.join(plan.eligibility, on="case_id")
        .select(
            pl.lit(plan.iso_week).alias("iso_week"),
            "creditor_ref",
            "case_ref",
            "action",
            pl.col("balance_cents").alias("amount_due_cents"),
            "currency",
            "first_letter_ref",
            "first_letter_date",
            pl.col("last_action_date").alias("last_contact_date"),
        )
        .sort("creditor_ref", "case_ref")
    )


# -- files --------------------------------------------------------------------------------------


def _replace(path: Path, write) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    os.replace(tmp, path)
    return path


def written_csv(frame: pl.DataFrame, path: Path) -> Path:
    """UTF-8 CSV, header first, ``,`` separated, ISO dates, empty for null."""
    return _replace(path, lambda tmp: frame.write_csv(tmp))


def written_xlsx(frame: pl.DataFrame, path: Path, metadata: dict[str, str]) -> Path:
    """The call list for people: French headers, frozen header row, column widths, amounts in
    euros with a euro format, dates as dates, and an ``Informations`` sheet with the metadata."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Appels"
    columns = list(CALL_LIST_COLUMNS)
    sheet.append([CALL_LIST_COLUMNS[c] for c in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    amount_at = columns.index("amount_due_cents")
    date_at = [i for i, c in enumerate(columns) if c.endswith("_date")]
    for row in frame.select(columns).iter_rows():
        values = list(row)
        if values[amount_at] is not None:
            values[amount_at] = values[amount_at] / 100
        sheet.append(values)
    for index, name in enumerate(columns, start=1):
        letter = get_column_letter(index)
        longest = max(
            [len(CALL_LIST_COLUMNS[name])]
            + [len(str(v)) for v in frame[name].to_list() if v is not None]
        )
        sheet.column_dimensions[letter].width = min(max(10, longest + 2), 60)
        if index - 1 == amount_at:
            for cell in sheet[letter][1:]:
                cell.number_format = '#,##0.00 "€"'
        if index - 1 in date_at:
            for cell in sheet[letter][1:]:
                cell.number_format = "DD/MM/YYYY"
    sheet.freeze_panes = "A2"
    info = workbook.create_sheet("Informations")
    for key, value in metadata.items():
        info.append([key, value])
    info.column_dimensions["A"].width = 24
    info.column_dimensions["B"].width = 100
    workbook.properties.title = f"Liste d'appels {metadata.get('iso_week', '')}"
    workbook.properties.description = metadata.get("policy", "")
    return _replace(path, workbook.save)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- the command --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanResult:
    """The closing summary of ``relance plan``."""

    iso_week: str
    as_of: date
    build_id: str | None
    policy_source: str
    policy_id: str
    run_ids: dict[str, str]
    note: str
    open_cases: int
    eligible: int
    excluded_by_reason: dict[str, int]
    specialist: int
    listed: int
    attempts_planned: int
    capacity: int
    expected_incremental_cents: int
    plan_uplift_cents: int
    batches: dict[str, int]
    formal_notices_requested: int
    formal_notices_approved: int
    explored: int
    holdout: int
    list_id: str
    files: tuple[Path, ...]
    seconds: float

    @property
    def capacity_used(self) -> float:
        return self.attempts_planned / self.capacity if self.capacity else 0.0


def planned_frames(plan: WeeklyPlan, con) -> dict[str, pl.DataFrame]:
    """The export frames of a plan: ``calls``, ``call_lines``, ``batch_<channel>``,
    ``specialist``, ``approvals``."""
    calls, call_lines = call_list(plan, con)
    frames = {"calls": calls, "call_lines": call_lines}
    for channel in BATCH_CHANNELS:
        frames[f"batch_{channel}"] = batch(plan, con, channel)
    frames["specialist"] = specialist_queue(plan)
    frames["approvals"] = approval_request_rows(plan)
    return frames


def plan_summary_figures(plan: WeeklyPlan, calls: pl.DataFrame, call_lines: pl.DataFrame) -> dict:
    """Counts and expected values of the summary."""
    cases = open_cases(plan.eligibility)
    excluded = cases.filter(pl.col("is_excluded"))
    by_reason = dict(sorted(excluded.group_by("primary_reason").len().iter_rows()))
    wait = plan.values.frame.filter(pl.col("action") == "wait").select(
        "case_id", pl.col("value_cents").alias("_wait")
    )
    uplift = (
        plan.decisions.join(wait, on="case_id", how="left")
        .select((pl.col("value_cents") - pl.col("_wait").fill_null(0.0)).sum())
        .item()
    )
    incremental = (
        plan.decisions.filter(pl.col("action").is_in(CALL_ACTIONS))
        .join(plan.non_call_best, on="case_id", how="left")
        .select((pl.col("value_cents") - pl.col("non_call_cents").fill_null(0.0)).sum())
        .item()
    )
    attempts = (
        call_lines.unique("line_id").select(pl.col("planned_attempts").sum()).item()
        if call_lines.height
        else 0
    )
    return {
        "open_cases": cases.height,
        "eligible": cases.height - excluded.height,
        "excluded_by_reason": {str(k): int(v) for k, v in by_reason.items()},
        "specialist": int(cases["is_specialist"].sum()),
        "listed": calls.height,
        "attempts_planned": int(attempts or 0),
        "expected_incremental_cents": round(incremental or 0.0),
        "plan_uplift_cents": round(uplift or 0.0),
        "explored": int(plan.decisions["is_exploration"].sum()),
        "holdout": int(plan.decisions["is_holdout"].sum()),
    }


def exported_by(user: str | None) -> str:
    if user:
        return user
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def planned(
    home: Home | Path,
    settings: Settings,
    week: str | None = None,
    capacity: int | None = None,
    user: str | None = None,
) -> PlanResult:
    """``relance plan``: plan ``week`` (default: the ISO week after the build's last data date),
    write the exports under ``exports/`` and record them, the lines and the decisions in the
    state store."""
    from pipelines.train import warehouse

    started = clock.perf_counter()
    home = home if isinstance(home, Home) else Home(Path(home))
    figures = plan_figures(settings, capacity)
    with warehouse(home, settings) as con:
        if week is None:
            last = rules.data_date(con)
            if last is None:
                raise PlanError(
                    f"{home.current_path()}: the build holds no files; run `relance build`"
                )
            as_of = rules.week_start_after(last)
        else:
            as_of = week_monday(week)
        iso_week = iso_week_of(as_of)
        approvals = week_approvals(home, iso_week)
        plan = weekly_plan(con, home, settings, as_of, figures, approvals)
        frames = planned_frames(plan, con)
    build_id = home.current_id()
    metadata = {
        "iso_week": iso_week,
        "as_of": as_of.isoformat(),
        "policy": plan.values.source,
        "policy_id": plan.values.policy_id,
        "note": plan.values.note,
        "model_run_ids": json.dumps(plan.values.run_ids, sort_keys=True),
        "settings_hash": settings.fingerprint,
        "build_id": build_id or "",
        "capacity_attempts": str(figures.capacity),
        "list_id": frames["calls"]["list_id"].first() if frames["calls"].height else "",
    }
    files = written_exports(home, iso_week, frames, metadata)
    user_name = exported_by(user)
    recorded(home, settings, plan, frames, files, metadata, user_name)
    figures_summary = plan_summary_figures(plan, frames["calls"], frames["call_lines"])
    approved_n = int(plan.decisions.filter(pl.col("action") == "formal_notice").height)
    return PlanResult(
        iso_week=iso_week,
        as_of=as_of,
        build_id=build_id,
        policy_source=plan.values.source,
        policy_id=plan.values.policy_id,
        run_ids=plan.values.run_ids,
        note=plan.values.note,
        capacity=figures.capacity,
        batches={c: frames[f"batch_{c}"].height for c in BATCH_CHANNELS},
        formal_notices_requested=frames["approvals"].height,
        formal_notices_approved=approved_n,
        list_id=metadata["list_id"],
        files=tuple(files.values()),
        seconds=clock.perf_counter() - started,
        **figures_summary,
    )


def export_paths(home: Home, iso_week: str) -> dict[str, Path]:
    """Where each export of a week goes (the app lists exports/calls and exports/batches)."""
    paths = {
        "calls_csv": home.exports / "calls" / f"{iso_week}.csv",
        "calls_xlsx": home.exports / "calls" / f"{iso_week}.xlsx",
        "calls_meta": home.exports / "calls" / f"{iso_week}.json",
        "specialist": home.exports / "specialist" / f"{iso_week}.csv",
        "approvals": home.exports / "approvals" / f"{iso_week}-formal_notice.csv",
    }
    for channel in BATCH_CHANNELS:
        paths[f"batch_{channel}"] = home.exports / "batches" / f"{iso_week}-{channel}.csv"
    return paths


def written_exports(
    home: Home, iso_week: str, frames: dict[str, pl.DataFrame], metadata: dict[str, str]
) -> dict[str, Path]:
    paths = export_paths(home, iso_week)
    written = {
        "calls_csv": written_csv(frames["calls"], paths["calls_csv"]),
        "calls_xlsx": written_xlsx(frames["calls"], paths["calls_xlsx"], metadata),
        "calls_meta": _replace(
            paths["calls_meta"],
            lambda tmp: tmp.write_text(
                json.dumps(metadata, indent=2, sort_keys=True) + "\n", encoding="utf-8"
            ),
        ),
        "specialist": written_csv(frames["specialist"], paths["specialist"]),
        "approvals": written_csv(frames["approvals"], paths["approvals"]),
    }
    for channel in BATCH_CHANNELS:
        key = f"batch_{channel}"
        written[key] = written_csv(frames[key].select(batch_columns(channel)), paths[key])
    return written


def week_approvals(home: Home, iso_week: str) -> pl.DataFrame:
    """``creditor_ref, case_ref`` of the formal notices approved for ``iso_week``."""
    empty = pl.DataFrame(schema={"creditor_ref": pl.String, "case_ref": pl.String})
    if not home.state_path.exists():
        return empty
    with home.state(read_only=True) as con:
        exists = con.execute(
            "select count(*) from information_schema.tables where table_name = 'approvals'"
        ).fetchall()[0][0]
        if not exists:
            return empty
        return con.sql(
            "select distinct creditor_ref, case_ref from approvals "
            "where iso_week = ? and action = 'formal_notice'",
            params=[iso_week],
        ).pl()


def plan_state(home: Home, settings: Settings):
    """The state store (writer) with the plan's tables created."""
    import contextlib

    @contextlib.contextmanager
    def _state():
        with home.state(float(settings.get("build.writer_retry_seconds", 10))) as con:
            for ddl in PLAN_DDL:
                con.execute(ddl)
            yield con

    return _state()


def recorded(
    home: Home,
    settings: Settings,
    plan: WeeklyPlan,
    frames: dict[str, pl.DataFrame],
    files: dict[str, Path],
    metadata: dict[str, str],
    user: str,
) -> None:
    """Record the week in the state store: its lines, decisions and formal-notice requests
    (replacing an earlier plan of the same week) and one ``plan_exports`` row per file."""
    now = utc_now()
    iso_week = plan.iso_week
    lines = [
        frames["call_lines"].select(
            "list_id",
            pl.col("line_id").cast(pl.Int32),
            pl.lit(iso_week).alias("iso_week"),
            "channel",
            "debtor_id",
            "case_id",
            "creditor_ref",
            "case_ref",
            "action",
            pl.col("planned_attempts").cast(pl.Int32),
            pl.col("phone_e164").cast(pl.String),
        )
    ]
    for channel in BATCH_CHANNELS:
        frame = frames[f"batch_{channel}"]
        number = BATCH_NUMBER.get(channel)
        lines.append(
            frame.select(
                "list_id",
                pl.col("line_id").cast(pl.Int32),
                pl.lit(iso_week).alias("iso_week"),
                pl.lit(channel).alias("channel"),
                "debtor_id",
                "case_id",
                "creditor_ref",
                "case_ref",
                "action",
                pl.lit(0, pl.Int32).alias("planned_attempts"),
                (pl.col(number) if number else pl.lit(None)).cast(pl.String).alias("phone_e164"),
            )
        )
    all_lines = pl.concat(lines)
    cases = plan.eligibility.select("case_id", "creditor_ref", "case_ref")
    decisions = plan.decisions.join(cases, on="case_id").select(
        pl.lit(iso_week).alias("iso_week"),
        "case_id",
        "creditor_ref",
        "case_ref",
        "action",
        "propensity",
        pl.lit(plan.values.policy_id).alias("policy_id"),
        "is_exploration",
        "is_holdout",
        pl.lit(now).cast(pl.Datetime("us")).alias("decided_at"),
    )
    requests = plan.requests.join(cases, on="case_id").select(
        pl.lit(iso_week).alias("iso_week"),
        "case_id",
        "creditor_ref",
        "case_ref",
        "action",
        pl.lit(now).cast(pl.Datetime("us")).alias("requested_at"),
    )
    list_ids = {
        "calls_csv": metadata["list_id"],
        "calls_xlsx": metadata["list_id"],
        "calls_meta": metadata["list_id"],
    }
    for channel in BATCH_CHANNELS:
        frame = frames[f"batch_{channel}"]
        list_ids[f"batch_{channel}"] = frame["list_id"].first() if frame.height else ""
    rows_of = {
        "calls_csv": frames["calls"].height,
        "calls_xlsx": frames["calls"].height,
        "calls_meta": frames["calls"].height,
        "specialist": frames["specialist"].height,
        "approvals": frames["approvals"].height,
    } | {f"batch_{c}": frames[f"batch_{c}"].height for c in BATCH_CHANNELS}
    exports = pl.DataFrame(
        [
            {
                "export_id": f"{iso_week}-{kind}-{now:%Y%m%dT%H%M%S%f}",
                "iso_week": iso_week,
                "list_id": list_ids.get(kind, ""),
                "kind": kind,
                "path": str(path.relative_to(home.root)),
                "rows": rows_of[kind],
                "sha256": file_sha256(path),
                "build_id": metadata["build_id"],
                "policy_source": metadata["policy"],
                "policy_id": metadata["policy_id"],
                "model_run_ids": metadata["model_run_ids"],
                "settings_hash": metadata["settings_hash"],
                "exported_by": user,
                "exported_at": now,
            }
            for kind, path in files.items()
        ]
    )
    with plan_state(home, settings) as con:
        con.execute("begin")
        for table in ("plan_lines", "decisions", "approval_requests"):
            con.execute(f"delete from {table} where iso_week = ?", [iso_week])
        for table, frame in (
            ("plan_lines", all_lines),
            ("decisions", decisions),
            ("approval_requests", requests),
            ("plan_exports", exports),
        ):
            con.register("_plan_frame", frame.to_arrow())
            columns = ", ".join(frame.columns)
            con.execute(f"insert into {table} ({columns}) select {columns} from _plan_frame")
            con.unregister("_plan_frame")
        con.execute("commit")


def plan_bench(ctx) -> dict:
    """Bench stage ``plan``: ``relance plan`` for the bench home's current build (the plan week
    after its last data date), files and audit included."""
    home = Home(ctx.home)
    result = planned(home, ctx.settings, user="bench")
    return {
        "rows": result.open_cases,
        "bytes": sum(p.stat().st_size for p in result.files),
        "bytes_of": "the week's export files",
        "iso_week": result.iso_week,
        "plan_seconds": round(result.seconds, 3),
        "listed": result.listed,
        "attempts_planned": result.attempts_planned,
        "policy_source": result.policy_source,
    }
