"""Planted compliance violations (SIMULATION.md), added to the first chunk's rows before writing.

Each planted row is listed in ``truth/violations.csv`` with its category, import kind and
reference, so that every compliance tile can be shown to find exactly these:

``calls_same_day``   a second call attempt to the debtor on the day of another (max 1 a day);
``over_7_days``      three extra e-mails or SMS after a contact, the third being the 4th outbound
                     contact in 7 days (listed: the breaching row; the two others as ``related``);
``out_of_window``    a call moved to 21:00–21:45 local time the same day (metropolitan debtors);
``excluded_contact`` an e-mail to a case during its open dispute;
``late_remittance``  funds remitted 35–50 days after encashment;
``consumer_fee``     a collection fee on a consumer case without an enforceable title.

Candidates are chosen so that a planted row breaks exactly one rule: no other contact of the
debtor within ten days, no promise, plan, dispute or payment on the case around it.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl

from pipelines.simulate.frames import AGENCY
from pipelines.simulate.frames_agency import paris_minutes
from pipelines.simulate.params import SECTORS

FIELDS = ("category", "kind", "ref", "creditor_ref", "case_ref", "date", "related")


def _isolated(contacts: pl.DataFrame, debtor: np.ndarray, gap: int) -> pl.DataFrame:
    """Contacts with no other contact of the same debtor within ``gap`` days."""
    df = contacts.with_columns(pl.Series("_deb", debtor[contacts["_case"].to_numpy()]))
    df = df.sort("_deb", "_days")
    prev = df["_days"].shift(1)
    nxt = df["_days"].shift(-1)
    same_prev = df["_deb"].shift(1) == df["_deb"]
    same_next = df["_deb"].shift(-1) == df["_deb"]
    ok = (~same_prev.fill_null(False) | (df["_days"] - prev > gap).fill_null(True)) & (
        ~same_next.fill_null(False) | (nxt - df["_days"] > gap).fill_null(True)
    )
    return df.filter(ok)


def _quiet_cases(
    frames: dict, kinds=("promises", "plans", "disputes", "payments_provider", "payments_agency")
) -> pl.DataFrame:
    parts = [frames[(AGENCY, k)].select("_case", "_days") for k in kinds if (AGENCY, k) in frames]
    return pl.concat(parts) if parts else pl.DataFrame({"_case": [], "_days": []})


def planted(world, cal, pop, case, frames: dict, rng) -> list[dict]:
    """Add the violations to ``frames`` (in place); return their truth rows."""
    v = world["violations"]
    out: list[dict] = []
    debtor = pop.c["debtor"]
    acts = frames[(AGENCY, "actions")]
    end = cal.history_days - 8
    busy = _quiet_cases(frames)
    iso = _isolated(acts.filter(pl.col("_days") < end), debtor, 10)
    quiet = (
        iso.join(busy.rename({"_days": "_b"}), on="_case", how="left")
        .with_columns(
            ((pl.col("_b") - pl.col("_days")).is_between(-3, 10)).fill_null(False).alias("_hit")
        )
        .group_by([*acts.columns, "_deb"], maintain_order=True)
        .agg(pl.col("_hit").any())
        .filter(~pl.col("_hit"))
        .drop("_hit")
    )
    ev = case["ev"]
    clean = np.ones(len(debtor), bool)
    for key in ev:
        clean &= ev[key] > cal.history_days
    quiet = quiet.filter(pl.Series(clean[quiet["_case"].to_numpy()]))
    quiet = quiet.sample(fraction=1.0, shuffle=True, seed=int(rng.integers(1 << 30)))
    used: set[int] = set()
    extra_rows = []
    seq = iter(range(1_000_000))

    def take(frame: pl.DataFrame, k: int) -> list[dict]:
        rows = []
        for row in frame.iter_rows(named=True):
            if row["_deb"] in used:
                continue
            used.add(row["_deb"])
            rows.append(row)
            if len(rows) == k:
                break
        return rows

    def extra(
        row: dict, day: int, minute_paris: int, channel: str, tone: str, outcome: str, phone=None
    ) -> dict:
        new = dict(row)
        new.pop("_deb", None)
        new.update(
            action_ref=f"AX{pop.chunk:03d}{next(seq):06d}",
            channel=channel,
            tone=tone,
            outcome=outcome,
            observed_cause=None,
            phone=phone,
            letter_ref=None,
            action_at=cal.dates[day].astype("datetime64[us]").item()
            + timedelta(minutes=int(minute_paris)),
            _days=day,
            _recv=cal.date(int(cal_sunday(cal, day))),
        )
        return new

    def local_to_paris(c, day, local):
        return int(paris_minutes(cal, np.array([day]), case["zone"][[c]], np.array([local]))[0])

    def record(cat, kind, ref, c, day, related=""):
        out.append(
            {
                "category": cat,
                "kind": kind,
                "ref": ref,
                "creditor_ref": pop_ref(pop, world, c),
                "case_ref": pop.c["case_ref"][c],
                "date": cal.date(int(day)).isoformat(),
                "related": related,
            }
        )

    calls = quiet.filter(
        pl.col("channel") == "call", pl.col("outcome").is_in(["no_answer", "busy", "voicemail"])
    )
    for row in take(
        calls.filter(pl.Series(case["zone"][calls["_case"].to_numpy()] == 0)), v["calls_same_day"]
    ):
        c, day = row["_case"], row["_days"]
        minute = row["action_at"].hour * 60 + row["action_at"].minute
        later = min(minute + 90, 19 * 60 + 40)
        new = extra(row, day, later, "call", row["tone"], "no_answer", row["phone"])
        extra_rows.append(new)
        record("calls_same_day", "actions", new["action_ref"], c, day, row["action_ref"])
    msgs = quiet.filter(pl.col("channel").is_in(["sms", "email"]), pl.col("tone") == "nudge")
    for row in take(msgs, v["over_7_days"]):
        c, day = row["_case"], row["_days"]
        days = [d for d in range(day + 1, day + 7) if cal.contact_day[d]][:3]
        if len(days) < 3:
            continue
        refs = []
        for d in days:
            new = extra(
                row,
                d,
                local_to_paris(c, d, 10 * 60 + 5 * len(refs)),
                row["channel"],
                "nudge",
                "delivered" if row["outcome"] != "bounced" else "bounced",
                row["phone"],
            )
            extra_rows.append(new)
            refs.append(new["action_ref"])
        record("over_7_days", "actions", refs[-1], c, days[-1], " ".join(refs[:-1]))
    moved = take(
        calls.filter(pl.Series(case["zone"][calls["_case"].to_numpy()] == 0)), v["out_of_window"]
    )
    for row in moved:
        at = row["action_at"]
        when = at.replace(hour=21, minute=int(rng.integers(0, 45)))
        acts = acts.with_columns(
            pl.when(pl.col("action_ref") == row["action_ref"])
            .then(pl.lit(when))
            .otherwise(pl.col("action_at"))
            .alias("action_at")
        )
        record("out_of_window", "actions", row["action_ref"], row["_case"], row["_days"])
    _dispute_contacts(
        world,
        cal,
        pop,
        case,
        frames,
        acts,
        debtor,
        used,
        v,
        extra,
        record,
        extra_rows,
        local_to_paris,
    )
    if extra_rows:
        acts = pl.concat([acts, pl.DataFrame(extra_rows, schema=acts.schema)])
    frames[(AGENCY, "actions")] = acts
    _money(world, cal, pop, frames, rng, v, record)
    return out


def cal_sunday(cal, day: int) -> int:
    return day + (6 - int(cal.weekday[day]))


def pop_ref(pop, world, c: int) -> str:
    return world["creditors"][int(pop.c["creditor"][c])]["ref"]


def _dispute_contacts(
    world, cal, pop, case, frames, acts, debtor, used, v, extra, record, extra_rows, local_to_paris
) -> None:
    disp = frames.get((AGENCY, "disputes"))
    if disp is None:
        return
    o = disp.filter(pl.col("event") == "opened").select(
        "dispute_ref", "_case", pl.col("_days").alias("o")
    )
    r = disp.filter(pl.col("event") == "resolved").select("dispute_ref", pl.col("_days").alias("r"))
    both = o.join(r, on="dispute_ref").filter(pl.col("r") - pl.col("o") >= 21)
    adays = acts.select(pl.Series("_deb", debtor[acts["_case"].to_numpy()]), "_days")
    n = 0
    for row in both.iter_rows(named=True):
        c = row["_case"]
        deb = int(debtor[c])
        if deb in used or not case["has_email"][c] or n >= v["excluded_contact"]:
            continue
        day = next((d for d in range(row["o"] + 7, row["r"] - 7) if cal.contact_day[d]), None)
        if day is None or day >= cal.history_days - 8:
            continue
        near = adays.filter(pl.col("_deb") == deb, (pl.col("_days") - day).abs() <= 10)
        if near.height:
            continue
        used.add(deb)
        base = acts.filter(pl.col("_case") == c)
        if base.height == 0:
            continue
        row0 = base.row(0, named=True)
        new = extra(
            row0,
            day,
            local_to_paris(c, day, 11 * 60),
            "email",
            "nudge",
            "delivered" if case["email_valid"][c] else "bounced",
        )
        extra_rows.append(new)
        record("excluded_contact", "actions", new["action_ref"], c, day, row["dispute_ref"])
        n += 1


def _money(world, cal, pop, frames, rng, v, record) -> None:
    rem = frames.get((AGENCY, "remittances"))
    if rem is not None and rem.height:
        cand = rem.filter(pl.col("_paid_day") < cal.history_days - 60)
        pick = cand.sample(
            n=min(v["late_remittance"], cand.height), seed=int(rng.integers(1 << 30))
        )
        for row in pick.iter_rows(named=True):
            day = row["_paid_day"] + int(rng.integers(35, 51))
            date = cal.date(day)
            ref = f"REM-{row['creditor_ref']}-{date:%Y%m%d}"
            rem = rem.with_columns(
                pl.when(pl.col("payment_ref") == row["payment_ref"])
                .then(
                    pl.struct(
                        remittance_ref=pl.lit(ref),
                        remitted_date=pl.lit(date),
                        _recv=pl.lit(cal.date(cal_sunday(cal, day))),
                        _days=pl.lit(day),
                    )
                )
                .otherwise(pl.struct("remittance_ref", "remitted_date", "_recv", "_days"))
                .struct.unnest()
            )
            record("late_remittance", "remittances", ref, row["_case"], day, row["payment_ref"])
        frames[(AGENCY, "remittances")] = rem
    fees = frames[(AGENCY, "fees")]
    consumer = np.flatnonzero(
        (pop.d["type"][pop.c["debtor"]] == 0)
        & (pop.c["sector"] != SECTORS.index("consumer_credit"))
        & (pop.c["placed_day"] < cal.history_days - 40)
    )
    rows = []
    for k, c in enumerate(
        rng.choice(consumer, min(v["consumer_fee"], len(consumer)), replace=False)
    ):
        day = int(pop.c["placed_day"][c]) + 20
        ref = f"FEEX{pop.chunk:03d}{k:05d}"
        rows.append(
            {
                "fee_ref": ref,
                "creditor_ref": pop_ref(pop, world, c),
                "case_ref": pop.c["case_ref"][c],
                "fee_date": cal.date(day),
                "fee_type": "collection_fee",
                "amount": 2500,
                "has_title": False,
                "_recv": cal.date(cal_sunday(cal, day)),
                "_days": day,
                "_case": int(c),
                "_source": AGENCY,
            }
        )
        record("consumer_fee", "fees", ref, c, day)
    frames[(AGENCY, "fees")] = pl.concat([fees, pl.DataFrame(rows, schema=fees.schema)])
