"""The model frame: ``marts.case_snapshots(as_of)`` encoded for the models (DESIGN §8).

``case_snapshots`` is the single point-in-time implementation; this module only **encodes** it.
Two additions are computed here because the macro lacks them, each with the macro's own
knowledge rule (event date < ``as_of`` and received date < ``as_of``): the creditor's monthly
statement history (status code, balance and amount paid for each of the last
``STATEMENT_MONTHS`` calendar months before ``as_of``, from ``core.account_status``), and the
payments of the last ``RECENT_DAYS`` days (count and net amount, from ``core.payments``).
Debtor-level figures (the debtor's payments on their other cases) are sums over the snapshot
itself.

The feature list is explicit and versioned (``FEATURES_VERSION``; every run records it). What
is *not* a feature, and why, is listed in ``EXCLUDED`` (DOMAIN §4: no special-category data or
proxies, no free text, nothing unrelated to the debt).

Labels look forward from ``as_of`` over the horizon (``objective.horizon_days``): ``paid`` —
any (non-reversal) payment dated in ``[as_of, as_of + horizon)``; ``collected_cents`` — the net
signed amount of those days' payments (reversals included, floored at 0). A training row is an
open case with a positive balance at a monthly ``as_of`` (the 1st of a month), so a case has at
most one snapshot per month.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

FEATURES_VERSION = "2026.11-1"
STATEMENT_MONTHS = 6
RECENT_DAYS = 90

# categorical features and their vocabulary (code = position; anything else is missing)
CATEGORIES: dict[str, tuple[str, ...]] = {
    "debtor_type": ("individual", "business"),
    "sector": ("telecom", "energy", "consumer_credit", "b2b_services", "b2b_wholesale"),
    "observed_cause": (
        "unknown",
        "cash_flow",
        "dispute",
        "administrative",
        "hardship",
        "unwilling",
        "unreachable",
    ),
    "plan_status": ("none", "active", "completed", "cancelled", "broken"),
}

STATEMENT_FEATURES: tuple[str, ...] = tuple(
    f"{what}_m{k}"
    for what in ("status", "statement_balance", "statement_paid")
    for k in range(1, STATEMENT_MONTHS + 1)
)

# numeric features: (name, polars expression over a case_snapshots frame + statement history)
_NUMERIC_EXPRESSIONS: dict[str, pl.Expr] = {
    # amounts
    "placed_amount_cents": pl.col("placed_amount_cents"),
    "corrected_amount_cents": pl.col("corrected_amount_cents"),
    "balance_cents": pl.col("balance_cents"),
    "collected_cents": pl.col("collected_cents"),
    "balance_share": pl.col("balance_cents") / pl.col("corrected_amount_cents").clip(1),
    "n_invoices": pl.col("n_invoices"),
    "has_title": pl.col("has_title"),
    # age
    "days_since_due": pl.col("days_since_due"),
    "days_since_placement": pl.col("days_since_placement"),
    # payments so far
    "n_payments": pl.col("n_payments"),
    "n_reversals": pl.col("n_reversals"),
    "days_since_last_payment": pl.col("days_since_last_payment"),
    "collected_share": pl.col("collected_cents") / pl.col("corrected_amount_cents").clip(1),
    "payments_per_month": pl.col("n_payments") * 30 / pl.col("days_since_placement").clip(1),
    "payments_90d": pl.col("payments_90d"),
    "collected_90d_cents": pl.col("collected_90d_cents"),
    "debtor_other_payments": pl.col("debtor_other_payments"),
    "debtor_other_collected_cents": pl.col("debtor_other_collected_cents"),
    # contactability
    "has_valid_phone": pl.col("has_valid_phone"),
    "has_valid_mobile": pl.col("has_valid_mobile"),
    "has_valid_email": pl.col("has_valid_email"),
    # actions by channel and tone, and their outcomes
    "sms_attempts": pl.col("sms_attempts"),
    "email_attempts": pl.col("email_attempts"),
    "call_attempts": pl.col("call_attempts"),
    "letter_attempts": pl.col("letter_attempts"),
    "nudge_attempts": pl.col("nudge_attempts"),
    "formal_attempts": pl.col("formal_attempts"),
    "notice_attempts": pl.col("notice_attempts"),
    "inbound_contacts": pl.col("inbound_contacts"),
    "right_party_contacts": pl.col("right_party_contacts"),
    "answer_rate": pl.col("right_party_contacts") / pl.col("call_attempts").replace(0, None),
    "days_since_last_right_party": (
        pl.col("as_of") - pl.col("last_right_party_date")
    ).dt.total_days(),
    # contact pressure
    "attempts_30d": pl.col("attempts_30d"),
    "call_attempts_30d": pl.col("call_attempts_30d"),
    "formal_attempts_30d": pl.col("formal_attempts_30d"),
    "right_party_contacts_30d": pl.col("right_party_contacts_30d"),
    "days_since_last_action": pl.col("days_since_last_action"),
    "debtor_open_cases": pl.col("debtor_open_cases"),
    # promises, plans, disputes, complaints
    "promises_made": pl.col("promises_made"),
    "promises_kept": pl.col("promises_kept"),
    "promises_broken": pl.col("promises_broken"),
    "promises_pending": pl.col("promises_pending"),
    "promise_kept_rate": pl.col("promises_kept") / pl.col("promises_made").replace(0, None),
    "n_plans": pl.col("n_plans"),
    "n_plans_broken": pl.col("n_plans_broken"),
    "plan_paid_share": pl.col("plan_paid_cents") / pl.col("plan_due_to_date_cents").clip(1),
    "n_disputes": pl.col("n_disputes"),
    "has_open_dispute": pl.col("has_open_dispute"),
    "n_complaints": pl.col("n_complaints"),
    # legal status of the debt (not special-category; the rules exclude such cases anyway)
    "is_over_indebted": pl.col("is_over_indebted"),
    "is_insolvent": pl.col("is_insolvent"),
    "is_deceased": pl.col("is_deceased"),
    "is_represented": pl.col("is_represented"),
    # arrears status: the latest and the monthly statement history
    "last_status_code": pl.col("last_status_code"),
    **{name: pl.col(name) for name in STATEMENT_FEATURES},
}

NUMERIC_FEATURES: tuple[str, ...] = tuple(_NUMERIC_EXPRESSIONS)
FEATURES: tuple[str, ...] = NUMERIC_FEATURES + tuple(CATEGORIES)

# the UCI Taiwan validation uses only these (the file's LIMIT_BAL, PAY_*, BILL_AMT*, PAY_AMT*)
UCI_FEATURES: tuple[str, ...] = ("placed_amount_cents", *STATEMENT_FEATURES)

EXCLUDED: dict[str, str] = {
    "is_vulnerable": "health or capacity: special-category data (GDPR Art. 9) — routed, not scored",
    "tz": "time zone of the debtor: a proxy of residence overseas, hence of origin",
    "debtor_name": "identity, unrelated to the debt",
    "postcode / phone prefix": "proxies of residence and origin",
    "first_letter_ref": "an identifier, not information",
    "notes": "free text (DOMAIN §4)",
    "date of birth / age / sex / marital status / education": "protected attributes",
}

ID_COLUMNS: tuple[str, ...] = ("case_id", "as_of", "creditor_ref", "case_ref", "currency")


class FeatureError(ValueError):
    """A feature frame cannot be made from what was given (a user can act on the message)."""


@dataclass(frozen=True)
class FeatureSpec:
    """The versioned feature list a model was trained on."""

    version: str
    features: tuple[str, ...]
    categorical: tuple[str, ...]
    categories: dict[str, tuple[str, ...]]

    def as_dict(self) -> dict:
        return {
            "version": self.version,
            "features": list(self.features),
            "categorical": list(self.categorical),
            "categories": {k: list(v) for k, v in self.categories.items()},
            "excluded": EXCLUDED,
        }


def feature_spec(features: Sequence[str] = FEATURES) -> FeatureSpec:
    """The spec of ``features`` (a subset of ``FEATURES``, in that order)."""
    unknown = [f for f in features if f not in FEATURES]
    if unknown:
        raise FeatureError(f"unknown feature(s): {', '.join(unknown)}")
    chosen = tuple(f for f in FEATURES if f in set(features))
    categorical = tuple(f for f in chosen if f in CATEGORIES)
    return FeatureSpec(
        FEATURES_VERSION, chosen, categorical, {k: CATEGORIES[k] for k in categorical}
    )


def _date_literal(day: date) -> str:
    if not isinstance(day, date):
        raise FeatureError(f"as_of must be a date, got {day!r}")
    return f"date '{day.isoformat()}'"


def statement_history(con, as_of: date, months: int = STATEMENT_MONTHS) -> pl.DataFrame:
    """Per case, the status code, balance and amount paid of each of the ``months`` calendar
    months before ``as_of`` (``*_m1`` = the month before as_of's month), as known at ``as_of``
    (case_snapshots' rule: ``statement_date < as_of`` and ``received_date < as_of``)."""
    day = _date_literal(as_of)
    columns = ",\n".join(
        f"max({src}) filter (where k = {k}) as {name}_m{k}"
        for k in range(1, months + 1)
        for src, name in (
            ("status_code", "status"),
            ("balance_cents", "statement_balance"),
            ("paid_amount_cents", "statement_paid"),
        )
    )
    sql = f"""
        with known as (
            select
                case_id,
                datediff('month', status_month, date_trunc('month', {day})) as k,
                status_code,
                balance_cents,
                paid_amount_cents
            from core.account_status
            where statement_date < {day} and received_date < {day}
        )
        select case_id, {columns}
        from known
        where k between 1 and {int(months)}
        group by case_id
    """
    return con.sql(sql).pl()


def recent_payments(con, as_of: date, days: int = RECENT_DAYS) -> pl.DataFrame:
    """Per case, the non-reversal payments and the net amount dated in the ``days`` before
    ``as_of``, as known at ``as_of`` (``paid_date < as_of`` and ``received_date < as_of``)."""
    day = _date_literal(as_of)
    sql = f"""
        select
            case_id,
            count(*) filter (where not is_reversal) as payments_90d,
            cast(sum(amount_cents) as bigint) as collected_90d_cents
        from core.payments
        where
            paid_date < {day} and received_date < {day}
            and paid_date >= {day} - {int(days)}
        group by case_id
    """
    return con.sql(sql).pl()


def with_debtor_totals(frame: pl.DataFrame) -> pl.DataFrame:
    """The debtor's payments and net amount on their *other* cases of the same snapshot."""
    return frame.with_columns(
        (pl.col("n_payments").sum().over("debtor_id") - pl.col("n_payments")).alias(
            "debtor_other_payments"
        ),
        (pl.col("collected_cents").sum().over("debtor_id") - pl.col("collected_cents")).alias(
            "debtor_other_collected_cents"
        ),
    )


def snapshots(con, as_of: date) -> pl.DataFrame:
    """``marts.case_snapshots(as_of)`` with the statement history, the recent payments and
    the debtor totals joined on (every case known at ``as_of``)."""
    frame = con.sql(f"select * from marts.case_snapshots({_date_literal(as_of)})").pl()
    frame = frame.join(statement_history(con, as_of), on="case_id", how="left")
    frame = frame.join(recent_payments(con, as_of), on="case_id", how="left")
    frame = with_debtor_totals(frame).with_columns(
        pl.col("payments_90d").fill_null(0), pl.col("collected_90d_cents").fill_null(0)
    )
    missing = [c for c in STATEMENT_FEATURES if c not in frame.columns]
    return frame.with_columns(pl.lit(None, pl.Float64).alias(c) for c in missing)


def scorable(snaps: pl.DataFrame) -> pl.DataFrame:
    """The cases a scorer ranks: open, with a positive balance."""
    return snaps.filter(pl.col("is_open") & (pl.col("balance_cents") > 0))


def model_frame(snaps: pl.DataFrame) -> pl.DataFrame:
    """Encode snapshots into the model frame: ``ID_COLUMNS`` then every feature of
    ``FEATURES`` as Float64 (booleans 0/1, categoricals as vocabulary codes, missing as null)."""
    numeric = [expr.cast(pl.Float64).alias(name) for name, expr in _NUMERIC_EXPRESSIONS.items()]
    categorical = [
        pl.col(name)
        .replace_strict(list(vocab), list(range(len(vocab))), default=None, return_dtype=pl.Float64)
        .alias(name)
        for name, vocab in CATEGORIES.items()
    ]
    return snaps.select(*ID_COLUMNS, *numeric, *categorical)


def feature_matrix(frame: pl.DataFrame, features: Sequence[str]) -> np.ndarray:
    """The features of ``frame`` in order as a float64 array (nulls as NaN)."""
    missing = [f for f in features if f not in frame.columns]
    if missing:
        raise FeatureError(f"the frame lacks feature(s): {', '.join(missing)}")
    return frame.select(pl.col(f).cast(pl.Float64) for f in features).to_numpy()


def model_frame_at(con, as_of: date) -> pl.DataFrame:
    """The model frame of every scorable case at ``as_of`` (one point-in-time query), in
    ``case_id`` order: what is fitted on it (cross-validated calibration folds are taken in row
    order) then depends on the data alone, not on how a build happened to store its rows."""
    return model_frame(scorable(snapshots(con, as_of))).sort("case_id")


# -- labels and the training frame -----------------------------------------------------------


def payment_labels(con, as_of: date, horizon_days: int) -> pl.DataFrame:
    """Per case with a payment event in ``[as_of, as_of + horizon)``: ``paid`` (any
    non-reversal payment) and ``collected_cents`` (net signed sum, floored at 0)."""
    start = _date_literal(as_of)
    end = _date_literal(as_of + timedelta(days=int(horizon_days)))
    sql = f"""
        select
            case_id,
            bool_or(not is_reversal) as paid,
            greatest(cast(sum(amount_cents) as bigint), 0) as collected_cents
        from core.payments
        where paid_date >= {start} and paid_date < {end}
        group by case_id
    """
    return con.sql(sql).pl()


def labelled(frame: pl.DataFrame, labels: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with ``paid`` (0/1) and ``collected_cents`` (0 when no payment) joined on."""
    joined = frame.join(
        labels.select("case_id", "paid", pl.col("collected_cents").alias("label_cents")),
        on="case_id",
        how="left",
    )
    return joined.with_columns(
        pl.col("paid").fill_null(False).cast(pl.Int8),
        pl.col("label_cents").fill_null(0).cast(pl.Int64),
    ).sort("case_id", "as_of")


def data_end_date(con) -> date | None:
    """The latest received date of any payment or action in the warehouse (the data's end)."""
    rows = con.execute(
        "select greatest((select max(received_date) from core.payments), "
        "(select max(received_date) from core.actions))"
    ).fetchall()
    return rows[0][0] if rows else None


def monthly_dates(first: date, last: date) -> list[date]:
    """The 1st of every month from ``first``'s month (if ``first`` is a 1st, else the next
    month) to ``last`` inclusive."""
    day = first if first.day == 1 else _next_month(first.replace(day=1))
    days = []
    while day <= last:
        days.append(day)
        day = _next_month(day)
    return days


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


@dataclass(frozen=True)
class TimeSlices:
    """Monthly as-of dates of the three slices; each slice starts at least the horizon after
    the previous one's last as-of date (so no label window overlaps the next slice)."""

    train: tuple[date, ...]
    calibration: tuple[date, ...]
    test: tuple[date, ...]

    def window(self) -> dict[str, str]:
        return {
            "train_from": self.train[0].isoformat(),
            "train_to": self.train[-1].isoformat(),
            "calibration_from": self.calibration[0].isoformat(),
            "calibration_to": self.calibration[-1].isoformat(),
            "test_from": self.test[0].isoformat(),
            "test_to": self.test[-1].isoformat(),
        }


def time_slices(
    dates: Sequence[date], horizon_days: int, test_months: int, calibration_months: int
) -> TimeSlices:
    """Split sorted monthly as-of dates: the last ``test_months`` for test, the
    ``calibration_months`` ending at least ``horizon_days`` before the test's first date for
    calibration, everything at least ``horizon_days`` before that for training."""
    dates = sorted(dates)
    gap = timedelta(days=int(horizon_days))
    test = dates[-test_months:] if test_months > 0 else []
    before_test = [d for d in dates if test and d + gap <= test[0]]
    calibration = before_test[-calibration_months:] if calibration_months > 0 else []
    train = [d for d in before_test if calibration and d + gap <= calibration[0]]
    if not (train and calibration and test):
        raise FeatureError(
            f"{len(dates)} monthly as-of dates with labels cannot hold train, calibration and "
            f"test slices separated by {horizon_days} days ({test_months} test and "
            f"{calibration_months} calibration months); use a longer history or a shorter "
            "horizon"
        )
    return TimeSlices(tuple(train), tuple(calibration), tuple(test))


def fitting_slices(
    dates: Sequence[date], horizon_days: int, test_months: int, calibration_months: int
) -> TimeSlices:
    """``time_slices`` with the months asked for, or with fewer test and calibration months
    (down to one each) when the history is too short for them."""
    for k in range(max(test_months, calibration_months), 0, -1):
        try:
            return time_slices(dates, horizon_days, min(test_months, k), min(calibration_months, k))
        except FeatureError:
            continue
    return time_slices(dates, horizon_days, 1, 1)  # raises, naming the shortage


def labelled_frame(con, as_of_dates: Sequence[date], horizon_days: int) -> pl.DataFrame:
    """Model frame + labels of every scorable case at each of ``as_of_dates``, stacked."""
    parts = [
        labelled(model_frame_at(con, day), payment_labels(con, day, horizon_days))
        for day in as_of_dates
    ]
    return pl.concat(parts, how="vertical") if parts else pl.DataFrame()


def capped(frame: pl.DataFrame, max_rows: int, seed: int) -> pl.DataFrame:
    """At most ``max_rows`` rows, a seeded uniform sample (all of them when fewer)."""
    if frame.height <= max_rows:
        return frame
    return frame.sample(n=max_rows, seed=seed, shuffle=False)


def reference_distributions(frame: pl.DataFrame, spec: FeatureSpec) -> dict:
    """Per feature, the reference distribution for PSI drift: numeric — decile edges and the
    share of rows per bin (missing counted in a last bin); categorical — vocabulary shares."""
    out: dict = {}
    n = max(frame.height, 1)
    for name in spec.features:
        values = frame[name].to_numpy().astype(float)
        if name in spec.categorical:
            vocab = spec.categories[name]
            codes = values[~np.isnan(values)].astype(int)
            counts = np.bincount(codes, minlength=len(vocab))[: len(vocab)]
            missing = int(np.isnan(values).sum())
            out[name] = {
                "categories": [*vocab, None],
                "shares": [round(float(c) / n, 6) for c in counts] + [round(missing / n, 6)],
            }
            continue
        present = values[~np.isnan(values)]
        edges = (
            np.unique(np.quantile(present, np.linspace(0, 1, 11))) if present.size else np.array([])
        )
        if edges.size >= 2:
            inner = edges[1:-1]
            counts = np.bincount(
                np.searchsorted(inner, present, side="right"), minlength=edges.size - 1
            )
        else:
            counts = np.array([present.size])
        shares = [round(float(c) / n, 6) for c in counts]
        out[name] = {
            "edges": [float(e) for e in edges],
            "shares": [*shares, round(float(np.isnan(values).sum()) / n, 6)],
        }
    return out
