"""The channel-and-tone recommender on a home: training, evaluation and the weekly
recommendations (DESIGN §5, §8; README "The recommender").

Data. One row per logged decision (case × ISO week, ``core.decisions``) whose outcome horizon
has closed: the case's model frame at the week's Monday (``features.model_frame_at``, the
single point-in-time implementation), the actions the rules allowed that Monday
(``rules.eligibility``, as eight 0/1 features and as the policy's constraint), the logged
action and propensity, and the outcomes over ``objective.horizon_days`` from the Monday: any
payment and the amount collected (``features.payment_labels``) and any complaint opened on the
case (``core.complaints``).

Windows. The last ``recommender.holdout_weeks`` decision weeks with a closed horizon are held
out; training uses the weeks whose horizon closed before the first held-out Monday (every
``train_week_step``-th week). Held-out *randomised* decisions are the exploration draws of the
held-out weeks: given that the logging policy explored, the action was uniform over the
explorable allowed actions, so their conditional propensity is ``1/|E|``, recovered from the
logged one and the exploration share ε (``policy.exploration_share``)::

    p_logged = ε/|E|                   (explored action ≠ the ladder's)
    p_logged = 1 − ε + ε/|E|           (explored action = the ladder's)

Every off-policy figure (IPS, SNIPS, doubly robust) and the fallback test use these rows.

Fallback. The best single allowed action ("that action where the rules allow it, else wait")
is chosen by its doubly robust value on the held-out randomised decisions; the learned policy
is kept only when the bootstrap interval (``fallback_level``) of its value minus that action's
lies above 0, else the run falls back to the fixed action and says so (``fallback`` in the
metrics and the report).

Production (``recommendations``). Per open case at ``as_of``: the value and uplift of each
action, the recommended allowed action, the policy's draw after exploration (a share
``policy.exploration_share`` drawn uniformly among the allowed actions, formal notices never)
and the permanent control holdout (``policy.control_holdout_share`` of cases by a keyed hash:
always wait), the probability of the drawn action and reason codes. The plan (capacity,
approvals) may change the action; ``final_propensity`` gives the probability of the action
finally taken.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import skops.io as sio
from threadpoolctl import threadpool_limits

from models import policy_eval as pe
from models.registry import TRUSTED_TYPES, Registry, RegistryError, RunInfo, file_sha256
from models.uplift import UpliftRecommender, chosen
from pipelines import features as F
from pipelines import rules
from pipelines.home import Home
from pipelines.settings import Settings
from pipelines.train import (  # one place for every model kind
    promoting_user,
    promotion_champion,
    recorded_promotion,
    registry,
    run_of_kind_or_champion,
    warehouse,
)

KIND = "recommender"
ACTIONS: tuple[str, ...] = rules.ACTIONS
WAIT = ACTIONS.index("wait")
NOTICE = ACTIONS.index("formal_notice")
ALLOW_COLUMNS: tuple[str, ...] = tuple(f"allow_{a}" for a in ACTIONS)
RECOMMENDER_FEATURES: tuple[str, ...] = (*F.FEATURES, *ALLOW_COLUMNS)
OUTCOMES: dict[str, str] = {"paid": "binary", "amount": "continuous", "complaint": "binary"}
RECOMMENDER_TYPES: tuple[str, ...] = (
    *TRUSTED_TYPES,
    "models.uplift.UpliftRecommender",
    "models.uplift.TLearner",
)

Progress = Callable[[str], None]


class RecommenderError(RuntimeError):
    """The recommender cannot do what was asked (the message says what to do)."""


# -- settings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecommenderConfig:
    """Every figure of the recommender, from ``[recommender]``, ``[objective]`` and
    ``[policy]`` of relance.toml."""

    horizon_days: int
    commission: float
    complaint_penalty_cents: float
    costs: dict[str, float]
    exploration_share: float
    control_holdout_share: float
    formal_notice_explored: bool
    learner: str
    holdout_weeks: int
    train_week_step: int
    max_training_rows: int
    n_folds: int
    threads: int
    weight_clip: float
    response_weight_clip: float
    min_rows: int
    boosting: dict
    bootstrap: int
    level: float
    fallback_level: float
    formal_must_earn: bool
    overlap_low: float
    overlap_high: float
    overlap_floor: float
    promote_tolerance: float
    seed: int

    @classmethod
    def of(cls, settings: Settings) -> RecommenderConfig:
        r = settings.require("recommender")
        params = settings.require("recommender.params")
        return cls(
            horizon_days=int(settings.require("objective.horizon_days")),
            commission=float(settings.require("objective.commission")),
            complaint_penalty_cents=float(settings.require("objective.complaint_penalty_cents")),
            costs={a: float(settings.require(f"objective.cost_cents.{a}")) for a in ACTIONS},
            exploration_share=float(settings.require("policy.exploration_share")),
            control_holdout_share=float(settings.require("policy.control_holdout_share")),
            formal_notice_explored=bool(settings.require("policy.formal_notice_explored")),
            learner=str(r["learner"]),
            holdout_weeks=int(r["holdout_weeks"]),
            train_week_step=int(r["train_week_step"]),
            max_training_rows=int(settings.require("models.max_training_rows")),
            n_folds=int(r["n_folds"]),
            threads=int(r["threads"]),
            weight_clip=float(r["weight_clip"]),
            response_weight_clip=float(r["response_weight_clip"]),
            formal_must_earn=bool(r["formal_must_earn"]),
            min_rows=int(r["min_rows"]),
            boosting={k: params[k] for k in sorted(params)},
            bootstrap=int(r["bootstrap"]),
            level=float(r["level"]),
            fallback_level=float(r["fallback_level"]),
            overlap_low=float(r["overlap_low"]),
            overlap_high=float(r["overlap_high"]),
            overlap_floor=float(r["overlap_floor"]),
            promote_tolerance=float(r["promote_tolerance"]),
            seed=int(r["seed"]),
        )

    def estimator(self) -> UpliftRecommender:
        """The unfitted recommender of these settings (value of DESIGN §5)."""
        return UpliftRecommender(
            actions=ACTIONS,
            baseline="wait",
            outcomes=OUTCOMES,
            coefficients={
                "paid": 0.0,
                "amount": self.commission,
                "complaint": -self.complaint_penalty_cents,
            },
            costs=self.costs,
            learner=self.learner,
            n_folds=self.n_folds,
            weight_clip=self.weight_clip,
            response_weight_clip=self.response_weight_clip,
            min_rows=self.min_rows,
            random_state=self.seed,
            **self.boosting,
        )


# -- stored runs -----------------------------------------------------------------------------


def loaded_recommender(reg: Registry, run_id: str) -> UpliftRecommender:
    """A stored recommender after checking its hash and its types (the registry's trusted
    list plus the two uplift classes; anything else is refused)."""
    reg.info(KIND, run_id)
    path = reg.run_dir(KIND, run_id) / "model.skops"
    meta = reg.meta(KIND, run_id)
    if not path.exists() or file_sha256(path) != meta.get("model_sha256"):
        raise RegistryError(f"{path}: missing or changed since training; retrain the recommender")
    foreign = [t for t in sio.get_untrusted_types(file=path) if t not in RECOMMENDER_TYPES]
    if foreign:
        raise RegistryError(f"{path}: refused — untrusted type(s): {', '.join(foreign)}")
    return sio.load(path, trusted=list(RECOMMENDER_TYPES))


# -- the decision frame ----------------------------------------------------------------------


def decision_mondays(con) -> list[date]:
    """Every decision week's Monday in the log, oldest first."""
    rows = con.execute("select distinct week_start_date from core.decisions order by 1").fetchall()
    return [r[0] for r in rows]


