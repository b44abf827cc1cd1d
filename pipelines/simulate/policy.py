"""The logging policy of the simulated agency: DOMAIN §4 rules and the champion ladder.

Pure functions on arrays (one row per case). These are the simulated agency's own historical
rules, applied to the simulator's true state day by day; they stay here rather than calling
``pipelines/rules.py`` (which reads a warehouse) so that the world's bytes do not depend on the
product's code. The product's rules engine judges the result: on the default world its compliance
tiles find exactly the planted violations and nothing else (tests/acceptance/test_compliance.py).

Rules encoded (DOMAIN §4, figures from ``relance.toml``):

- exclusions (only ``wait`` allowed): open dispute, over-indebtedness, insolvency, deceased,
  represented, reported vulnerability (specialist queue), payment plan in good standing, promise
  not yet due + grace, nothing left to pay, time-barred, closed;
- caps per debtor across cases: at most ``max_outbound_per_7_days`` outbound contacts in any
  rolling 7 days, one call attempt per day (the simulated agency calls a debtor at most once a
  week), no call within ``quiet_days_after_conversation`` days after a right-party conversation;
- contact days: Monday–Saturday, no public holiday of any department (the engine schedules every
  contact on such a day, 08:00–20:00 in the debtor's time zone or inside a stated call window);
- channels: SMS to a mobile, e-mail to an address, calls to a number, none of them known bad
  or opted out; businesses get no SMS unless they gave a mobile;
- formal notice only after at least one nudge on the case, at most once, never explored.
"""

from __future__ import annotations

import numpy as np

from pipelines.simulate.params import N_ACTIONS, A, C

POLICY_ID = "champion_ladder_v1"
WAIT = A["wait"]

# The ladder, by the case's decision week (0 = first week after placement). Each step lists
# actions in order of preference; the first allowed one is taken, else wait.
LADDER: tuple[tuple[str, ...], ...] = (
    ("sms_nudge", "email_nudge", "letter_formal"),
    ("wait",),
    ("email_nudge", "sms_nudge"),
    ("call_nudge", "sms_nudge", "email_nudge"),
    ("wait",),
    ("email_formal", "letter_formal"),
    ("call_formal", "letter_formal"),
    ("wait",),
    ("letter_formal",),
    ("wait",),
    ("formal_notice", "letter_formal"),
    ("wait",),
)
# after the opening ladder, a four-week maintenance cycle
CYCLE: tuple[tuple[str, ...], ...] = (
    ("call_nudge", "sms_nudge", "email_nudge"),
    ("wait",),
    ("email_formal", "sms_nudge", "letter_formal"),
    ("wait",),
)
SLOW_AFTER_WEEKS = 40  # beyond this, one contact every eight weeks
NOTICE_MIN_CENTS = 25000
CALL_MIN_CENTS = 8000


def excluded(
    day: int,
    *,
    balance: np.ndarray,
    dispute_open: np.ndarray,
    plan_on: np.ndarray,
    promise_until: np.ndarray,
    barred_day: np.ndarray,
    debtor_events: dict[str, np.ndarray],
) -> np.ndarray:
    """Cases that may not be contacted on ``day`` (only ``wait``)."""
    ev = debtor_events
    represented = (ev["represented"] <= day) & (ev["represented_end"] > day)
    return (
        (balance <= 0)
        | dispute_open
        | plan_on
        | (promise_until >= day)
        | (barred_day <= day)
        | (ev["over_indebtedness"] <= day)
        | (ev["insolvency"] <= day)
        | (ev["deceased"] <= day)
        | (ev["vulnerable"] <= day)
        | represented
    )


def cap_ok(day: int, third_last_contact: np.ndarray, max_7: int) -> np.ndarray:
    """One more outbound contact on ``day`` keeps every rolling 7 days within ``max_7``.

    ``third_last_contact`` is the day of the debtor's ``max_7``-th most recent contact."""
    return third_last_contact <= day - 7


def call_ok(
    day: int, week_start: int, last_call: np.ndarray, last_rpc: np.ndarray, quiet_days: int
) -> np.ndarray:
    """No call yet this week (so at most one a day) and none too soon after a conversation."""
    return (last_call < week_start) & (day - last_rpc > quiet_days)


