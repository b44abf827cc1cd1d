"""Reshape the four LendingClub loan samples into Relance import kinds (charged-off loans only).

The files (``lc_sample_a_2000.csv`` … ``lc_sample_d_2007_2015_1000.csv``, real LendingClub loan
records sampled by third parties; see
``../shared/data/external/lendingclub_loan_samples/README.md``) carry one row per loan with
LendingClub's public schema: 151 columns in a and b, 150 in c (no ``member_id``), 74 in d (the
older 2007–2015 layout). Columns are found **by name**. This step only **reshapes**; the load is
the ordinary one (``relance build`` reads the written files through the ``mapping.toml`` written
beside them), so the loans meet the parser, staging and contracts every creditor file meets.

Which loans
    A *case* is a loan whose ``loan_status`` contains ``Charged Off`` (the loan was written off
    and handed to collections; the "Does not meet the credit policy. Status:Charged Off" loans
    included). The samples barely overlap (a∩d = 1, b∩c = 1, b∩d = 2 loan ids); a loan id met
    again is **dropped**, the first occurrence in the order a, b, c, d kept (``SAMPLE_FILES``).
    A charged-off loan with no principal outstanding is not a collection case and is skipped
    (there is none in the four files).

Deliveries
    Each file is a snapshot of the loans at its data month: the latest month the file mentions
    in ``issue_d``, ``last_pymnt_d`` or ``last_credit_pull_d`` (Mar-2019 for a, b and c, Jan-2016
    for d). Loans are written in one delivery per data month, received on the 1st of the month
    after it (``…_2019-04-01.csv``, ``…_2016-02-01.csv``), so a snapshot's outcomes are never
    known before its data month has ended.

What is written into ``dest`` (a home's ``raw/lendingclub/``), per delivery ``<R>``:

``placements_<R>.csv`` (``id,outstanding_principal,issue_date,first_missed_due,loan_status``)
    one row per loan: the loan is both the case and the debtor (``case_ref`` and ``debtor_ref``
    both map to ``id``); the placed amount is the principal outstanding at charge-off,
    ``funded_amnt − total_rec_prncp`` (interest and fees are not claimed: the README's claim
    at charge-off); the invoice date is the issue month's 1st; the due date **and** the placed
    date are the 1st of the month after ``last_pymnt_d`` — the first instalment missed for
    good — or after ``issue_d`` when the loan has no payment at all (the first instalment was
    never paid). The files do not carry the charge-off date itself (LendingClub charged off
    after about 150 days past due), so "placed" here is the start of the default, not the day
    the agency received the file. ``loan_status`` is kept as the creditor's arrears status (a
    text, not a model feature). Everything else is a constant of the mapping: creditor
    ``LENDINGCLUB`` (sector ``consumer_credit``), debtor type ``individual``, debtor name
    ``LendingClub borrower``, invoice ``loan``, currency ``USD``.
``account_status_<R>.csv`` (``id,month,principal_outstanding,last_pymnt_amnt``)
    the one monthly statement the files allow, before charge-off: the month of the last
    payment, its amount (``last_pymnt_amnt``) and the principal outstanding after it (the same
    figure as the placed amount). A loan that never paid has no row; no status code is written
    (the files do not say how late the loan was that month).
``labels_<R>.csv`` (``id,label,observed_date,value``)
    three rows per loan, observed on the last day of the data month: ``recoveries`` (the gross
    amount recovered after charge-off, verbatim), ``recovered_any`` (1 when ``recoveries`` > 0,
    else 0) and ``recovery_rate`` (``recoveries ÷ outstanding principal``, six decimals; it can
    exceed 1 when recoveries also cover interest).
``mapping.toml``
    template ``iso_csv``; renames the columns above to canonical ones and sets the constants.

Amounts and the loan id are copied **verbatim as text**; the outstanding principal and the rate
are computed in decimal arithmetic (the outstanding principal rounded half-even to the cent), and
``Mon-YYYY`` months are rewritten as ISO dates.

No post-charge-off information reaches the model's inputs (placements and account statements):
``recoveries``, ``collection_recovery_fee``, ``total_pymnt`` (it includes the recoveries), the
settlement and hardship fields, ``last_credit_pull_d`` and ``last_fico_*`` (pulled after the
charge-off) are read only to date the delivery or to write the labels. ``last_pymnt_d`` and
``last_pymnt_amnt`` are the last payment *before* charge-off: in all four files ``last_pymnt_d``
lies within ten months of the month the instalments paid imply (``(total_rec_prncp +
total_rec_int) ÷ installment`` months after issue), so it is not a later recovery.

Data minimisation (DOMAIN §4): nothing about the borrower is carried — not ``zip_code``,
``addr_state``, ``emp_title``, ``emp_length``, ``home_ownership``, ``annual_inc``, ``title`` or
``desc`` (proxies of residence, origin or circumstances, or free text), and none of the loan's
credit-file columns either: no import kind holds them.

The output is written with the ``csv`` module (``\\n`` line ends, minimal quoting) in the order
of the input rows, so the same input gives the same bytes. Files are written under a temporary
name and renamed, so an interrupted conversion leaves no half file behind; same-named files in
``dest`` are replaced.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from pathlib import Path

# the four samples, in the order a loan id is first kept
SAMPLE_FILES: tuple[str, ...] = (
    "lc_sample_a_2000.csv",
    "lc_sample_b_999.csv",
    "lc_sample_c_closed_1000.csv",
    "lc_sample_d_2007_2015_1000.csv",
)
REQUIRED_COLUMNS: tuple[str, ...] = (
    "id",
    "loan_status",
    "funded_amnt",
    "total_rec_prncp",
    "recoveries",
    "issue_d",
    "last_pymnt_d",
    "last_pymnt_amnt",
    "last_credit_pull_d",
)
DATA_MONTH_COLUMNS: tuple[str, ...] = ("issue_d", "last_pymnt_d", "last_credit_pull_d")
CHARGED_OFF = "Charged Off"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
CENT = Decimal("0.01")
RATE_PLACES = Decimal("0.000001")

PLACEMENTS_HEADER = ("id", "outstanding_principal", "issue_date", "first_missed_due", "loan_status")
ACCOUNT_STATUS_HEADER = ("id", "month", "principal_outstanding", "last_pymnt_amnt")
LABELS_HEADER = ("id", "label", "observed_date", "value")
LABEL_RECOVERIES = "recoveries"
LABEL_ANY = "recovered_any"
LABEL_RATE = "recovery_rate"
MAPPING_FILE = "mapping.toml"

MAPPING_TOML = """\
# LendingClub charged-off loans (four public samples of LendingClub's loan data), reshaped by
# pipelines/convert/lendingclub.py. Amounts are the source's, verbatim, except the outstanding
# principal (funded_amnt - total_rec_prncp) and the recovery rate. Nothing about the borrower
# (zip code, state, employment, income, free text) is carried (data minimisation).
template = "iso_csv"

