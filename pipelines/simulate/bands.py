"""The plausibility bands of SIMULATION.md, measured on a simulated world.

Observable quantities are counted from the generated events chunk by chunk (numerator and
denominator, summed over chunks); latent ones come from the truth (``truth_bands``).
"""

from __future__ import annotations

import numpy as np

from pipelines.simulate.contacts import OUT
from pipelines.simulate.params import IS_CALL, IS_FORMAL, NEVER

BANDS = {
    "sms_lift_14d_points": (5.0, 20.0),
    "right_party_rate": (0.10, 0.35),
    "promises_kept": (0.40, 0.70),
    "complaints_per_1000_contacts": (0.5, 5.0),
    "no_valid_phone_or_email": (0.05, 0.20),
    "consumer_paid_within_180d": (0.30, 0.60),
    "best_fixed_is_own_best_share": (0.0, 0.70),
    "wait_best_share": (0.05, 1.0),
    "best_over_best_fixed": (0.05, None),
    "best_over_ladder": (None, 0.40),
}


def observed_counts(pop, case: dict, ev: dict, history_days: int, grace: int) -> dict:
    """Numerators and denominators of the observable bands for one chunk."""
    out: dict[str, float] = {}
    act = ev.get("actions", {"action": np.zeros(0, int), "outcome": np.zeros(0, int)})
    calls = IS_CALL[act["action"]]
    out["calls"] = int(calls.sum())
    out["right_party"] = int((act["outcome"][calls] == OUT["right_party"]).sum())
    out["contacts"] = len(act["action"])
    out["contacts_formal"] = int(IS_FORMAL[act["action"]].sum())
    comp = ev.get("complaints")
    if comp is not None:
        opened = comp["event"] == 0
        out["complaints"] = int(opened.sum())
        out["complaints_formal"] = int((opened & IS_FORMAL[comp["action"]]).sum())
    d = pop.d
    out["debtors"] = pop.n_debtors
    out["no_valid_contact"] = int((~d["phone_valid"] & ~d["email_valid"]).sum())
    pay = ev.get(
        "payments", {"case": np.zeros(0, int), "day": np.zeros(0, int), "amount": np.zeros(0, int)}
    )
    positive = pay["amount"] > 0
    first = np.full(pop.n_cases, NEVER)
    np.minimum.at(first, pay["case"][positive], pay["day"][positive])
    consumer = ~case["is_business"] & (case["placed_day"] + 180 <= history_days)
    out["consumer_cases_180"] = int(consumer.sum())
    out["consumer_paid_180"] = int((consumer & (first - case["placed_day"] <= 180)).sum())
    prom = ev.get("promises")
    out["promises_due"] = 0
    out["promises_kept"] = 0
    if prom is not None:
        fallen = prom["due"] + grace < history_days
        order = np.lexsort((pay["day"], pay["case"]))
        pc, pd, pa = pay["case"][order], pay["day"][order], pay["amount"][order]
        cum = np.concatenate([[0], np.cumsum(pa)])
        # Σ payments of the case with day in [made, due + grace]
        lo = np.searchsorted(pc * (1 << 32) + pd, prom["case"] * (1 << 32) + prom["day"])
        hi = np.searchsorted(
            pc * (1 << 32) + pd, prom["case"] * (1 << 32) + prom["due"] + grace, side="right"
        )
        paid = cum[hi] - cum[lo]
        out["promises_due"] = int(fallen.sum())
        out["promises_kept"] = int((fallen & (paid >= prom["amount"])).sum())
    return out


def observed_bands(counts: dict) -> dict[str, float]:
    """Ratios from summed counts."""

    def ratio(a: str, b: str, scale: float = 1.0) -> float:
        return scale * counts.get(a, 0) / counts[b] if counts.get(b) else float("nan")

    return {
        "right_party_rate": ratio("right_party", "calls"),
        "promises_kept": ratio("promises_kept", "promises_due"),
        "complaints_per_1000_contacts": ratio("complaints", "contacts", 1000.0),
        "complaints_per_1000_formal": ratio("complaints_formal", "contacts_formal", 1000.0),
        "complaints_per_1000_nudge": (
            1000.0
            * (counts.get("complaints", 0) - counts.get("complaints_formal", 0))
            / max(1, counts.get("contacts", 0) - counts.get("contacts_formal", 0))
        ),
        "no_valid_phone_or_email": ratio("no_valid_contact", "debtors"),
        "consumer_paid_within_180d": ratio("consumer_paid_180", "consumer_cases_180"),
    }


def in_band(name: str, value: float) -> bool:
    lo, hi = BANDS[name]
    return (lo is None or value >= lo) and (hi is None or value <= hi)