def allowed_actions(
    *,
    is_excluded: np.ndarray,
    has_day: np.ndarray,
    cap: np.ndarray,
    call: np.ndarray,
    sms_channel: np.ndarray,
    email_channel: np.ndarray,
    phone_channel: np.ndarray,
    has_nudge: np.ndarray,
    notice_sent: np.ndarray,
) -> np.ndarray:
    """(n, 8) booleans: which actions the rules allow for each case this week."""
    n = len(is_excluded)
    out = np.zeros((n, N_ACTIONS), dtype=bool)
    out[:, WAIT] = True
    go = ~is_excluded & has_day & cap
    out[:, A["sms_nudge"]] = go & sms_channel
    out[:, A["email_nudge"]] = go & email_channel
    out[:, A["email_formal"]] = go & email_channel
    out[:, A["call_nudge"]] = go & phone_channel & call
    out[:, A["call_formal"]] = go & phone_channel & call
    out[:, A["letter_formal"]] = go
    out[:, A["formal_notice"]] = go & has_nudge & ~notice_sent
    return out


def _step_table(steps: tuple[tuple[str, ...], ...]) -> np.ndarray:
    width = max(len(s) for s in steps)
    table = np.full((len(steps), width), WAIT, dtype=np.int8)
    for i, step in enumerate(steps):
        table[i, : len(step)] = [A[a] for a in step]
    return table


_LADDER = _step_table(LADDER)
_CYCLE = _step_table(CYCLE)


def ladder_actions(
    week_index: np.ndarray,
    amount_cents: np.ndarray,
    is_business: np.ndarray,
    observed_cause: np.ndarray,
    allowed: np.ndarray,
) -> np.ndarray:
    """The champion's deterministic choice for each case (an allowed action)."""
    n = len(week_index)
    w = week_index.astype(np.int64)
    opening = w < len(_LADDER)
    k = len(_CYCLE)
    cyc = np.where(w >= SLOW_AFTER_WEEKS, np.where(w % 8 == 0, 0, 1), (w - len(_LADDER)) % k)
    width = max(_LADDER.shape[1], _CYCLE.shape[1])
    prefs = np.full((n, width), WAIT, dtype=np.int8)
    prefs[opening, : _LADDER.shape[1]] = _LADDER[w[opening]]
    prefs[~opening, : _CYCLE.shape[1]] = _CYCLE[cyc[~opening]]
    # adaptations the agency makes from what it knows
    small = amount_cents < CALL_MIN_CENTS
    calls = (prefs == A["call_nudge"]) | (prefs == A["call_formal"])
    prefs[calls & small[:, None]] = A["sms_nudge"]
    notice = prefs == A["formal_notice"]
    prefs[notice & (amount_cents < NOTICE_MIN_CENTS)[:, None]] = A["letter_formal"]
    hardship = observed_cause == C["hardship"]
    prefs[(prefs == A["email_formal"]) & hardship[:, None]] = A["email_nudge"]
    prefs[(prefs == A["call_formal"]) & hardship[:, None]] = A["call_nudge"]
    unwilling = observed_cause == C["unwilling"]
    prefs[(prefs == A["call_nudge"]) & unwilling[:, None]] = A["call_formal"]
    prefs[(prefs == A["sms_nudge"]) & (is_business & ~unwilling)[:, None]] = A["email_nudge"]
    ok = np.take_along_axis(allowed, prefs.astype(np.int64), axis=1) & (prefs != WAIT)
    first = np.argmax(ok, axis=1)
    chosen = prefs[np.arange(n), first].astype(np.int64)
    return np.where(ok.any(axis=1), chosen, WAIT)


def logging_choice(
    ladder: np.ndarray,
    allowed: np.ndarray,
    share: float,
    u_explore: np.ndarray,
    u_pick: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The logged action, its exact probability and whether exploration drew it.

    With probability ``share`` the action is drawn uniformly among the allowed actions except the
    formal notice; otherwise it is the ladder's:
    P(a) = (1 − share)·[a = ladder] + share·[a ∈ E]/|E|.
    """
    n = len(ladder)
    explorable = allowed.copy()
    explorable[:, A["formal_notice"]] = False
    size = explorable.sum(axis=1)
    explore = u_explore < share
    cum = np.cumsum(explorable, axis=1)
    pick = np.minimum((u_pick * size).astype(np.int64), size - 1)
    drawn = np.argmax(cum > pick[:, None], axis=1)
    action = np.where(explore, drawn, ladder)
    in_e = explorable[np.arange(n), action]
    prob = (1 - share) * (action == ladder) + share * in_e / size
    return action, prob, explore
