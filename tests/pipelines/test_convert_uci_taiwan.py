"""The UCI Taiwan conversion: a reshape only (placements, account status, labels + mapping)."""

from __future__ import annotations

import csv
import os
import tomllib
from pathlib import Path

import pytest

from pipelines.convert.uci_taiwan import (
    ACCOUNT_STATUS_FILE,
    EXPECTED_HEADER,
    LABELS_FILE,
    MAPPING_FILE,
    PLACEMENTS_FILE,
    converted_uci_taiwan,
)
from pipelines.kinds import KINDS
from pipelines.settings import load_settings

HEADER = ",".join(EXPECTED_HEADER)
# Three clients. Every monthly value is distinct and says where it comes from: for client 1,
# PAY_k status is -k (PAY_0 -> 0), BILL_AMTk is 1000+k and PAY_AMTk is 100+k.
TINY_ROWS = (
    "1,1.00E+05,2,2,1,24,0,-2,-3,-4,-5,-6,1001,1002,1003,1004,1005,1006,101,102,103,104,105,106,1",
    "2,120000,2,2,2,26,-1,2,0,0,0,2,2682,1725,2682,3272,3455,3261,0,1000,1000,1000,0,2000,1",
    "3,90000,1,1,2,34,8,7,6,5,4,3,-165,0,29239,14027,13559,14331,0,0,1518,1500,1000,1000,0",
)
TINY = ("\r\n".join((HEADER, *TINY_ROWS)) + "\r\n").encode("ascii")


def _rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


@pytest.fixture
def converted(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    src = tmp_path / "UCI_Credit_Card.csv"
    src.write_bytes(TINY)
    dest = tmp_path / "home" / "raw" / "uci_taiwan"
    return dest, converted_uci_taiwan(src, dest)


def test_tiny_file_gives_the_three_files_and_counts(converted) -> None:
    dest, counts = converted
    assert counts == {PLACEMENTS_FILE: 3, ACCOUNT_STATUS_FILE: 18, LABELS_FILE: 3}
    assert sorted(p.name for p in dest.iterdir()) == sorted(
        [PLACEMENTS_FILE, ACCOUNT_STATUS_FILE, LABELS_FILE, MAPPING_FILE]
    )


def test_placements_copy_id_and_limit_verbatim_and_drop_protected_attributes(converted) -> None:
    dest, _ = converted
    rows = _rows(dest / PLACEMENTS_FILE)
    assert rows == [["ID", "LIMIT_BAL"], ["1", "1.00E+05"], ["2", "120000"], ["3", "90000"]]
    text = (dest / PLACEMENTS_FILE).read_text(encoding="utf-8")
    for column in ("SEX", "EDUCATION", "MARRIAGE", "AGE"):
        assert column not in text
    assert "\r" not in text


def test_account_status_unpivot_aligns_months_with_columns(converted) -> None:
    dest, _ = converted
    rows = _rows(dest / ACCOUNT_STATUS_FILE)
    assert rows[0] == ["ID", "month", "PAY", "BILL_AMT", "PAY_AMT"]
    client_1 = [r for r in rows[1:] if r[0] == "1"]
    assert client_1 == [
        ["1", "2005-04", "-6", "1006", "106"],
        ["1", "2005-05", "-5", "1005", "105"],
        ["1", "2005-06", "-4", "1004", "104"],
        ["1", "2005-07", "-3", "1003", "103"],
        ["1", "2005-08", "-2", "1002", "102"],
        ["1", "2005-09", "0", "1001", "101"],
    ]
    client_3 = [r for r in rows[1:] if r[0] == "3"]
    assert client_3[0] == ["3", "2005-04", "3", "14331", "1000"]  # PAY_6, BILL_AMT6, PAY_AMT6
    assert client_3[-1] == ["3", "2005-09", "8", "-165", "0"]  # PAY_0, BILL_AMT1, PAY_AMT1
    assert [r[0] for r in rows[1:]] == ["1"] * 6 + ["2"] * 6 + ["3"] * 6


def test_labels_carry_the_default_flag(converted) -> None:
    dest, _ = converted
    assert _rows(dest / LABELS_FILE) == [
        ["ID", "label", "observed_date", "value"],
        ["1", "defaulted", "2005-10-31", "1"],
        ["2", "defaulted", "2005-10-31", "1"],
        ["3", "defaulted", "2005-10-31", "0"],
    ]


def test_mapping_names_only_canonical_columns_and_the_constants(converted) -> None:
    dest, _ = converted
    mapping = tomllib.loads((dest / MAPPING_FILE).read_text(encoding="utf-8"))
    assert mapping["template"] == "iso_csv"
    by_kind = {entry["kind"]: entry for entry in mapping["files"]}
    assert set(by_kind) == {"placements", "account_status", "labels"}
    for kind_name, entry in by_kind.items():
        names = set(KINDS[kind_name].column_names)
        assert set(entry.get("columns", {})) <= names
        assert set(entry.get("constants", {})) <= names
        assert entry["constants"]["creditor_ref"] == "UCI_TW"
    placements = by_kind["placements"]
    assert placements["columns"]["case_ref"] == placements["columns"]["debtor_ref"] == "ID"
    expected = {
        "creditor_sector": "consumer_credit",
        "debtor_type": "individual",
        "debtor_name": "UCI client",
        "invoice_ref": "card",
        "placed_date": "2005-04-01",
        "due_date": "2005-04-01",
        "currency": "TWD",
    }
    assert {k: placements["constants"].get(k) for k in expected} == expected


def test_output_bytes_are_deterministic(tmp_path: Path, converted) -> None:
    dest, _ = converted
    src = tmp_path / "again.csv"
    src.write_bytes(TINY)
    again = tmp_path / "again"
    converted_uci_taiwan(src, again)
    for name in (PLACEMENTS_FILE, ACCOUNT_STATUS_FILE, LABELS_FILE, MAPPING_FILE):
        assert (again / name).read_bytes() == (dest / name).read_bytes()


def test_a_file_with_another_header_is_refused_naming_it(tmp_path: Path) -> None:
    src = tmp_path / "other.csv"
    src.write_text("ID,X1,X2\r\n1,2,3\r\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"other\.csv") as info:
        converted_uci_taiwan(src, tmp_path / "out")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "out" / PLACEMENTS_FILE).exists()


def test_a_short_record_is_refused_naming_its_line(tmp_path: Path) -> None:
    src = tmp_path / "UCI_Credit_Card.csv"
    src.write_bytes(TINY + b"4,50000,1\r\n")
    with pytest.raises(ValueError, match=r"UCI_Credit_Card\.csv: line 5"):
        converted_uci_taiwan(src, tmp_path / "out")
    assert not (tmp_path / "out" / PLACEMENTS_FILE).exists()


def test_real_file_gives_30000_180000_30000_rows(tmp_path: Path) -> None:
    src = load_settings().external_data / "uci_taiwan_credit_card_default" / "UCI_Credit_Card.csv"
    if not src.exists():
        message = f"{src} is absent (real UCI data, see ../shared/data/external/README.md)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; CI=true requires it")
        pytest.skip(message)
    counts = converted_uci_taiwan(src, tmp_path / "uci_taiwan")
    assert counts == {PLACEMENTS_FILE: 30_000, ACCOUNT_STATUS_FILE: 180_000, LABELS_FILE: 30_000}
    limits = [r[1] for r in _rows(tmp_path / "uci_taiwan" / PLACEMENTS_FILE)[1:]]
    assert "1.00E+05" in limits  # kept verbatim for the parser
