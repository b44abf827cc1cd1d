"""Weekly decisions and what each contact does to whom (mixed into ``dynamics.Engine``).

Every Monday each open case gets a decision from the logging policy (``policy.py``); the cases of
a debtor are decided in rank order, rank k acting on the k-th contact day of the week, so the
per-debtor caps are checked against the contacts already planned. A contact's effect depends on
the debtor's latent traits and cause (module docstring of ``truth.py`` summarises the model).
"""

from __future__ import annotations

import numpy as np

from pipelines.simulate import policy
from pipelines.simulate.params import (
    CAUSE_NAMES,
    GOOD_FAITH,
    IS_CALL,
    IS_EMAIL,
    IS_FORMAL,
    IS_LETTER,
    IS_NUDGE,
    IS_SMS,
    NEVER,
    A,
    C,
    by_action,
    by_name,
)

OUTCOMES = (
    "sent",
    "delivered",
    "failed",
    "bounced",
    "opened",
    "clicked",
    "no_answer",
    "busy",
    "voicemail",
    "right_party",
    "wrong_party",
    "callback_requested",
    "refused",
)
OUT = {name: i for i, name in enumerate(OUTCOMES)}
COMPLAINT_REASONS = ("pressure", "tone", "wrong_person", "privacy", "fees", "other")
K_WEEK = 12