[defaults]
currency = "USD"

[[files]]
kind = "placements"
glob = "placements_*.csv"

[files.columns]
case_ref = "id"
debtor_ref = "id"
amount = "outstanding_principal"
invoice_date = "issue_date"
placed_date = "first_missed_due"
due_date = "first_missed_due"
arrears_status = "loan_status"

[files.constants]
creditor_ref = "LENDINGCLUB"
creditor_name = "LendingClub (public loan data)"
creditor_sector = "consumer_credit"
debtor_type = "individual"
debtor_name = "LendingClub borrower"
invoice_ref = "loan"
currency = "USD"

[[files]]
kind = "account_status"
glob = "account_status_*.csv"

[files.columns]
case_ref = "id"
status_month = "month"
balance = "principal_outstanding"
paid_amount = "last_pymnt_amnt"

[files.constants]
creditor_ref = "LENDINGCLUB"
currency = "USD"

[[files]]
kind = "labels"
glob = "labels_*.csv"

[files.columns]
case_ref = "id"

[files.constants]
creditor_ref = "LENDINGCLUB"
"""


class LendingClubError(ValueError):
    """A sample file is missing or is not what it should be (one line, naming the file)."""


@dataclass(frozen=True)
class Loan:
    """One charged-off loan, reshaped: the fields written, as text."""

    loan_id: str
    outstanding: str
    issue_date: str
    first_missed_due: str
    loan_status: str
    last_payment_month: str | None
    last_payment_amount: str
    recoveries: str
    recovered_any: str
    recovery_rate: str


@dataclass(frozen=True)
class Sample:
    """The charged-off loans of one sample file, in file order, as (loan id, loan or ``None``
    when nothing is outstanding), and the file's data month (1st of the month)."""

    name: str
    data_month: date
    loans: tuple[tuple[str, Loan | None], ...]


