"""Case life, disputes and payment plans (mixed into ``dynamics.Engine``)."""

from __future__ import annotations

import numpy as np

from pipelines.simulate.params import NEVER, SECTORS, C, by_name

RESOLUTIONS = ("upheld", "corrected", "rejected", "withdrawn")
DISPUTE_REASONS = ("amount", "service", "existence", "already_paid", "identity", "other")


class CaseLifeMixin:
    """Closures, recalls, titles, disputes and plan instalments."""

    def _case_life(self, t: int) -> None:
        u, case = self.u, self.case
        open_ = self.is_open(t)
        close = np.flatnonzero(open_ & (u["close_day"] == t))
        u["closed_day"][close] = t
        self.log(
            "updates",
            case=close,
            day=np.full(len(close), t),
            type=np.full(len(close), 1),
            amount=np.zeros(len(close), np.int64),
            reason=np.full(len(close), 0),
        )
        ends = np.flatnonzero(
            open_
            & (u["close_day"] > t)
            & (
                (u["mandate_end"] == t)
                | (case["recall_day"] == t)
                | (case["ev"]["deceased"] + 30 == t)
            )
        )
        if len(ends):
            planned = u["plan_on"][ends] & (case["recall_day"][ends] != t)
            u["mandate_end"][ends[planned]] += 91
            gone = ends[~planned]
            u["closed_day"][gone] = t
            dead = case["ev"]["deceased"][gone] + 30 == t
            self.log(
                "updates",
                case=gone,
                day=np.full(len(gone), t),
                type=np.where(dead, 1, 0),
                amount=np.zeros(len(gone), np.int64),
                reason=np.where(dead, 2, 1),
            )
        cl = self.w["case_life"]
        title = np.flatnonzero(
            open_
            & (case["placed_day"] + case["title_after"] == t)
            & (u["balance"] > 0)
            & (case["sector"] == SECTORS.index("consumer_credit"))
            & (case["amount_cents"] >= cl["title_min_eur"] * 100)
            & (case["title_u"] < cl["title_share"])
        )
        u["title_day"][title] = t
        self.log(
            "updates",
            case=title,
            day=np.full(len(title), t),
            type=np.full(len(title), 3),
            amount=np.zeros(len(title), np.int64),
            reason=np.full(len(title), 3),
        )

    def _disputes(self, t: int, r: np.ndarray) -> None:
        u = self.u
        raise_ = np.flatnonzero(
            (u["cause_now"] == C["dispute"])
            & ~u["dispute_open"]
            & self.is_open(t)
            & (r < self.w["disputes"]["raise_spontaneous"])
        )
        if len(raise_):
            self.open_disputes(t, raise_, (r[raise_] * 104729) % 1)
        end = np.flatnonzero(u["dispute_open"] & (u["dispute_end"] == t))
        if not len(end):
            return
        res = u["dispute_res"][end]
        u["dispute_open"][end] = False
        self.log(
            "disputes",
            case=end,
            day=np.full(len(end), t),
            event=np.ones(len(end), np.int8),
            id=u["dispute_id"][end],
            reason=np.full(len(end), -1),
            resolution=res,
        )
        upheld, corrected = end[res == 0], end[res == 1]
        lo, hi = self.w["disputes"]["correction_fraction"]
        cut = (
            u["balance"][corrected] * (lo + (hi - lo) * ((r[corrected] * 7919) % 1)) / 100
        ).round().astype(np.int64) * 100
        cut = np.minimum(cut, u["balance"][corrected])
        u["balance"][corrected] -= cut
        self.log(
            "updates",
            case=corrected,
            day=np.full(len(corrected), t + 2),
            type=np.full(len(corrected), 2),
            amount=-cut,
            reason=np.full(len(corrected), 4),
        )
        u["close_day"][upheld] = np.minimum(u["close_day"][upheld], t + 5)
        u["balance"][upheld] = 0
        u["cause_now"][end] = C["resolved"]
        rej = end[res == 2]
        rejected = rej[(r[rej] * 31) % 1 < 0.5]
        u["cause_now"][rejected] = C["unwilling"]

    def open_disputes(self, t: int, idx: np.ndarray, r: np.ndarray) -> None:
        u, dw = self.u, self.w["disputes"]
        lo, hi = dw["resolve_days"]
        u["dispute_open"][idx] = True
        u["dispute_end"][idx] = t + lo + (r * (hi - lo)).astype(np.int64)
        cum = np.cumsum(by_name(dw["resolution"], RESOLUTIONS))
        u["dispute_res"][idx] = np.searchsorted(cum / cum[-1], (r * 7919) % 1)
        u["dispute_id"][idx] = self.new_ids("dispute", len(idx))
        u["promise_pay_day"][idx] = NEVER
        rc = np.cumsum(by_name(dw["reason"], DISPUTE_REASONS))
        self.log(
            "disputes",
            case=idx,
            day=np.full(len(idx), t),
            event=np.zeros(len(idx), np.int8),
            id=u["dispute_id"][idx],
            reason=np.searchsorted(rc / rc[-1], (r * 104729) % 1),
            resolution=np.full(len(idx), -1),
        )

    def _instalments(self, t: int, idx: np.ndarray, r: np.ndarray) -> None:
        u = self.u
        ok = (r < u["plan_rel"][idx]) & ~u["plan_missed"][idx]
        paid = idx[ok]
        if len(paid):
            amount = np.minimum(u["plan_inst"][paid], u["balance"][paid])
            last = u["plan_left"][paid] <= 1
            amount = np.where(last, u["balance"][paid], amount)
            self.pay(t, paid, amount, np.tile(((r[ok] * 7919) % 1), (5, 1)), source="plan")
            u["plan_left"][paid] -= 1
            u["plan_next"][paid] += 30
            done = paid[(u["plan_left"][paid] <= 0) | (u["balance"][paid] <= 0)]
            self._plan_end(t, done, 2)
        missed_now = idx[~ok & ~u["plan_missed"][idx]]
        u["plan_missed"][missed_now] = True
        u["plan_next"][missed_now] = t + 10
        broken = idx[~ok & u["plan_missed"][idx] & ~np.isin(idx, missed_now)]
        self._plan_end(t, broken, 1)

    def _plan_end(self, t: int, idx: np.ndarray, event: int) -> None:
        u = self.u
        u["plan_on"][idx] = False
        u["plan_missed"][idx] = False
        u["plan_next"][idx] = NEVER
        self.log(
            "plans",
            case=idx,
            day=np.full(len(idx), t),
            event=np.full(len(idx), event),
            id=u["plan_id"][idx],
            amount=np.zeros(len(idx), np.int64),
            k=np.zeros(len(idx), np.int64),
            first_due=np.zeros(len(idx), np.int64),
        )
