"""``relance approve FILE``: record human approvals of formal notices (GDPR Art. 22).

``relance plan`` holds every formal notice it would send and lists it in
``exports/approvals/<week>-formal_notice.csv``. A reviewer keeps the rows they approve (columns
``iso_week, creditor_ref, case_ref``; ``action`` optional, ``formal_notice``) and runs
``relance approve FILE --user NAME --reason TEXT``: each row must match a request of that week
(else the file and row are named and nothing is recorded), and is stored in the state store's
``approvals`` with who approved it, why, when and the file's hash. The next ``relance plan
--week W`` sends the approved notices in the week's letter batch.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.home import Home, utc_now
from pipelines.plan import PlanError, plan_state
from pipelines.settings import Settings

APPROVABLE: tuple[str, ...] = ("formal_notice",)


@dataclass(frozen=True)
class ApprovalResult:
    rows: int
    weeks: tuple[str, ...]
    approved_by: str


def approved(
    home: Home | Path, settings: Settings, file: Path | str, user: str, reason: str
) -> ApprovalResult:
    """Record the approvals of ``file`` (all or none)."""
    home = home if isinstance(home, Home) else Home(Path(home))
    file = Path(file)
    if not (user or "").strip() or not (reason or "").strip():
        raise PlanError(f"{file}: an approval needs a user and a reason (--user, --reason)")
    rows = read_rows_of(file)
    with plan_state(home, settings) as con:
        requests = con.sql(
            "select iso_week, creditor_ref, case_ref, action from approval_requests"
        ).pl()
        keys = set(requests.iter_rows())
        for number, row in enumerate(rows.iter_rows(), 1):
            if row[3] not in APPROVABLE:
                raise PlanError(f"{file}: row {number}: action {row[3]!r} needs no approval here")
            if row not in keys:
                raise PlanError(
                    f"{file}: row {number}: no formal-notice request for {row[1]}/{row[2]} in "
                    f"{row[0]}; approve rows of exports/approvals/<week>-formal_notice.csv"
                )
        frame = rows.with_columns(
            pl.lit(user.strip()).alias("approved_by"),
            pl.lit(reason.strip()).alias("reason"),
            pl.lit(utc_now()).cast(pl.Datetime("us")).alias("approved_at"),
            pl.lit(str(file)).alias("source_file"),
            pl.lit(hashlib.sha256(file.read_bytes()).hexdigest()).alias("file_sha256"),
        )
        con.execute("begin")
        con.register("_approvals", frame.to_arrow())
        con.execute(
            "delete from approvals using _approvals as a where approvals.iso_week = a.iso_week "
            "and approvals.creditor_ref = a.creditor_ref and approvals.case_ref = a.case_ref "
            "and approvals.action = a.action"
        )
        columns = ", ".join(frame.columns)
        con.execute(f"insert into approvals ({columns}) select {columns} from _approvals")
        con.unregister("_approvals")
        con.execute("commit")
    return ApprovalResult(rows.height, tuple(sorted(set(rows["iso_week"]))), user.strip())


def read_rows_of(file: Path) -> pl.DataFrame:
    """``iso_week, creditor_ref, case_ref, action`` of an approval file."""
    rows = []
    for number, row in enumerate(read_approval_rows(file), 1):
        values = [(row.get(c) or "").strip() for c in ("iso_week", "creditor_ref", "case_ref")]
        if not all(values):
            raise PlanError(
                f"{file}: row {number}: iso_week, creditor_ref and case_ref are required"
            )
        rows.append((*values, (row.get("action") or "formal_notice").strip()))
    if not rows:
        raise PlanError(f"{file}: no rows to approve")
    return pl.DataFrame(
        rows, schema=["iso_week", "creditor_ref", "case_ref", "action"], orient="row"
    ).unique(maintain_order=True)


def read_approval_rows(file: Path) -> list[dict[str, str]]:
    import csv

    try:
        with open(file, encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [
                c
                for c in ("iso_week", "creditor_ref", "case_ref")
                if c not in (reader.fieldnames or [])
            ]
            if missing:
                raise PlanError(f"{file}: missing column(s) {', '.join(missing)}")
            return [dict(r) for r in reader]
    except FileNotFoundError:
        raise PlanError(f"{file}: no such file") from None
    except UnicodeDecodeError:
        raise PlanError(f"{file}: not UTF-8; save it as UTF-8 CSV") from None