@dataclass
class Conversion:
    """What ``converted_lendingclub`` wrote: data rows per file name (header excluded), the
    charged-off rows per sample before de-duplication, the repeated loan ids dropped, the
    loans skipped for no outstanding principal, and the received date of each sample's
    delivery."""

    files: dict[str, int] = field(default_factory=dict)
    charged_off: dict[str, int] = field(default_factory=dict)
    duplicates_dropped: int = 0
    skipped_no_outstanding: int = 0
    received: dict[str, str] = field(default_factory=dict)


def parsed_month(text: str) -> date | None:
    """``Mon-YYYY`` (``Mar-2019``) as the month's 1st; ``None`` for an empty value."""
    text = text.strip()
    if not text:
        return None
    month, _, year = text.partition("-")
    if month not in MONTHS or not (year.isdigit() and len(year) == 4):
        raise ValueError(f"{text!r} is not a Mon-YYYY month")
    return date(int(year), MONTHS.index(month) + 1, 1)


def next_month(day: date) -> date:
    """The 1st of the month after ``day``'s."""
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def month_end(first: date) -> date:
    """The last day of the month starting on ``first``."""
    return next_month(first) - timedelta(days=1)


def amount(text: str) -> Decimal:
    """A plain decimal amount of the files (``6050.0``, ``4441.37``)."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{text!r} is not a number")
    return value


def reshaped_loan(row: dict[str, str]) -> Loan | None:
    """The loan of a charged-off ``row`` (column name → text), or ``None`` when no principal
    is outstanding. Raises ``ValueError`` (without the file) on a bad number or month."""
    outstanding = amount(row["funded_amnt"]) - amount(row["total_rec_prncp"])
    outstanding = outstanding.quantize(CENT, rounding=ROUND_HALF_EVEN)
    if outstanding <= 0:
        return None
    recoveries = amount(row["recoveries"])
    issued = parsed_month(row["issue_d"])
    if issued is None:
        raise ValueError("issue_d is empty")
    last_paid = parsed_month(row["last_pymnt_d"])
    rate = (recoveries / outstanding).quantize(RATE_PLACES, rounding=ROUND_HALF_EVEN)
    return Loan(
        loan_id=row["id"].strip(),
        outstanding=str(outstanding),
        issue_date=issued.isoformat(),
        first_missed_due=next_month(last_paid or issued).isoformat(),
        loan_status=row["loan_status"].strip(),
        last_payment_month=last_paid.strftime("%Y-%m") if last_paid else None,
        last_payment_amount=row["last_pymnt_amnt"].strip(),
        recoveries=row["recoveries"].strip(),
        recovered_any="1" if recoveries > 0 else "0",
        recovery_rate=str(rate),
    )


def _checked_columns(header: list[str] | None, src: Path) -> dict[str, int]:
    """Column positions by name, or ``LendingClubError`` naming the file."""
    found = [h.strip().lstrip("\ufeff") for h in header or ()]
    missing = [c for c in REQUIRED_COLUMNS if c not in found]
    if missing:
        raise LendingClubError(
            f"{src}: not a LendingClub loan file (no column {', '.join(missing)}; "
            f"{len(found)} columns found); pass the folder of the four lc_sample_*.csv files"
        )
    return {name: i for i, name in enumerate(found)}


def read_sample(src: Path) -> Sample:
    """The charged-off loans of one sample file and its data month.

    Raises ``LendingClubError`` naming ``src`` (and the line) when the file is missing, has
    no LendingClub header, a record with the wrong number of fields, or a bad number or
    month in a charged-off loan."""
    if not src.is_file():
        raise LendingClubError(
            f"{src}: not found; the folder must hold {', '.join(SAMPLE_FILES)} "
            "(set paths.external_data or pass SRC_DIR)"
        )
    loans: list[tuple[str, Loan | None]] = []
    latest: date | None = None
    with open(src, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        col = _checked_columns(next(reader, None), src)
        width = len(col)
        for record in reader:
            if not record:
                continue
            if len(record) != width:
                raise LendingClubError(
                    f"{src}: line {reader.line_num} has {len(record)} fields, expected "
                    f"{width}; the file is damaged, fetch it again"
                )
            row = {name: record[col[name]] for name in REQUIRED_COLUMNS}
            try:
                for name in DATA_MONTH_COLUMNS:
                    month = parsed_month(row[name])
                    if month is not None and (latest is None or month > latest):
                        latest = month
                if CHARGED_OFF in row["loan_status"]:
                    loans.append((row["id"].strip(), reshaped_loan(row)))
            except ValueError as exc:
                raise LendingClubError(f"{src}: line {reader.line_num}: {exc}") from None
    if latest is None:
        raise LendingClubError(f"{src}: no loan with a month in {', '.join(DATA_MONTH_COLUMNS)}")
    return Sample(src.name, latest, tuple(loans))


def _writer(handle):
    return csv.writer(handle, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)


def delivery_rows(
    loans: Iterable[Loan], observed: date
) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """Placements, account-status and label rows of one delivery's loans."""
    placements, statuses, labels = [], [], []
    day = observed.isoformat()
    for loan in loans:
        placements.append(
            (
                loan.loan_id,
                loan.outstanding,
                loan.issue_date,
                loan.first_missed_due,
                loan.loan_status,
            )
        )
        if loan.last_payment_month is not None:
            statuses.append(
                (loan.loan_id, loan.last_payment_month, loan.outstanding, loan.last_payment_amount)
            )
        labels += [
            (loan.loan_id, LABEL_RECOVERIES, day, loan.recoveries),
            (loan.loan_id, LABEL_ANY, day, loan.recovered_any),
            (loan.loan_id, LABEL_RATE, day, loan.recovery_rate),
        ]
    return placements, statuses, labels


