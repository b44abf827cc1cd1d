"""The daily world: payment hazard, promises, plans, disputes, reversals, case life.

An ``Engine`` steps a set of units (cases) grouped by debtor through days. The same engine runs
the history (one unit per case, events logged) and the Monte Carlo truth (many copies of a case's
debtor, outcomes accumulated); every random number comes from ``draw(k)``, a (k, n) array of
uniforms per step, so copies that differ only in their first action share their random streams
(common random numbers).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import numpy as np

from pipelines.simulate.contacts import WeeklyMixin
from pipelines.simulate.lifecycle import CaseLifeMixin
from pipelines.simulate.params import CAUSE_NAMES, NEVER, SECTORS, Calendar, by_name

METHODS = ("card", "transfer", "direct_debit", "cheque", "cash")
REPORTERS = ("provider", "agency", "creditor")
UNIT_STATE = {
    "balance": np.int64,
    "paid": np.int64,
    "last_pay_day": np.int64,
    "closed_day": np.int64,
    "close_day": np.int64,
    "mandate_end": np.int64,
    "bf": float,
    "bs": float,
    "annoy": float,
    "recent": float,
    "cause_now": np.int8,
    "dispute_open": bool,
    "dispute_end": np.int64,
    "dispute_res": np.int8,
    "dispute_id": np.int64,
    "promise_until": np.int64,
    "promise_pay_day": np.int64,
    "promise_amount": np.int64,
    "plan_on": bool,
    "plan_next": np.int64,
    "plan_inst": np.int64,
    "plan_left": np.int64,
    "plan_rel": float,
    "plan_id": np.int64,
    "plan_missed": bool,
    "observed": np.int8,
    "n_dec": np.int64,
    "has_nudge": bool,
    "notice_sent": bool,
    "pend_day": np.int64,
    "pend_bf": float,
    "pend_bs": float,
    "rev_day": np.int64,
    "rev_amount": np.int64,
    "rev_of": np.int64,
    "rev_reporter": np.int8,
    "title_day": np.int64,
}
GROUP_STATE = {
    "c1": np.int64,
    "c2": np.int64,
    "c3": np.int64,
    "last_call": np.int64,
    "last_rpc": np.int64,
    "phone_bad": bool,
    "email_bad": bool,
    "opt_sms": bool,
    "opt_email": bool,
    "opt_call": bool,
}


def fresh_state(case: dict, n_groups: int) -> tuple[dict, dict]:
    """Unit and group state before the first day."""
    n = len(case["placed_day"])
    u = {k: np.zeros(n, dtype=t) for k, t in UNIT_STATE.items()}
    for k in (
        "closed_day",
        "close_day",
        "dispute_end",
        "promise_pay_day",
        "pend_day",
        "rev_day",
        "title_day",
        "plan_next",
    ):
        u[k][:] = NEVER
    u["promise_until"][:] = -NEVER
    u["last_pay_day"][:] = -NEVER
    u["balance"][:] = case["amount_cents"]
    u["mandate_end"][:] = case["mandate_end_day"]
    u["cause_now"][:] = case["cause"]
    u["observed"][:] = -1
    g = {k: np.zeros(n_groups, dtype=t) for k, t in GROUP_STATE.items()}
    for k in ("c1", "c2", "c3", "last_call", "last_rpc"):
        g[k][:] = -NEVER
    return u, g


class Engine(WeeklyMixin, CaseLifeMixin):
    """Units (cases) grouped by debtor (``group``), stepped day by day."""

    def __init__(
        self,
        world: dict,
        settings,
        cal: Calendar,
        case: dict,
        group: np.ndarray,
        state: tuple[dict, dict],
        draw: Callable[[int], np.ndarray],
        log: bool,
        forced: np.ndarray | None = None,
        target: np.ndarray | None = None,
    ):
        self.w, self.cal, self.case, self.group = world, cal, case, group
        self.u, self.g = state
        self.draw, self.logging = draw, log
        self.n = len(group)
        self.forced = forced
        self.target = target
        self.logs: dict[str, list[dict]] = defaultdict(list)
        self.ids: dict[str, int] = defaultdict(int)
        self.settings = settings
        self._figures(settings)
        hz = world["hazard"]
        sector_base = by_name(hz["base"], SECTORS)[case["sector"]]
        self.h_base = (
            sector_base
            * case["capacity"] ** hz["capacity_power"]
            * case["willingness"] ** hz["willingness_power"]
        )
        self.cause_mult = by_name(hz["cause"], CAUSE_NAMES)
        ages = np.arange(4000)
        self.age_factor = hz["age_floor"] + (1 - hz["age_floor"]) * np.exp(
            -ages / hz["age_tau_days"]
        )
        tau = world["actions"]["boost_tau_days"]
        self.decay = np.exp(
            -1
            / np.array(
                [
                    tau["fast"],
                    tau["slow"],
                    world["actions"]["annoy_tau_days"],
                    world["actions"]["recent_tau_days"],
                ]
            )
        )
        self.years = (
            np.where(
                case["is_business"],
                settings.get("limitation.business_years", 5),
                settings.get("limitation.consumer_years", 2),
            )
            * 365
        )
        self.acc = None

    def _figures(self, s) -> None:
        self.max_7 = int(s.get("contact.max_outbound_per_7_days", 3))
        self.quiet = int(s.get("contact.quiet_days_after_conversation", 7))
        self.grace = int(s.get("exclusions.promise_grace_days", 3))
        self.share = float(s.get("policy.exploration_share", 0.07))

    # -- bookkeeping ---------------------------------------------------------------------
    def new_ids(self, kind: str, k: int) -> np.ndarray:
        start = self.ids[kind]
        self.ids[kind] = start + k
        return np.arange(start, start + k)

    def log(self, kind: str, **cols) -> None:
        if self.logging and len(next(iter(cols.values()))):
            self.logs[kind].append({k: np.asarray(v) for k, v in cols.items()})

    def events(self) -> dict[str, dict[str, np.ndarray]]:
        return {
            kind: {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
            for kind, parts in self.logs.items()
        }

    def start_accumulating(self, day0: int, horizon: int) -> None:
        """Monte Carlo mode: sum outcomes of the target units over [day0, day0 + horizon)."""
        self.acc = {
            "day0": day0,
            "end": day0 + horizon,
            "amount": np.zeros(self.n, np.int64),
            "any": np.zeros(self.n, bool),
            "any14": np.zeros(self.n, bool),
            "complaint": np.zeros(self.n, bool),
        }

    def is_open(self, day: int) -> np.ndarray:
        return (self.case["placed_day"] <= day) & (self.u["closed_day"] > day)

    # -- one day -------------------------------------------------------------------------
    def run(self, first: int, last: int) -> None:
        """Simulate days ``first`` … ``last - 1`` (decisions on Mondays)."""
        for day in range(first, last):
            if self.cal.weekday[day] == 0:
                self.week(day)
            self.day(day)

    def day(self, t: int) -> None:
        u, case = self.u, self.case
        r = self.draw(5)
        hit = u["pend_day"] == t
        if hit.any():
            u["bf"][hit] += u["pend_bf"][hit]
            u["bs"][hit] += u["pend_bs"][hit]
            u["pend_day"][hit] = NEVER
        self._case_life(t)
        self._disputes(t, r[4])
        open_ = self.is_open(t)
        # scheduled payments: plan instalments and kept promises
        due = np.flatnonzero(u["plan_on"] & (u["plan_next"] == t) & open_)
        if len(due):
            self._instalments(t, due, r[4][due])
        kept = np.flatnonzero((u["promise_pay_day"] == t) & open_ & (u["balance"] > 0))
        if len(kept):
            amount = np.minimum(u["promise_amount"][kept], u["balance"][kept])
            u["promise_pay_day"][kept] = NEVER
            self.pay(t, kept, amount, r[:, kept], source="promise")
        # the hazard
        ev = case["ev"]
        frozen = (ev["over_indebtedness"] <= t) | (ev["insolvency"] <= t) | (ev["deceased"] <= t)
        live = open_ & (u["balance"] > 0) & ~u["dispute_open"] & ~u["plan_on"] & ~frozen
        age = np.clip(t - case["placed_day"], 0, len(self.age_factor) - 1)
        h = (
            self.h_base * self.cause_mult[u["cause_now"]] * self.age_factor[age] + u["bf"] + u["bs"]
        ) * np.exp(-u["annoy"])
        payers = np.flatnonzero(live & (r[0] < h))
        if len(payers):
            self.pay(t, payers, self._amounts(payers, r[1][payers]), r[:, payers], source="hazard")
        rev = np.flatnonzero(u["rev_day"] == t)
        if len(rev):
            self._reversals(t, rev)
        for key, f in (("bf", 0), ("bs", 1), ("annoy", 2), ("recent", 3)):
            u[key] *= self.decay[f]

    def _amounts(self, idx: np.ndarray, r: np.ndarray) -> np.ndarray:
        hz, case = self.w["hazard"], self.case
        bal = self.u["balance"][idx]
        ref = (
            np.where(
                case["is_business"][idx],
                hz["full_payment_ref"]["business"],
                hz["full_payment_ref"]["individual"],
            )
            * 100
        )
        p_full = np.minimum(
            1.0,
            hz["full_payment_scale"] * case["capacity"][idx] * (ref / np.maximum(bal, 1)) ** 0.35,
        )
        lo, hi = hz["partial_fraction"]
        frac = lo + (hi - lo) * (r / np.maximum(p_full, 1e-9) - 1).clip(0, 1)
        partial = np.maximum((bal * frac / 1000).round() * 1000, 1000)
        return np.where(r < p_full, bal, np.minimum(partial, bal)).astype(np.int64)

    def pay(self, t: int, idx: np.ndarray, amount: np.ndarray, r: np.ndarray, source: str) -> None:
        """Payments of ``amount`` on units ``idx`` on day ``t`` (``r``: (5, len(idx)) uniforms)."""
        u, case = self.u, self.case
        u["balance"][idx] -= amount
        u["paid"][idx] += amount
        u["last_pay_day"][idx] = t
        done = idx[u["balance"][idx] <= 0]
        lo, hi = self.w["case_life"]["closure_lag_days"]
        u["close_day"][done] = np.minimum(
            u["close_day"][done],
            t + lo + (r[3][u["balance"][idx] <= 0] * (hi - lo)).astype(np.int64),
        )
        if self.acc is not None:
            a = self.acc
            if a["day0"] <= t < a["end"]:
                a["amount"][idx] += amount
                a["any"][idx] = True
                if t < a["day0"] + 14:
                    a["any14"][idx] = True
        # means and reporters
        meth_u = r[2]
        bus = case["is_business"][idx]
        mw = self.w["methods"]
        cum_i = np.cumsum(by_name(mw["individual"], METHODS))
        cum_b = np.cumsum(by_name(mw["business"], METHODS))
        method = np.where(
            bus,
            np.searchsorted(cum_b / cum_b[-1], meth_u),
            np.searchsorted(cum_i / cum_i[-1], meth_u),
        )
        if source == "plan":
            method = np.where(bus, 1, 2)
        elif source == "promise":
            method = np.where(bus, 1, 0)
        to_creditor = (method == 2) | (
            (method == 1) & ((meth_u * 997) % 1 < mw["transfer_to_creditor"])
        )
        reporter = np.where(method == 0, 0, np.where(to_creditor, 2, 1))
        reversible = np.isin(method, (0, 2, 3)) & (u["rev_day"][idx] == NEVER)
        rev = reversible & (r[3] < self.w["hazard"]["reversal_share"])
        pids = self.new_ids("payment", len(idx))
        if rev.any():
            j = idx[rev]
            lo, hi = self.w["hazard"]["reversal_days"]
            u["rev_day"][j] = t + lo + ((r[3][rev] * 7919) % 1 * (hi - lo)).astype(np.int64)
            u["rev_amount"][j] = amount[rev]
            u["rev_of"][j] = pids[rev]
            u["rev_reporter"][j] = reporter[rev]
        self.log(
            "payments",
            case=idx,
            day=np.full(len(idx), t),
            amount=amount,
            method=method,
            reporter=reporter,
            id=pids,
            reverses=np.full(len(idx), -1),
            minute=(420 + (r[1] * 7919 % 1) * 959).astype(np.int64),
        )

    def _reversals(self, t: int, idx: np.ndarray) -> None:
        u = self.u
        amount = u["rev_amount"][idx]
        u["balance"][idx] += amount
        u["paid"][idx] -= amount
        reopen = idx[(u["close_day"][idx] > t) & (u["balance"][idx] > 0)]
        u["close_day"][reopen] = NEVER
        if self.acc is not None and self.acc["day0"] <= t < self.acc["end"]:
            self.acc["amount"][idx] -= amount
        method = np.where(u["rev_reporter"][idx] == 0, 0, 3)
        self.log(
            "payments",
            case=idx,
            day=np.full(len(idx), t),
            amount=-amount,
            method=method,
            reporter=u["rev_reporter"][idx],
            id=self.new_ids("payment", len(idx)),
            reverses=u["rev_of"][idx],
            minute=np.full(len(idx), 600),
        )
        u["rev_day"][idx] = NEVER