def closed_mondays(con, horizon_days: int) -> list[date]:
    """Decision Mondays whose horizon closed by the data's end (outcomes observable)."""
    end = F.data_end_date(con)
    if end is None:
        return []
    return [d for d in decision_mondays(con) if d + timedelta(days=horizon_days) <= end]


@dataclass(frozen=True)
class Windows:
    train: list[date]
    holdout: list[date]

    def as_dict(self) -> dict:
        return {
            "train": [d.isoformat() for d in self.train],
            "holdout": [d.isoformat() for d in self.holdout],
        }


def windows(mondays: Sequence[date], cfg: RecommenderConfig) -> Windows:
    """The held-out weeks (the last ``holdout_weeks`` closed ones) and the training weeks
    (horizon closed before the first held-out Monday; every ``train_week_step``-th, latest
    first)."""
    mondays = sorted(mondays)
    if len(mondays) <= cfg.holdout_weeks:
        raise RecommenderError(
            f"only {len(mondays)} decision week(s) with a closed {cfg.horizon_days}-day "
            f"horizon; the recommender needs more than recommender.holdout_weeks = "
            f"{cfg.holdout_weeks}"
        )
    holdout = mondays[-cfg.holdout_weeks :] if cfg.holdout_weeks else []
    cutoff = (holdout[0] if holdout else mondays[-1] + timedelta(days=7)) - timedelta(
        days=cfg.horizon_days
    )
    eligible = [d for d in mondays if d <= cutoff]
    train = sorted(eligible[::-1][:: cfg.train_week_step])
    if not train:
        raise RecommenderError("no training week before the held-out window; lower holdout_weeks")
    return Windows(train, holdout)


def complaint_labels(con, as_of: date, horizon_days: int) -> pl.DataFrame:
    """Cases with a complaint opened in ``[as_of, as_of + horizon)``."""
    return con.sql(
        "select distinct case_id, 1 as complaint from core.complaints "
        "where opened_date >= ?::date and opened_date < ?::date + ?::integer",
        params=[as_of, as_of, horizon_days],
    ).pl()


def allowed_frame(con, as_of: date, settings: Settings) -> pl.DataFrame:
    """``case_id``, the eight ``allow_<action>`` columns and the exclusion reason at ``as_of``."""
    return rules.eligibility(con, as_of, settings).select(
        "case_id", "is_excluded", "primary_reason", "is_specialist", *ALLOW_COLUMNS
    )


