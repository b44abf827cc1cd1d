"""Reshape the UCI "Default of Credit Card Clients" file into Relance import kinds.

The file (``UCI_Credit_Card.csv``, Yeh & Lien 2009, CC BY 4.0; see
``../shared/data/external/uci_taiwan_credit_card_default/README.md``) has one row per client with
six months of repayment status, bills and payments (April–September 2005) and the default flag of
October 2005. This step only **reshapes** it; the load is the ordinary one (``relance build``
reads the written files through the ``mapping.toml`` written beside them), so the real data meets
exactly the parser, staging and contracts every creditor file meets.

What is written into ``dest`` (a home's ``raw/uci_taiwan/``):

``placements_2005-04-01.csv`` (``ID,LIMIT_BAL``)
    one row per client: the client is both the case and the debtor (``case_ref`` and
    ``debtor_ref`` both map to ``ID``); the placed amount is the credit limit ``LIMIT_BAL`` (the
    exposure: ``BILL_AMT1`` can be zero or negative, a placement amount must be positive).
    Everything else is a constant of the mapping: creditor ``UCI_TW`` (sector
    ``consumer_credit``), debtor type ``individual``, debtor name ``UCI client``, invoice ``card``,
    placed and due on 2005-04-01, currency ``TWD``.
``account_status_2005-10-01.csv`` (``ID,month,PAY,BILL_AMT,PAY_AMT``)
    the three groups of monthly columns unpivoted into six rows per client, months in order
    2005-04 … 2005-09. The source numbers its columns backwards and skips ``PAY_1``:

    ======== ========= =========== ==========
    month    status    balance     paid
    ======== ========= =========== ==========
    2005-04  PAY_6     BILL_AMT6   PAY_AMT6
    2005-05  PAY_5     BILL_AMT5   PAY_AMT5
    2005-06  PAY_4     BILL_AMT4   PAY_AMT4
    2005-07  PAY_3     BILL_AMT3   PAY_AMT3
    2005-08  PAY_2     BILL_AMT2   PAY_AMT2
    2005-09  PAY_0     BILL_AMT1   PAY_AMT1
    ======== ========= =========== ==========
``labels_2005-11-01.csv`` (``ID,label,observed_date,value``)
    one row per client: label ``defaulted`` (the October 2005 payment was missed), observed
    2005-10-31, value the source's ``defaulted`` (1 or 0).
``mapping.toml``
    template ``iso_csv``; renames the columns above to canonical ones and sets the constants.

Values are copied **verbatim as text**: the source writes some amounts in scientific notation
(``LIMIT_BAL`` = ``1.00E+05``) and they stay so, for the ordinary money parser to deal with.
The received dates in the file names follow the knowledge-time rule: the placement is known at
the start of the observation window, the statements after the last month, the default after
October.

Data minimisation: ``SEX``, ``EDUCATION``, ``MARRIAGE`` and ``AGE`` are **not** carried. They are
protected attributes (or close proxies of them) and unrelated to the debt; the product's models
must not use them (DOMAIN §4, "Scoring and GDPR"), so they never enter the home.

The input is streamed row by row and the output written with the ``csv`` module (``\\n`` line
ends, minimal quoting), so the same input gives the same bytes. Files are written under a
temporary name and renamed, so an interrupted conversion leaves no half file behind.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

EXPECTED_HEADER: tuple[str, ...] = (
    "ID",
    "LIMIT_BAL",
    "SEX",
    "EDUCATION",
    "MARRIAGE",
    "AGE",
    "PAY_0",
    "PAY_2",
    "PAY_3",
    "PAY_4",
    "PAY_5",
    "PAY_6",
    "BILL_AMT1",
    "BILL_AMT2",
    "BILL_AMT3",
    "BILL_AMT4",
    "BILL_AMT5",
    "BILL_AMT6",
    "PAY_AMT1",
    "PAY_AMT2",
    "PAY_AMT3",
    "PAY_AMT4",
    "PAY_AMT5",
    "PAY_AMT6",
    "defaulted",
)

PLACEMENTS_FILE = "placements_2005-04-01.csv"
ACCOUNT_STATUS_FILE = "account_status_2005-10-01.csv"
LABELS_FILE = "labels_2005-11-01.csv"
MAPPING_FILE = "mapping.toml"

# (month, status column, balance column, paid column), oldest month first.
MONTHS: tuple[tuple[str, str, str, str], ...] = (
    ("2005-04", "PAY_6", "BILL_AMT6", "PAY_AMT6"),
    ("2005-05", "PAY_5", "BILL_AMT5", "PAY_AMT5"),
    ("2005-06", "PAY_4", "BILL_AMT4", "PAY_AMT4"),
    ("2005-07", "PAY_3", "BILL_AMT3", "PAY_AMT3"),
    ("2005-08", "PAY_2", "BILL_AMT2", "PAY_AMT2"),
    ("2005-09", "PAY_0", "BILL_AMT1", "PAY_AMT1"),
)
LABEL = "defaulted"
LABEL_OBSERVED_DATE = "2005-10-31"

MAPPING_TOML = """\
# UCI "Default of Credit Card Clients" (Taiwan, 2005), reshaped by pipelines/convert/uci_taiwan.py
# from UCI_Credit_Card.csv (Yeh & Lien 2009, CC BY 4.0). Values are the source's, verbatim.
# SEX, EDUCATION, MARRIAGE and AGE are deliberately not carried (data minimisation).
template = "iso_csv"