def converted_lendingclub(src_dir: Path, dest: Path) -> Conversion:
    """Reshape the four LendingClub samples in ``src_dir`` into placements, account status and
    labels files (one set per delivery) plus their ``mapping.toml`` in ``dest`` (created if
    needed; same-named files are replaced).

    Parameters
    ----------
    src_dir
        The folder holding ``SAMPLE_FILES`` (``lendingclub_loan_samples/``).
    dest
        The source folder to write, normally ``<home>/raw/lendingclub``.

    Returns
    -------
    Conversion
        Rows per file written, charged-off rows per sample, duplicates dropped, loans skipped
        and the received date of each sample's delivery.

    Raises
    ------
    LendingClubError
        One line naming the file: a sample missing, without the LendingClub columns, with a
        damaged record, or with a bad amount or month in a charged-off loan. Nothing is
        written then.
    """
    src_dir, dest = Path(src_dir), Path(dest)
    samples = [read_sample(src_dir / name) for name in SAMPLE_FILES]
    result = Conversion()
    seen: set[str] = set()
    deliveries: dict[date, list[Loan]] = {}
    for sample in samples:
        result.charged_off[sample.name] = len(sample.loans)
        received = next_month(sample.data_month)
        result.received[sample.name] = received.isoformat()
        for loan_id, loan in sample.loans:
            if loan_id in seen:
                result.duplicates_dropped += 1
                continue
            seen.add(loan_id)
            if loan is None:
                result.skipped_no_outstanding += 1
                continue
            deliveries.setdefault(received, []).append(loan)
    dest.mkdir(parents=True, exist_ok=True)
    written: dict[str, list[tuple]] = {}
    for received in sorted(deliveries):
        placements, statuses, labels = delivery_rows(
            deliveries[received], received - timedelta(days=1)
        )
        stamp = received.isoformat()
        written[f"placements_{stamp}.csv"] = [PLACEMENTS_HEADER, *placements]
        written[f"account_status_{stamp}.csv"] = [ACCOUNT_STATUS_HEADER, *statuses]
        written[f"labels_{stamp}.csv"] = [LABELS_HEADER, *labels]
    partial = {name: dest / f".{name}.partial" for name in written}
    try:
        for name, rows in written.items():
            with open(partial[name], "w", encoding="utf-8", newline="") as handle:
                _writer(handle).writerows(rows)
        for name in written:
            os.replace(partial[name], dest / name)
        (dest / MAPPING_FILE).write_text(MAPPING_TOML, encoding="utf-8", newline="\n")
    finally:
        for path in partial.values():
            path.unlink(missing_ok=True)
    result.files = {name: len(rows) - 1 for name, rows in written.items()}
    return result