def week_frame(con, as_of: date, settings: Settings) -> pl.DataFrame:
    """Scorable cases at ``as_of`` with their features and the actions allowed."""
    frame = F.model_frame_at(con, as_of)
    allowed = allowed_frame(con, as_of, settings)
    frame = frame.join(allowed, on="case_id", how="left").with_columns(
        pl.col(c).fill_null(c == "allow_wait").cast(pl.Float64) for c in ALLOW_COLUMNS
    )
    return frame


def logged_week(con, as_of: date, settings: Settings, horizon_days: int) -> pl.DataFrame:
    """One decision week: features, allowed actions, logged decision and outcomes."""
    decisions = con.sql(
        "select case_id, action, propensity, is_exploration, iso_week from core.decisions "
        "where week_start_date = ?::date",
        params=[as_of],
    ).pl()
    frame = week_frame(con, as_of, settings).join(decisions, on="case_id", how="inner")
    frame = F.labelled(frame, F.payment_labels(con, as_of, horizon_days))
    frame = frame.join(complaint_labels(con, as_of, horizon_days), on="case_id", how="left")
    return frame.with_columns(
        pl.col("complaint").fill_null(0).cast(pl.Int8),
        pl.col("label_cents").cast(pl.Float64).alias("amount"),
        pl.col("action")
        .replace_strict(list(ACTIONS), list(range(len(ACTIONS))), default=None)
        .alias("action_index"),
    ).filter(pl.col("action_index").is_not_null())


def logged_frame(
    con, mondays: Sequence[date], settings: Settings, horizon_days: int, progress=None
) -> pl.DataFrame:
    """Every decision of ``mondays`` (see ``logged_week``), in week order."""
    parts = []
    for i, day in enumerate(mondays):
        parts.append(logged_week(con, day, settings, horizon_days))
        if progress:
            progress(f"decision week {i + 1}/{len(mondays)} ({day})")
    return pl.concat(parts, how="vertical_relaxed") if parts else pl.DataFrame()


def capped(frame: pl.DataFrame, max_rows: int, seed: int) -> pl.DataFrame:
    """At most ``max_rows`` rows, keeping every exploration row (the randomised evidence)."""
    if frame.height <= max_rows:
        return frame
    explored = frame.filter(pl.col("is_exploration"))
    rest = frame.filter(~pl.col("is_exploration"))
    keep = max(max_rows - explored.height, 0)
    return pl.concat([explored, rest.sample(n=min(keep, rest.height), seed=seed)])


def matrices(frame: pl.DataFrame) -> dict[str, np.ndarray]:
    """The arrays the learners take from a logged frame."""
    return {
        "X": F.feature_matrix(frame, RECOMMENDER_FEATURES),
        "allowed": frame.select(ALLOW_COLUMNS).to_numpy().astype(bool),
        "action": frame["action_index"].to_numpy().astype(np.int64),
        "propensity": frame["propensity"].to_numpy().astype(float),
        "groups": frame["case_id"].to_numpy(),
        "paid": frame["paid"].to_numpy().astype(float),
        "amount": frame["amount"].to_numpy().astype(float),
        "complaint": frame["complaint"].to_numpy().astype(float),
    }


def conditional_propensity(logged: np.ndarray, share: float) -> np.ndarray:
    """Probability of an explored decision's action *given* exploration (1/|E|), from its
    logged probability and the exploration share (module docstring)."""
    logged = np.asarray(logged, dtype=float)
    conditional = np.where(logged < 1 - share, logged / share, (logged - 1 + share) / share)
    return np.clip(conditional, 1e-9, 1.0)


def policy_space(allowed: np.ndarray, cfg: RecommenderConfig) -> np.ndarray:
    """The actions the learned policy may choose: the allowed ones with randomised evidence.
    Formal notices are never explored (``policy.formal_notice_explored``), so their value would
    rest on the model's extrapolation from the ladder's own (confounded) choices; they stay a
    human escalation (DOMAIN §4, GDPR Art. 22) unless exploration covers them."""
    return explorable(allowed, cfg.formal_notice_explored) | (
        np.arange(np.asarray(allowed).shape[1]) == WAIT
    )


def explorable(allowed: np.ndarray, formal_notice_explored: bool) -> np.ndarray:
    """The actions exploration may draw: the allowed ones, formal notices only if explored."""
    out = np.asarray(allowed, dtype=bool).copy()
    if not formal_notice_explored:
        out[:, NOTICE] = False
    return out


# -- evaluation on held-out randomised decisions ---------------------------------------------


def fixed_choices(allowed: np.ndarray) -> dict[str, np.ndarray]:
    """Each fixed policy "the action where allowed, else wait"."""
    return {a: pe.fixed_or(allowed, j, WAIT) for j, a in enumerate(ACTIONS)}