[defaults]
currency = "TWD"

[[files]]
kind = "placements"
glob = "placements_*.csv"

[files.columns]
case_ref = "ID"
debtor_ref = "ID"
amount = "LIMIT_BAL"

[files.constants]
creditor_ref = "UCI_TW"
creditor_name = "UCI Taiwan credit cards (2005)"
creditor_sector = "consumer_credit"
debtor_type = "individual"
debtor_name = "UCI client"
invoice_ref = "card"
placed_date = "2005-04-01"
due_date = "2005-04-01"
currency = "TWD"

[[files]]
kind = "account_status"
glob = "account_status_*.csv"

[files.columns]
case_ref = "ID"
status_month = "month"
status_code = "PAY"
balance = "BILL_AMT"
paid_amount = "PAY_AMT"

[files.constants]
creditor_ref = "UCI_TW"
currency = "TWD"

[[files]]
kind = "labels"
glob = "labels_*.csv"

[files.columns]
case_ref = "ID"

[files.constants]
creditor_ref = "UCI_TW"
"""


class UciTaiwanError(ValueError):
    """The file is not the UCI credit-card file, or is damaged (the message names it)."""


def _checked_header(header: list[str] | None, src: Path) -> dict[str, int]:
    """Column positions of the expected header, or ``UciTaiwanError`` naming the file."""
    found = tuple(h.strip().lstrip("\ufeff") for h in header or ())
    if found != EXPECTED_HEADER:
        shown = ",".join(found[:6]) + ("…" if len(found) > 6 else "") if found else "nothing"
        raise UciTaiwanError(
            f"{src}: not the UCI credit-card file (header starts {shown!r}; expected "
            f"{','.join(EXPECTED_HEADER[:3])},… {len(EXPECTED_HEADER)} columns ending "
            f"{EXPECTED_HEADER[-1]!r}); pass UCI_Credit_Card.csv"
        )
    return {name: i for i, name in enumerate(found)}


def _writer(handle):
    return csv.writer(handle, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)


def converted_uci_taiwan(src: Path, dest: Path) -> dict[str, int]:
    """Reshape ``src`` (``UCI_Credit_Card.csv``) into placements, account status and labels
    files plus their ``mapping.toml`` in ``dest`` (created if needed; same-named files are
    replaced).

    Parameters
    ----------
    src
        The UCI file (header ``ID,LIMIT_BAL,SEX,…,defaulted``, 25 columns).
    dest
        The source folder to write, normally ``<home>/raw/uci_taiwan``.

    Returns
    -------
    dict[str, int]
        Data rows written per file name (header excluded), e.g. 30,000 / 180,000 / 30,000
        for the full file.

    Raises
    ------
    ValueError
        One line naming ``src`` when its header is not the expected one, or naming the line
        of a record with the wrong number of fields.
    """
    src, dest = Path(src), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    names = (PLACEMENTS_FILE, ACCOUNT_STATUS_FILE, LABELS_FILE)
    partial = {name: dest / f".{name}.partial" for name in names}
    counts = dict.fromkeys(names, 0)
    try:
        with (
            open(src, encoding="utf-8", newline="") as source,
            open(partial[PLACEMENTS_FILE], "w", encoding="utf-8", newline="") as p_out,
            open(partial[ACCOUNT_STATUS_FILE], "w", encoding="utf-8", newline="") as s_out,
            open(partial[LABELS_FILE], "w", encoding="utf-8", newline="") as l_out,
        ):
            reader = csv.reader(source)
            col = _checked_header(next(reader, None), src)
            placements, status, labels = _writer(p_out), _writer(s_out), _writer(l_out)
            placements.writerow(("ID", "LIMIT_BAL"))
            status.writerow(("ID", "month", "PAY", "BILL_AMT", "PAY_AMT"))
            labels.writerow(("ID", "label", "observed_date", "value"))
            months = tuple(
                (month, col[pay], col[bill], col[paid]) for month, pay, bill, paid in MONTHS
            )
            i_id, i_limit, i_label = col["ID"], col["LIMIT_BAL"], col["defaulted"]
            for row in reader:
                if not row:
                    continue
                if len(row) != len(EXPECTED_HEADER):
                    raise UciTaiwanError(
                        f"{src}: line {reader.line_num} has {len(row)} fields, expected "
                        f"{len(EXPECTED_HEADER)}; the file is damaged, fetch it again"
                    )
                client = row[i_id]
                placements.writerow((client, row[i_limit]))
                for month, pay, bill, paid in months:
                    status.writerow((client, month, row[pay], row[bill], row[paid]))
                labels.writerow((client, LABEL, LABEL_OBSERVED_DATE, row[i_label]))
                counts[PLACEMENTS_FILE] += 1
                counts[ACCOUNT_STATUS_FILE] += len(months)
                counts[LABELS_FILE] += 1
        for name in names:
            os.replace(partial[name], dest / name)
        (dest / MAPPING_FILE).write_text(MAPPING_TOML, encoding="utf-8", newline="\n")
    finally:
        for path in partial.values():
            path.unlink(missing_ok=True)
    return counts