class WeeklyMixin:
    """Decisions (Mondays) and contacts; expects the attributes set by ``Engine.__init__``."""

    def decide(self, monday: int, idx: np.ndarray, t: int, r: np.ndarray):
        """Allowed actions, the ladder's choice and the logged choice for units ``idx``."""
        u, g, case = self.u, self.g, self.case
        grp = self.group[idx]
        has_day = np.full(len(idx), t >= 0)
        excl = policy.excluded(
            monday,
            balance=u["balance"][idx],
            dispute_open=u["dispute_open"][idx],
            plan_on=u["plan_on"][idx],
            promise_until=u["promise_until"][idx],
            barred_day=np.maximum(case["due_day"][idx], u["last_pay_day"][idx]) + self.years[idx],
            debtor_events={k: v[idx] for k, v in case["ev"].items()},
        )
        phone = case["has_phone"][idx] & ~g["phone_bad"][grp]
        allowed = policy.allowed_actions(
            is_excluded=excl,
            has_day=has_day,
            cap=policy.cap_ok(t, g["c3"][grp], self.max_7),
            call=policy.call_ok(t, monday, g["last_call"][grp], g["last_rpc"][grp], self.quiet),
            sms_channel=phone & case["mobile"][idx] & ~g["opt_sms"][grp],
            email_channel=case["has_email"][idx] & ~g["email_bad"][grp] & ~g["opt_email"][grp],
            phone_channel=phone & ~g["opt_call"][grp],
            has_nudge=u["has_nudge"][idx],
            notice_sent=u["notice_sent"][idx],
        )
        ladder = policy.ladder_actions(
            u["n_dec"][idx],
            u["balance"][idx],
            case["is_business"][idx],
            u["observed"][idx],
            allowed,
        )
        action, prob, explore = policy.logging_choice(ladder, allowed, self.share, r[0], r[1])
        return allowed, ladder, action, prob, explore

    def week(self, monday: int) -> None:
        u, case = self.u, self.case
        r = self.draw(K_WEEK)
        open_ = self.is_open(monday) & (case["placed_day"] < monday)
        days = self.cal.week_contact_days(monday)
        for rank in range(int(case["rank"].max(initial=0)) + 1):
            idx = np.flatnonzero(open_ & (case["rank"] == rank))
            if not len(idx):
                continue
            t = int(days[rank]) if rank < len(days) else -1
            ri = r[:, idx]
            _, _, action, prob, explore = self.decide(monday, idx, t, ri)
            if self.forced is not None:
                f = self.forced[idx]
                action = np.where(f >= 0, f, action)
                self.forced[idx] = -1
            u["n_dec"][idx] += 1
            self.log(
                "decisions",
                case=idx,
                day=np.full(len(idx), monday),
                action=action,
                prob=prob,
                explore=explore,
            )
            act = action != policy.WAIT
            if act.any():
                day = t if t >= 0 else int(days[-1])
                self.contact(day, monday, idx[act], action[act], ri[:, act])

    # -- one contact per unit ----------------------------------------------------------------
    def contact(self, t: int, monday: int, idx: np.ndarray, a: np.ndarray, r: np.ndarray) -> None:
        u, g, case, w = self.u, self.g, self.case, self.w
        grp = self.group[idx]
        n = len(idx)
        feasible = np.where(
            IS_SMS[a],
            case["has_phone"][idx] & case["mobile"][idx],
            np.where(
                IS_EMAIL[a],
                case["has_email"][idx],
                np.where(IS_CALL[a], case["has_phone"][idx], True),
            ),
        )
        idx, a, r, grp = idx[feasible], a[feasible], r[:, feasible], grp[feasible]
        n = len(idx)
        if not n:
            return
        # caps bookkeeping (every outbound attempt counts)
        g["c3"][grp], g["c2"][grp], g["c1"][grp] = g["c2"][grp], g["c1"][grp], t
        calls = IS_CALL[a]
        g["last_call"][grp[calls]] = t
        # outcomes
        pvalid = case["phone_valid"][idx]
        evalid = case["email_valid"][idx]
        out = np.full(n, OUT["sent"], dtype=np.int8)
        sms = IS_SMS[a]
        out[sms] = np.where(pvalid[sms], OUT["delivered"], OUT["failed"])
        em = IS_EMAIL[a]
        open_p = case["resp_email"][idx] * np.where(
            IS_FORMAL[a], w["calls"]["email_open_formal"], 1
        )
        out[em] = np.where(
            evalid[em],
            np.where(r[3][em] < open_p[em], OUT["opened"], OUT["delivered"]),
            OUT["bounced"],
        )
        cw = w["calls"]
        answered = r[3] < case["answer"][idx]
        ua = r[4]
        miss = np.where(
            ua < cw["no_answer"],
            OUT["no_answer"],
            np.where(ua < cw["no_answer"] + cw["busy"], OUT["busy"], OUT["voicemail"]),
        )
        ans = np.where(
            ua < cw["callback_requested"],
            OUT["callback_requested"],
            np.where(ua > 1 - cw["refused"], OUT["refused"], OUT["right_party"]),
        )
        valid_call = np.where(answered, ans, miss)
        wrong = np.where(r[3] < 0.5, OUT["wrong_party"], miss)
        out[calls] = np.where(pvalid[calls], valid_call[calls], wrong[calls])
        g["phone_bad"][grp[(out == OUT["failed"]) | (out == OUT["wrong_party"])]] = True
        g["email_bad"][grp[out == OUT["bounced"]]] = True
        rpc = out == OUT["right_party"]
        g["last_rpc"][grp[rpc]] = t
        letter = IS_LETTER[a]
        read = letter & (
            r[3]
            < np.where(
                a == A["formal_notice"],
                w["actions"]["notice_delivery"],
                w["actions"]["letter_delivery"],
            )
        )
        engaged = (sms & (out == OUT["delivered"])) | (out == OUT["opened"]) | rpc | read
        observed = self._effects(t, idx, a, r, engaged, rpc)
        u["has_nudge"][idx] |= IS_NUDGE[a]
        u["notice_sent"][idx] |= a == A["formal_notice"]
        self._complaints(t, idx, a, r, engaged, out)
        u["recent"][idx] += 1
        minute = self._minutes(idx, a, r[2])
        ids = self.new_ids("action", n)
        self.log(
            "actions",
            case=idx,
            day=np.full(n, t),
            minute=minute,
            action=a,
            outcome=out,
            observed=observed,
            id=ids,
        )
        self._promises(
            t, idx, r, rpc & (u["cause_now"][idx] != C["dispute"]) & ~u["dispute_open"][idx], ids
        )

    def _minutes(self, idx, a, r) -> np.ndarray:
        pref = self.case["preferred"][idx]
        base = 480 + (r * 705).astype(np.int64)
        call = IS_CALL[a]
        return np.where(
            call & (pref == 0),
            720 + (r * 120).astype(np.int64),
            np.where(call & (pref == 1), 1080 + (r * 105).astype(np.int64), base),
        )

    def _effects(self, t, idx, a, r, engaged, rpc) -> np.ndarray:
        u, case, aw = self.u, self.case, self.w["actions"]
        cause = u["cause_now"][idx]
        amount = case["amount_cents"][idx] / 100
        bus = case["is_business"][idx]
        nudge = ~IS_FORMAL[a]
        tone = np.where(
            nudge,
            by_name(aw["nudge_cause"], CAUSE_NAMES)[cause],
            by_name(aw["formal_cause"], CAUSE_NAMES)[cause],
        )
        aff = np.exp(
            np.where(nudge, -1, 1) * aw["tone_affinity_weight"] * case["firm_affinity"][idx]
        )
        s, lg = aw["small_debt_eur"], aw["large_debt_eur"]
        size = np.where(
            IS_CALL[a],
            1.0,
            np.where(nudge, (1 + 100 / s) / (1 + amount / s), (1 + 100 / lg) / (1 + amount / lg)),
        )
        kind = np.where(
            bus,
            np.where(IS_CALL[a], aw["business_call"], np.where(nudge, aw["business_nudge"], 1.0)),
            1.0,
        )
        attention = np.where(IS_SMS[a], case["resp_sms"][idx], 1.0)
        fatigue = 1 / (1 + aw["fatigue"] * u["recent"][idx])
        amp = (
            by_action(aw["amplitude"])[a]
            * tone
            * np.minimum(aff, 3.0)
            * size
            * kind
            * attention
            * np.sqrt(case["capacity"][idx])
            * fatigue
            * engaged
        )
        amp = np.minimum(amp, 0.9)
        tau = aw["boost_tau_days"]
        fast = np.isin(a, [A[x] for x in aw["fast"]])
        u["pend_day"][idx] = t
        u["pend_bf"][idx] = np.where(fast, amp / tau["fast"], 0.0)
        u["pend_bs"][idx] = np.where(fast, 0.0, amp / tau["slow"])
        # goodwill lost
        unwilling = cause == C["unwilling"]
        u["annoy"][idx] += (
            by_action(aw["annoy"])[a]
            * case["sensitivity"][idx]
            * (1 + u["recent"][idx])
            * np.where(unwilling, aw["annoy_unwilling"], 1)
            * np.where(engaged, 1.0, 0.3)
        )
        # causes revealed or resolved through contact
        obs = np.full(len(idx), -1, dtype=np.int8)
        stated = rpc & (r[5] < self.w["calls"]["cause_stated"]) & (cause < C["unreachable"])
        obs[stated] = cause[stated]
        admin = engaged & (cause == C["administrative"]) & (r[6] < by_action(aw["admin_fix"])[a])
        u["cause_now"][idx[admin]] = C["resolved"]
        obs[admin] = C["administrative"]
        fix = idx[admin & (r[6] < 0.5 * by_action(aw["admin_fix"])[a])]
        cut = (u["balance"][fix] * 0.2 / 100).round().astype(np.int64) * 100
        u["balance"][fix] -= cut
        self.log(
            "updates",
            case=fix,
            day=np.full(len(fix), t + 7),
            type=np.full(len(fix), 2),
            amount=-cut,
            reason=np.full(len(fix), 5),
        )
        dw = self.w["disputes"]
        p_raise = np.where(rpc, dw["raise_on"]["right_party"], by_action(dw["raise_on"])[a])
        disp = (
            (cause == C["dispute"]) & ~u["dispute_open"][idx] & (engaged | rpc) & (r[6] < p_raise)
        )
        if disp.any():
            self.open_disputes(t, idx[disp], r[7][disp])
        obs[disp] = C["dispute"]
        u["observed"][idx] = np.where(obs >= 0, obs, u["observed"][idx])
        return obs

    def _complaints(self, t, idx, a, r, engaged, out) -> None:
        u, case, cw = self.u, self.case, self.w["complaints"]
        cause = u["cause_now"][idx]
        p = by_action(cw["per_contact"])[a] * (engaged | (out == OUT["wrong_party"]))
        p = p * np.where(out == OUT["right_party"], cw["right_party_mult"], 1.0)
        p = p * (1 + cw["pressure_mult"] * case["sensitivity"][idx] * u["recent"][idx])
        p = p * np.where(IS_FORMAL[a] & GOOD_FAITH[cause], cw["good_faith_formal_mult"], 1.0)
        p = p * np.where(case["vulnerable"][idx], cw["vulnerable_mult"], 1.0)
        p = p * np.where(out == OUT["wrong_party"], cw["wrong_party_mult"], 1.0)
        hit = r[8] < p
        stop = (
            IS_SMS[a]
            & (out == OUT["delivered"])
            & (r[9] < self.w["complaints"]["sms_stop"] * case["sensitivity"][idx])
        )
        j = idx[hit]
        if self.acc is not None and self.acc["day0"] <= t < self.acc["end"]:
            self.acc["complaint"][j] = True
        if hit.any():
            u["annoy"][j] += 0.3
            day = t + 1 + (r[10][hit] * 6).astype(np.int64)
            lo, hi = cw["close_days"]
            closed = day + lo + (r[11][hit] * (hi - lo)).astype(np.int64)
            reason = np.where(
                out[hit] == OUT["wrong_party"],
                COMPLAINT_REASONS.index("wrong_person"),
                np.where(u["recent"][j] >= 2, 0, np.where(IS_FORMAL[a[hit]], 1, 5)),
            )
            cid = self.new_ids("complaint", len(j))
            channel = np.where(
                IS_SMS[a[hit]], 0, np.where(IS_EMAIL[a[hit]], 1, np.where(IS_CALL[a[hit]], 2, 3))
            )
            self.log(
                "complaints",
                case=np.concatenate([j, j]),
                day=np.concatenate([day, closed]),
                event=np.repeat([0, 1], len(j)),
                id=np.concatenate([cid, cid]),
                channel=np.concatenate([channel, channel]),
                reason=np.concatenate([reason, reason]),
                action=np.concatenate([a[hit], a[hit]]),
            )
            opt = (r[9][hit] * 7919) % 1 < cw["opt_out_after"]
            self._opt_out(day[opt], j[opt], channel[opt])
        if stop.any():
            self._opt_out(np.full(int(stop.sum()), t), idx[stop], np.zeros(int(stop.sum()), int))

    def _opt_out(self, day, idx, channel) -> None:
        grp = self.group[idx]
        for ch, key in ((0, "opt_sms"), (1, "opt_email"), (2, "opt_call")):
            self.g[key][grp[channel == ch]] = True
        keep = channel < 3
        self.log(
            "prefs",
            case=idx[keep],
            day=day[keep],
            channel=channel[keep],
            id=self.new_ids("pref", int(keep.sum())),
        )

    def _promises(self, t, idx, r, ok, action_ids) -> None:
        u, case, cw = self.u, self.case, self.w["calls"]
        cause = u["cause_now"][idx]
        bal = u["balance"][idx]
        big = (
            bal
            >= np.where(
                case["is_business"][idx],
                cw["plan_min_eur"]["business"],
                cw["plan_min_eur"]["individual"],
            )
            * 100
        )
        p_plan = by_name(cw["plan"], CAUSE_NAMES)[cause] * big
        plan = ok & (bal > 0) & (r[5] * 7919 % 1 < p_plan)
        p_prom = by_name(cw["promise"], CAUSE_NAMES)[cause] * np.sqrt(case["willingness"][idx])
        prom = ok & (bal > 0) & ~plan & ((r[5] * 104729) % 1 < p_prom)
        if plan.any():
            j = idx[plan]
            lo, hi = cw["plan_instalments"]
            k = lo + (r[7][plan] * (hi - lo + 1)).astype(np.int64)
            u["plan_on"][j] = True
            u["plan_left"][j] = k
            u["plan_inst"][j] = u["balance"][j] // k
            u["plan_next"][j] = t + 14
            miss = self.w["calls"]["plan_miss"]
            u["plan_rel"][j] = 1 - miss["max"] * ((r[9][plan] * 31) % 1) ** miss["power"]
            u["plan_id"][j] = self.new_ids("plan", len(j))
            self.log(
                "plans",
                case=j,
                day=np.full(len(j), t),
                event=np.zeros(len(j), np.int64),
                id=u["plan_id"][j],
                amount=u["balance"][j].copy(),
                k=k,
                first_due=np.full(len(j), t + 14),
            )
        if prom.any():
            j = idx[prom]
            lo, hi = cw["promise_days"]
            due = t + lo + (r[7][prom] * (hi - lo)).astype(np.int64)
            full = (r[9][prom] * 31 % 1) < cw["promise_full"]
            part = (
                np.maximum((u["balance"][j] * (0.3 + 0.4 * r[10][prom]) / 1000).round(), 1) * 1000
            )
            amount = np.where(full, u["balance"][j], np.minimum(part, u["balance"][j]))
            a_, b_ = cw["promise_keep"]
            keep = r[11][prom] < a_ + b_ * case["willingness"][j] * np.sqrt(case["capacity"][j])
            pay_day = t + 1 + ((r[11][prom] * 7919 % 1) * (due - t)).astype(np.int64)
            u["promise_until"][j] = due + self.grace
            u["promise_amount"][j] = amount
            u["promise_pay_day"][j] = np.where(keep, pay_day, NEVER)
            self.log(
                "promises",
                case=j,
                day=np.full(len(j), t),
                due=due,
                amount=amount,
                action=action_ids[prom],
                id=self.new_ids("promise", len(j)),
            )