def nudge_counterpart(action: str) -> str | None:
    """The same channel's nudge of a formal action (``call_formal`` → ``call_nudge``), or
    ``None`` when the channel has no nudge (a letter, a formal notice) or the action is no
    formal one."""
    channel, _, tone = action.rpartition("_")
    nudge = f"{channel}_nudge"
    return nudge if tone == "formal" and nudge in ACTIONS else None


def heldout_evaluation(
    model: UpliftRecommender, frame: pl.DataFrame, cfg: RecommenderConfig
) -> dict:
    """Off-policy values on the held-out randomised decisions of ``frame``; the ladder and
    random policies by their on-policy means; Qini per action; overlap; the fallback test."""
    explored = frame.filter(pl.col("is_exploration"))
    if explored.height < cfg.min_rows:
        raise RecommenderError(
            f"only {explored.height} held-out exploration decision(s); the evaluation needs "
            f"{cfg.min_rows} (raise recommender.holdout_weeks or policy.exploration_share)"
        )
    m = matrices(explored)
    n_actions = len(ACTIONS)
    coefficients = model._coefficients()
    reward = (
        coefficients["amount"] * m["amount"]
        + coefficients["complaint"] * m["complaint"]
        - model.costs_[m["action"]]
    )
    p = conditional_propensity(m["propensity"], cfg.exploration_share)
    space = explorable(m["allowed"], cfg.formal_notice_explored)
    # the explored action must be one exploration could draw; otherwise the rules and the log
    # disagree on that row (reported, and the row's action still enters with its propensity)
    disagreement = float(1 - space[np.arange(len(p)), m["action"]].mean())
    mu = model.t_values(m["X"])
    values = model.values(m["X"])
    choosable = policy_space(m["allowed"], cfg)
    learned = chosen(values, choosable)
    policies: dict[str, np.ndarray] = {"learned": pe.one_hot(learned, n_actions)}
    policies["learned_t"] = pe.one_hot(chosen(mu, choosable), n_actions)
    for name, choice in fixed_choices(m["allowed"]).items():
        policies[f"fixed:{name}"] = pe.one_hot(choice, n_actions)
    policies["random"] = pe.uniform_over(space)
    boot = {"n_boot": cfg.bootstrap, "seed": cfg.seed, "level": cfg.level}
    results = {
        name: pe.policy_value(target, m["action"], reward, p, mu, m["groups"], **boot)
        for name, target in policies.items()
    }
    # formal notices are never explored: a value naming them rests on the model alone
    uncovered = {
        name: float(target[:, NOTICE][~space[:, NOTICE]].sum() / len(p))
        for name, target in policies.items()
    }
    ladder_rows = frame.filter(~pl.col("is_exploration"))
    results["ladder"] = on_policy_value(model, ladder_rows, cfg)
    fixed = {k: v["dr"]["value"] for k, v in results.items() if k.startswith("fixed:")}
    explorable_fixed = {
        k: v
        for k, v in fixed.items()
        if k != f"fixed:{ACTIONS[NOTICE]}" or cfg.formal_notice_explored
    }
    best_fixed = max(explorable_fixed, key=explorable_fixed.get)
    best_fixed_estimated = best_fixed

    def minus(a: str, b: str) -> dict:  # value of policy a − policy b at the fallback level
        return pe.value_difference(
            policies[a],
            policies[b],
            m["action"],
            reward,
            p,
            mu,
            m["groups"],
            n_boot=cfg.bootstrap,
            seed=cfg.seed,
            level=cfg.fallback_level,
        )

    # a formal message only where it earns its cost: when the best single action is a formal
    # one and the evidence does not show it beating the same channel's nudge, the nudge
    formal_vs_nudge = None
    nudge = nudge_counterpart(best_fixed.removeprefix("fixed:"))
    if cfg.formal_must_earn and nudge is not None:
        formal_vs_nudge = minus(best_fixed, f"fixed:{nudge}")
        if not formal_vs_nudge["low"] > 0:
            best_fixed = f"fixed:{nudge}"
    difference = minus("learned", best_fixed)
    fallback = not difference["low"] > 0
    qini = qini_per_action(model, m, reward, p, space, cfg)
    conditional = np.where(space, 1 / np.maximum(space.sum(axis=1, keepdims=True), 1), 0.0)
    overlap = pe.overlap(
        np.where(space, conditional, np.nan)[:, [j for j in range(n_actions) if j != NOTICE]]
        if not cfg.formal_notice_explored
        else conditional,
        cfg.overlap_low,
        cfg.overlap_high,
        cfg.overlap_floor,
    )
    return {
        "rows": int(explored.height),
        "cases": int(explored["case_id"].n_unique()),
        "weeks": sorted({d.isoformat() for d in frame["as_of"].to_list()}),
        "values": results,
        "uncovered_formal_notice_share": uncovered,
        "best_fixed_action": best_fixed.removeprefix("fixed:"),
        "best_fixed_by_estimate": best_fixed_estimated.removeprefix("fixed:"),
        "formal_vs_nudge": formal_vs_nudge,
        "difference_vs_best_fixed": difference,
        "fallback": fallback,
        "qini": qini,
        "overlap": overlap,
        "log_rules_disagreement": disagreement,
        "primary": results[best_fixed if fallback else "learned"]["dr"]["value"],
    }


def on_policy_value(model: UpliftRecommender, rows: pl.DataFrame, cfg: RecommenderConfig) -> dict:
    """Mean realised value of the non-explored decisions (the ladder's own choices: exploration
    is independent of the case, so they are a random share of the case-weeks)."""
    m = matrices(rows)
    coefficients = model._coefficients()
    reward = (
        coefficients["amount"] * m["amount"]
        + coefficients["complaint"] * m["complaint"]
        - model.costs_[m["action"]]
    )
    result = pe.bootstrap(
        lambda sw: float(np.average(reward, weights=sw)),
        m["groups"],
        cfg.bootstrap,
        cfg.seed,
        cfg.level,
    )
    return {"on_policy": result}


def qini_per_action(
    model: UpliftRecommender,
    m: dict[str, np.ndarray],
    reward: np.ndarray,
    p: np.ndarray,
    space: np.ndarray,
    cfg: RecommenderConfig,
) -> dict:
    """Qini coefficient (with interval) of each action's estimated uplift against wait, on
    the randomised rows where both were explorable and one of them was taken (weights 1/p)."""
    uplift = model.uplift(m["X"])
    out = {}
    for j, name in enumerate(ACTIONS):
        if j == WAIT:
            continue
        rows = space[:, j] & space[:, WAIT] & np.isin(m["action"], [j, WAIT])
        treated = m["action"][rows] == j
        if rows.sum() < cfg.min_rows or treated.all() or not treated.any():
            out[name] = None
            continue
        out[name] = pe.qini_interval(
            uplift[rows, j],
            reward[rows],
            treated,
            m["groups"][rows],
            weight=1 / p[rows],
            n_boot=cfg.bootstrap,
            seed=cfg.seed,
            level=cfg.level,
        )
    return out


# -- training and evaluation on a home -------------------------------------------------------


def model_features_dict() -> dict:
    spec = F.feature_spec()
    return {**spec.as_dict(), "features": list(RECOMMENDER_FEATURES), "rules": list(ALLOW_COLUMNS)}


def trained_recommender(home: Home, settings: Settings, progress: Progress | None = None) -> dict:
    """Train a challenger on the current build, evaluate it on the held-out randomised
    decisions, store the run; return its summary (run id, fallback, values)."""
    cfg = RecommenderConfig.of(settings)
    with warehouse(home, settings) as con:
        wins = windows(closed_mondays(con, cfg.horizon_days), cfg)
        train = capped(
            logged_frame(con, wins.train, settings, cfg.horizon_days, progress),
            cfg.max_training_rows,
            cfg.seed,
        )
        holdout = logged_frame(con, wins.holdout, settings, cfg.horizon_days, progress)
    if progress:
        progress(f"fitting on {train.height} decisions")
    with threadpool_limits(cfg.threads):
        model = fitted(cfg, train)
        if progress:
            progress("evaluating on the held-out randomised decisions")
        evaluation = heldout_evaluation(model, holdout, cfg)
    metrics = {
        "primary_metric": "dr_value_heldout_randomised",
        "dr_value_heldout_randomised": evaluation["primary"],
        **evaluation,
        "training_rows": train.height,
        "training_exploration_rows": int(train["is_exploration"].sum()),
        "training_cases": int(train["case_id"].n_unique()),
    }
    policy = policy_record(evaluation)
    extra = {
        "purpose": "Channel-and-tone recommender: value and uplift per action, policy.",
        "horizon_days": cfg.horizon_days,
        "build_id": home.current_id(),
        "settings_hash": settings.fingerprint,
        "learner": cfg.learner,
        "policy": policy,
    }
    reg = registry(home)
    info = reg.saved(
        KIND,
        model,
        metrics=metrics,
        features=model_features_dict(),
        window=wins.as_dict(),
        reference={},
        extra=extra,
    )
    report = written_report(info, metrics, extra)
    return {
        "run_id": info.run_id,
        "path": str(info.path),
        "report": str(report),
        **summary(metrics),
    }


def fitted(cfg: RecommenderConfig, train: pl.DataFrame) -> UpliftRecommender:
    """The recommender of ``cfg`` fitted on a logged frame."""
    m = matrices(train)
    return cfg.estimator().fit(
        m["X"],
        m["action"],
        {"paid": m["paid"], "amount": m["amount"], "complaint": m["complaint"]},
        m["propensity"],
        m["groups"],
        m["allowed"],
    )


def policy_record(evaluation: dict) -> dict:
    """What production applies: the learned policy, or the fixed action it fell back to."""
    if evaluation["fallback"]:
        return {"mode": "fallback", "action": evaluation["best_fixed_action"]}
    return {"mode": "learned", "action": None}


def summary(metrics: dict) -> dict:
    values = metrics["values"]
    return {
        "fallback": metrics["fallback"],
        "best_fixed_action": metrics["best_fixed_action"],
        "dr_value_learned": values["learned"]["dr"],
        "dr_value_best_fixed": values[f"fixed:{metrics['best_fixed_action']}"]["dr"],
        "difference_vs_best_fixed": metrics["difference_vs_best_fixed"],
        "ladder_on_policy": values["ladder"]["on_policy"],
        "rows": metrics["rows"],
        "training_rows": metrics["training_rows"],
    }


def _money(cents: float) -> str:
    return f"{cents / 100:,.2f} €".replace(",", "\u202f")


def report_text(info: RunInfo, metrics: dict, extra: dict) -> str:
    """The run's report (markdown): the fallback decision first, then every policy's values."""
    lines = [f"# Recommender run {info.run_id}", ""]
    diff = metrics["difference_vs_best_fixed"]
    best = metrics["best_fixed_action"]
    if metrics["fallback"]:
        lines.append(
            f"**Fallback fired**: the evidence does not show that personalising beats the best "
            f"single allowed action (`{best}` where allowed, else wait): learned − fixed = "
            f"{_money(diff['value'])} per case-week, {diff['level']:.0%} interval "
            f"[{_money(diff['low'])}, {_money(diff['high'])}]. Production recommends `{best}`."
        )
    else:
        lines.append(
            f"**Personalised policy kept**: learned − `{best}` = {_money(diff['value'])} per "
            f"case-week, {diff['level']:.0%} interval [{_money(diff['low'])}, "
            f"{_money(diff['high'])}] lies above 0."
        )
    tone = metrics.get("formal_vs_nudge")
    if tone is not None:
        estimated = metrics["best_fixed_by_estimate"]
        verdict = (
            f"it does not, so the single action is `{best}`"
            if best != estimated
            else "it does, so it stays"
        )
        lines += [
            "",
            f"Formal only where it earns its cost: the best single action by estimate is "
            f"`{estimated}`; does it beat the same channel's nudge? `{estimated}` − nudge = "
            f"{_money(tone['value'])} per case-week, {tone['level']:.0%} interval "
            f"[{_money(tone['low'])}, {_money(tone['high'])}]: {verdict} "
            f"(`recommender.formal_must_earn`).",
        ]
    lines += [
        "",
        f"Held-out randomised decisions: {metrics['rows']} ({metrics['cases']} cases, weeks "
        f"{metrics['weeks'][0]} … {metrics['weeks'][-1]}). Learner: {extra['learner']}.",
        "",
        "| policy | IPS | SNIPS | DR (95 % interval) |",
        "|---|---|---|---|",
    ]
    for name, v in metrics["values"].items():
        if "dr" in v:
            lines.append(
                f"| {name} | {_money(v['ips']['value'])} | {_money(v['snips']['value'])} | "
                f"{_money(v['dr']['value'])} [{_money(v['dr']['low'])}, "
                f"{_money(v['dr']['high'])}] |"
            )
        else:
            o = v["on_policy"]
            lines.append(
                f"| {name} (on-policy mean) | | | {_money(o['value'])} "
                f"[{_money(o['low'])}, {_money(o['high'])}] |"
            )
    ov = metrics["overlap"]
    lines += [
        "",
        f"Overlap: share of randomised decisions with propensity in [{ov['low']}, {ov['high']}] "
        f"per explorable action: {', '.join(f'{s:.0%}' for s in ov['share_inside'])} "
        f"({'ok' if ov['ok'] else 'FAILS: no causal value stated'}).",
        f"Held-out decisions the rules would not have allowed to explore: "
        f"{metrics['log_rules_disagreement']:.2%}.",
        "",
        "Qini coefficient of each action's uplift against wait (value units, 95 % interval):",
        "",
    ]
    for name, q in metrics["qini"].items():
        if q is None:
            lines.append(f"- {name}: too few randomised decisions")
        else:
            lines.append(f"- {name}: {q['value']:.1f} [{q['low']:.1f}, {q['high']:.1f}]")
    return "\n".join(lines) + "\n"


def written_report(info: RunInfo, metrics: dict, extra: dict) -> Path:
    path = info.path / "report.md"
    path.write_text(report_text(info, metrics, extra), encoding="utf-8")
    return path


def run_or_champion(home: Home, run_id: str | None) -> RunInfo:
    return run_of_kind_or_champion(
        home,
        KIND,
        run_id,
        RecommenderError,
        "`relance train recommender` then `relance promote RUN`",
    )


def evaluated_recommender(home: Home, settings: Settings, run_id: str | None = None) -> dict:
    """Re-evaluate a run (default: the champion) on its held-out weeks of the current build."""
    info = run_or_champion(home, run_id)
    reg = registry(home)
    model = loaded_recommender(reg, info.run_id)
    cfg = RecommenderConfig.of(settings)
    window = reg.read(KIND, info.run_id, "window")
    days = [date.fromisoformat(d) for d in window["holdout"]]
    with warehouse(home, settings) as con:
        holdout = logged_frame(con, days, settings, cfg.horizon_days)
    with threadpool_limits(cfg.threads):
        evaluation = heldout_evaluation(model, holdout, cfg)
    return {
        "run_id": info.run_id,
        **summary({**evaluation, "training_rows": None}),
        "metrics": evaluation,
    }


def promoted_recommender(
    home: Home, settings: Settings, run_id: str, force: bool = False, reason: str | None = None
) -> dict:
    """Make ``run_id`` the champion recommender after comparing both runs' doubly robust value
    on the held-out randomised decisions of the challenger's window (the later one); refuse a
    worse challenger unless forced with a reason."""
    cfg = RecommenderConfig.of(settings)
    reg = registry(home)
    champion = promotion_champion(reg, KIND, run_id, force, reason, RecommenderError)
    comparison = None
    if champion is not None:
        days = [date.fromisoformat(d) for d in reg.read(KIND, run_id, "window")["holdout"]]
        with warehouse(home, settings) as con:
            holdout = logged_frame(con, days, settings, cfg.horizon_days)
        figures = {}
        for role, rid in (("champion", champion.run_id), ("challenger", run_id)):
            model = loaded_recommender(reg, rid)
            policy = reg.meta(KIND, rid).get("policy", {"mode": "learned"})
            figures[role] = applied_policy_value(model, policy, holdout, cfg)
        worse = figures["challenger"] < figures["champion"] - cfg.promote_tolerance
        comparison = {
            "metric": "dr_value_heldout_randomised",
            **figures,
            "challenger_is_worse": worse,
        }
        if worse and not force:
            raise RecommenderError(
                f"run {run_id} is worse than champion {champion.run_id} on the doubly robust "
                f"value ({figures['challenger']:.1f} vs {figures['champion']:.1f} cents per "
                'case-week); not promoted (override: --force --reason "…")'
            )
    return recorded_promotion(reg, KIND, run_id, force, reason, comparison, promoting_user())


def applied_policy_value(
    model: UpliftRecommender, policy: dict, frame: pl.DataFrame, cfg: RecommenderConfig
) -> float:
    """Doubly robust value of what a run applies (learned or its fallback action) on the
    randomised decisions of ``frame``."""
    explored = frame.filter(pl.col("is_exploration"))
    m = matrices(explored)
    c = model._coefficients()
    reward = c["amount"] * m["amount"] + c["complaint"] * m["complaint"] - model.costs_[m["action"]]
    choice = applied_choice(model, policy, m["X"], m["allowed"], cfg)
    target = pe.one_hot(choice, len(ACTIONS))
    p = conditional_propensity(m["propensity"], cfg.exploration_share)
    return pe.estimate("dr", target, m["action"], reward, p, model.t_values(m["X"]))


def applied_choice(
    model: UpliftRecommender,
    policy: dict,
    X: np.ndarray,
    allowed: np.ndarray,
    cfg: RecommenderConfig,
) -> np.ndarray:
    """The action a run recommends: the learned choice among ``policy_space``, or its fallback
    action where allowed (else wait)."""
    if policy.get("mode") == "fallback":
        return pe.fixed_or(allowed, ACTIONS.index(policy["action"]), WAIT)
    return model.recommend(X, policy_space(allowed, cfg))


# -- production: the week's recommendations --------------------------------------------------


def unit_draws(keys: Sequence[str], salt: str) -> np.ndarray:
    """A uniform number in [0, 1) per key from a keyed hash (stable across runs)."""
    out = np.empty(len(keys))
    for i, key in enumerate(keys):
        digest = hashlib.sha256(f"{salt}|{key}".encode()).digest()
        out[i] = int.from_bytes(digest[:8], "big") / 2**64
    return out


def policy_probabilities(
    recommended: np.ndarray,
    allowed: np.ndarray,
    share: float,
    formal_notice_explored: bool,
    holdout: np.ndarray,
) -> np.ndarray:
    """(n, n_actions) probability of each action under the production policy: the recommended
    action with 1 − ε plus ε spread uniformly over the explorable allowed actions; a control
    holdout case always waits."""
    space = explorable(allowed, formal_notice_explored)
    size = space.sum(axis=1, keepdims=True)
    probs = share * np.where(size > 0, space / np.maximum(size, 1), 0.0)
    probs[np.arange(len(recommended)), recommended] += 1 - share
    probs[size[:, 0] == 0, :] = 0.0
    probs[size[:, 0] == 0, recommended[size[:, 0] == 0]] = 1.0
    probs[holdout] = 0.0
    probs[holdout, WAIT] = 1.0
    return probs


def drawn_actions(probs: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF draw of one action per row with uniforms ``u``."""
    cum = np.cumsum(probs, axis=1)
    return np.minimum((cum <= u[:, None]).sum(axis=1), probs.shape[1] - 1)


def final_propensity(
    probs: np.ndarray, final: np.ndarray, mapping: np.ndarray | None = None
) -> np.ndarray:
    """Probability of the action finally taken. ``mapping`` (n, n_actions) gives, for each
    action the policy could draw, the action the plan would turn it into (capacity, missing
    approval); by default every action is kept. P(final) = Σ_a P(a)·[mapping(a) = final]."""
    probs = np.asarray(probs, dtype=float)
    final = np.asarray(final, dtype=np.int64)
    if mapping is None:
        mapping = np.tile(np.arange(probs.shape[1]), (len(probs), 1))
    return (probs * (np.asarray(mapping) == final[:, None])).sum(axis=1)


REASONS = {
    "best_value": (
        "valeur attendue la plus élevée parmi les actions permises",
        "highest expected value among allowed actions",
    ),
    "fallback": (
        "action unique la meilleure (la personnalisation n'a pas fait ses preuves)",
        "best single action (personalisation not shown to help)",
    ),
    "explored": ("tirage d'exploration (apprentissage)", "exploration draw (learning)"),
    "control_holdout": ("groupe témoin permanent : attendre", "permanent control group: wait"),
    "excluded": ("exclusion : aucun contact", "excluded: no contact"),
}


def recommendations(con, as_of: date, settings: Settings, run: dict) -> pl.DataFrame:
    """Per scorable case at ``as_of``: each action's value and uplift, the recommended allowed
    action, the production policy's draw (exploration, control holdout) with its probability,
    and reason codes. ``run`` is ``{"model": UpliftRecommender, "policy": {...}, "run_id": …}``
    (see ``champion_run``)."""
    cfg = RecommenderConfig.of(settings)
    model: UpliftRecommender = run["model"]
    frame = week_frame(con, as_of, settings)
    if frame.is_empty():
        return frame
    X = F.feature_matrix(frame, RECOMMENDER_FEATURES)
    allowed = frame.select(ALLOW_COLUMNS).to_numpy().astype(bool)
    values = model.values(X)
    recommended = applied_choice(model, run.get("policy", {}), X, allowed, cfg)
    case_ids = frame["case_id"].to_list()
    holdout = unit_draws(case_ids, "control_holdout") < cfg.control_holdout_share
    probs = policy_probabilities(
        recommended, allowed, cfg.exploration_share, cfg.formal_notice_explored, holdout
    )
    week = f"{as_of.isocalendar().year}-W{as_of.isocalendar().week:02d}"
    draws = unit_draws([f"{c}|{week}" for c in case_ids], f"explore|{cfg.seed}")
    action = drawn_actions(probs, draws)
    excluded = frame["is_excluded"].fill_null(False).to_numpy()
    reason = np.where(
        holdout,
        "control_holdout",
        np.where(
            excluded,
            "excluded",
            np.where(
                action != recommended,
                "explored",
                "fallback" if run.get("policy", {}).get("mode") == "fallback" else "best_value",
            ),
        ),
    )
    uplift = values - values[:, [WAIT]]
    cols = {f"value_{a}_cents": values[:, j] for j, a in enumerate(ACTIONS)}
    cols.update({f"uplift_{a}_cents": uplift[:, j] for j, a in enumerate(ACTIONS)})
    return frame.select("case_id", "creditor_ref", "case_ref", "primary_reason").with_columns(
        pl.lit(as_of).alias("as_of"),
        pl.lit(week).alias("iso_week"),
        pl.Series("recommended_action", [ACTIONS[i] for i in recommended]),
        pl.Series("action", [ACTIONS[i] for i in action]),
        pl.Series("propensity", probs[np.arange(len(action)), action]),
        pl.Series("is_exploration", (action != recommended) & ~holdout),
        pl.Series("is_control_holdout", holdout),
        pl.Series("reason_code", reason),
        pl.Series("reason_fr", [REASONS[r][0] for r in reason]),
        pl.Series("reason_en", [REASONS[r][1] for r in reason]),
        pl.Series(
            "allowed_actions", [[a for j, a in enumerate(ACTIONS) if row[j]] for row in allowed]
        ),
        pl.lit(run.get("run_id")).alias("run_id"),
        **{k: pl.Series(k, v) for k, v in cols.items()},
    )


def champion_run(home: Home) -> dict:
    """The champion recommender, ready for ``recommendations``."""
    reg = registry(home)
    info = run_or_champion(home, None)
    return {
        "run_id": info.run_id,
        "model": loaded_recommender(reg, info.run_id),
        "policy": reg.meta(KIND, info.run_id).get("policy", {"mode": "learned"}),
    }


def metrics_json(metrics: dict) -> str:
    return json.dumps(metrics, indent=2, default=str)


def action_values(home: Home, settings: Settings, as_of: date) -> pl.DataFrame:
    """The champion's value of each action per scorable case at ``as_of``, long:
    ``case_id, action, value_cents`` — what the weekly plan ranks and allocates (it draws the
    exploration itself, after capacity and approvals)."""
    with warehouse(home, settings) as con:
        frame = recommendations(con, as_of, settings, champion_run(home))
    if frame.is_empty():
        return pl.DataFrame(
            schema={"case_id": pl.String, "action": pl.String, "value_cents": pl.Float64}
        )
    return (
        frame.select("case_id", *(f"value_{a}_cents" for a in ACTIONS))
        .unpivot(index="case_id", variable_name="action", value_name="value_cents")
        .with_columns(pl.col("action").str.strip_prefix("value_").str.strip_suffix("_cents"))
    )
