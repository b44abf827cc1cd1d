"""The LendingClub conversion: charged-off loans reshaped into placements, account status and
labels (+ mapping), then loaded by the ordinary build."""

from __future__ import annotations

import csv
import os
import tomllib
from pathlib import Path

import pytest

from pipelines.build import built
from pipelines.convert.lendingclub import (
    MAPPING_FILE,
    SAMPLE_FILES,
    LendingClubError,
    converted_lendingclub,
)
from pipelines.kinds import KINDS
from tests.pipelines.test_cli import relance

A, B, C, D = SAMPLE_FILES
# the columns the converter reads, and columns it must never carry (post-charge-off
# information, protected attributes and their proxies), with sentinel values
READ = (
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
LEAKS = {
    "collection_recovery_fee": "77.71",
    "total_pymnt": "99.91",
    "settlement_amount": "88.81",
    "settlement_date": "Jul-2018",
    "last_fico_range_high": "514",
    "zip_code": "945xx",
    "addr_state": "WY",
    "emp_title": "Sentinel Employer",
}
NEW = (*READ[:2], "member_id", *READ[2:], *LEAKS)  # a, b: 151-column layout (abridged)
OLD = (*READ, "collection_recovery_fee", "total_pymnt", "zip_code", "addr_state", "emp_title")


def _loan(loan_id: str, status: str, funded: str, principal: str, recoveries: str, **more) -> dict:
    row = {
        "id": loan_id,
        "member_id": "",
        "loan_status": status,
        "funded_amnt": funded,
        "total_rec_prncp": principal,
        "recoveries": recoveries,
        "issue_d": "Oct-2014",
        "last_pymnt_d": "Mar-2017",
        "last_pymnt_amnt": "213.57",
        "last_credit_pull_d": "Mar-2019",
        **LEAKS,
    }
    return row | more


SAMPLES: dict[str, tuple[tuple[str, ...], list[dict], str]] = {
    A: (
        NEW,
        [
            _loan("101", "Charged Off", "6050.0", "4441.37", "0.0"),
            _loan("102", "Fully Paid", "5000.0", "5000.0", "0.0"),
            _loan(
                "103",
                "Does not meet the credit policy. Status:Charged Off",
                "20000.0",
                "2636.6",
                "2652.03",
                last_pymnt_d="Feb-2016",
            ),
            _loan("900", "Charged Off", "1000.0", "100.0", "50.0"),
        ],
        "\n",
    ),
    B: (
        tuple(reversed(NEW)),  # another column order: read by name
        [
            _loan("201", "Charged Off", "4225", "1536.9", "368.37", issue_d="Dec-2015"),
            _loan("202", "Current", "1000", "10", "0.0", issue_d="Dec-2015"),
        ],
        "\n",
    ),
    C: (
        tuple(c for c in NEW if c != "member_id"),
        [_loan("301", "Charged Off", "2000.0", "0.0", "257.52", last_pymnt_d="")],
        "\r\n",
    ),
    D: (
        OLD,
        [
            _loan(
                "900",
                "Charged Off",
                "1000.0",
                "500.0",
                "400.0",
                last_pymnt_d="Apr-2015",
                last_credit_pull_d="Jan-2016",
            ),
            _loan(
                "401",
                "Charged Off",
                "20225.0",
                "3545.85",
                "2923.57",
                issue_d="Sep-2014",
                last_pymnt_d="Apr-2015",
                last_pymnt_amnt="637.43",
                last_credit_pull_d="Jan-2016",
            ),
        ],
        "\n",
    ),
}


def _write_samples(folder: Path, samples=SAMPLES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (header, rows, newline) in samples.items():
        with open(folder / name, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator=newline)
            writer.writerow(header)
            writer.writerows([row.get(c, "") for c in header] for row in rows)
    return folder


def _rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


@pytest.fixture
def converted(tmp_path: Path):
    src = _write_samples(tmp_path / "samples")
    dest = tmp_path / "home" / "raw" / "lendingclub"
    return dest, converted_lendingclub(src, dest)


def test_only_charged_off_loans_become_cases_one_delivery_per_data_month(converted) -> None:
    dest, result = converted
    assert result.charged_off == {A: 3, B: 1, C: 1, D: 2}
    assert result.received == {A: "2019-04-01", B: "2019-04-01", C: "2019-04-01", D: "2016-02-01"}
    assert result.files == {
        "placements_2016-02-01.csv": 1,
        "account_status_2016-02-01.csv": 1,
        "labels_2016-02-01.csv": 3,
        "placements_2019-04-01.csv": 5,
        "account_status_2019-04-01.csv": 4,
        "labels_2019-04-01.csv": 15,
    }
    assert sorted(p.name for p in dest.iterdir()) == sorted([*result.files, MAPPING_FILE])
    ids = [r[0] for r in _rows(dest / "placements_2019-04-01.csv")[1:]]
    assert ids == ["101", "103", "900", "201", "301"]  # file order; 102 and 202 are not cases


def test_a_repeated_loan_id_keeps_its_first_file_in_order_a_b_c_d(converted) -> None:
    dest, result = converted
    assert result.duplicates_dropped == 1
    kept = [r for r in _rows(dest / "placements_2019-04-01.csv") if r[0] == "900"]
    assert kept == [["900", "900.00", "2014-10-01", "2017-04-01", "Charged Off"]]  # a's figures
    assert ["900"] not in [r[:1] for r in _rows(dest / "placements_2016-02-01.csv")]


def test_placement_is_the_outstanding_principal_due_the_month_after_the_last_payment(
    converted,
) -> None:
    dest, _ = converted
    rows = _rows(dest / "placements_2019-04-01.csv")
    assert rows[0] == [
        "id",
        "outstanding_principal",
        "issue_date",
        "first_missed_due",
        "loan_status",
    ]
    by_id = {r[0]: r for r in rows[1:]}
    assert by_id["101"] == ["101", "1608.63", "2014-10-01", "2017-04-01", "Charged Off"]
    assert by_id["103"][1:4] == ["17363.40", "2014-10-01", "2016-03-01"]
    assert by_id["103"][4] == "Does not meet the credit policy. Status:Charged Off"
    # no payment at all: the first instalment, the month after issue, was the first missed
    assert by_id["301"][1:4] == ["2000.00", "2014-10-01", "2014-11-01"]
    assert _rows(dest / "placements_2016-02-01.csv")[1] == [
        "401",
        "16679.15",
        "2014-09-01",
        "2015-05-01",
        "Charged Off",
    ]


def test_account_status_is_the_last_payment_before_charge_off(converted) -> None:
    dest, _ = converted
    rows = _rows(dest / "account_status_2019-04-01.csv")
    assert rows[0] == ["id", "month", "principal_outstanding", "last_pymnt_amnt"]
    assert rows[1] == ["101", "2017-03", "1608.63", "213.57"]
    assert "301" not in [r[0] for r in rows]  # never paid: no statement
    assert _rows(dest / "account_status_2016-02-01.csv")[1:] == [
        ["401", "2015-04", "16679.15", "637.43"]
    ]


def test_labels_carry_recoveries_verbatim_any_recovery_and_the_rate(converted) -> None:
    dest, _ = converted
    rows = _rows(dest / "labels_2019-04-01.csv")
    assert rows[0] == ["id", "label", "observed_date", "value"]
    assert [r for r in rows if r[0] == "103"] == [
        ["103", "recoveries", "2019-03-31", "2652.03"],
        ["103", "recovered_any", "2019-03-31", "1"],
        ["103", "recovery_rate", "2019-03-31", "0.152737"],  # 2652.03 / 17363.40
    ]
    assert [r[3] for r in rows if r[0] == "101"] == ["0.0", "0", "0.000000"]
    assert {r[2] for r in _rows(dest / "labels_2016-02-01.csv")[1:]} == {"2016-01-31"}


def test_no_post_charge_off_or_personal_column_is_carried(converted) -> None:
    dest, _ = converted
    text = "".join(p.read_text(encoding="utf-8") for p in dest.iterdir())
    for column, value in LEAKS.items():
        assert column not in text
        assert value not in text
    for name in ("placements_2019-04-01.csv", "account_status_2019-04-01.csv"):
        model_inputs = (dest / name).read_text(encoding="utf-8")
        assert "2652.03" not in model_inputs and "recover" not in model_inputs
    assert "\r" not in text


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
        assert entry["constants"]["creditor_ref"] == "LENDINGCLUB"
    placements = by_kind["placements"]
    assert placements["columns"]["case_ref"] == placements["columns"]["debtor_ref"] == "id"
    assert placements["columns"]["placed_date"] == placements["columns"]["due_date"]
    expected = {
        "creditor_sector": "consumer_credit",
        "debtor_type": "individual",
        "currency": "USD",
    }
    assert {k: placements["constants"].get(k) for k in expected} == expected


def test_output_bytes_are_deterministic(tmp_path: Path, converted) -> None:
    dest, result = converted
    again = tmp_path / "again"
    converted_lendingclub(_write_samples(tmp_path / "copy"), again)
    for name in (*result.files, MAPPING_FILE):
        assert (again / name).read_bytes() == (dest / name).read_bytes()


def test_a_missing_sample_is_refused_naming_it_and_nothing_is_written(tmp_path: Path) -> None:
    src = _write_samples(tmp_path / "samples")
    (src / C).unlink()
    with pytest.raises(LendingClubError, match=rf"{C}: not found") as info:
        converted_lendingclub(src, tmp_path / "out")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "out").exists()


def test_a_file_without_the_lendingclub_columns_is_refused_naming_it(tmp_path: Path) -> None:
    src = _write_samples(tmp_path / "samples")
    (src / B).write_text("ID,LIMIT_BAL\r\n1,2\r\n", encoding="utf-8")
    with pytest.raises(LendingClubError, match=rf"{B}: not a LendingClub loan file") as info:
        converted_lendingclub(src, tmp_path / "out")
    assert "\n" not in str(info.value)


def test_a_damaged_record_or_amount_is_refused_naming_its_line(tmp_path: Path) -> None:
    src = _write_samples(tmp_path / "samples")
    with open(src / D, "a", encoding="utf-8") as handle:
        handle.write("402,Charged Off\n")
    with pytest.raises(LendingClubError, match=rf"{D}: line 4 has 2 fields"):
        converted_lendingclub(src, tmp_path / "out")
    bad = dict(SAMPLES)
    bad[A] = (NEW, [_loan("101", "Charged Off", "6,050", "4441.37", "0.0")], "\n")
    src = _write_samples(tmp_path / "bad", bad)
    with pytest.raises(LendingClubError, match=rf"{A}: line 2: '6,050' is not a number"):
        converted_lendingclub(src, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_command_reports_a_bad_folder_in_one_line_and_converts_a_good_one(
    home, tmp_path: Path
) -> None:
    src = _write_samples(tmp_path / "samples")
    (src / D).write_text("nothing,useful\n", encoding="utf-8")
    bad = relance(home, "convert", "lendingclub", str(src))
    assert bad.returncode == 1
    assert bad.stderr.strip() == (
        f"error: {src / D}: not a LendingClub loan file (no column id, loan_status, "
        "funded_amnt, total_rec_prncp, recoveries, issue_d, last_pymnt_d, last_pymnt_amnt, "
        "last_credit_pull_d; 2 columns found); pass the folder of the four lc_sample_*.csv files"
    )
    _write_samples(src)
    good = relance(home, "convert", "lendingclub", str(src), "--source", "lc")
    assert good.returncode == 0, good.stderr
    assert f"{home.raw / 'lc' / 'placements_2019-04-01.csv'}: 5 rows" in good.stdout
    assert "7 charged-off loans; repeated ids dropped: 1" in good.stdout


@pytest.mark.slow
def test_real_samples_load_660_loans_matching_the_readme(home, settings) -> None:
    src = settings.external_data / "lendingclub_loan_samples"
    if not all((src / name).exists() for name in SAMPLE_FILES):
        message = f"{src} lacks the LendingClub samples (real data, see its README)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; CI=true requires them")
        pytest.skip(message)
    result = converted_lendingclub(src, home.raw / "lendingclub")
    # README sanity table: charged off per file, before de-duplication (660 in all)
    assert result.charged_off == {A: 243, B: 145, C: 208, D: 64}
    assert result.duplicates_dropped == 0  # the samples' shared ids are not charged off
    assert result.received == {A: "2019-04-01", B: "2019-04-01", C: "2019-04-01", D: "2016-02-01"}
    build = built(home, settings)
    assert build.quarantined_rows == 0, build.by_reason
    from pipelines.warehouse import connect

    con = connect(build.path, settings, read_only=True)
    try:
        counts = con.execute(
            "select (select count(*) from core.cases), (select count(*) from core.labels), "
            "(select count(*) from core.account_status)"
        ).fetchall()[0]
        per_loan = con.sql(
            "select c.case_ref, c.placed_amount_cents, "
            "max(l.value) filter (where l.label = 'recoveries') as recoveries, "
            "max(l.value) filter (where l.label = 'recovered_any') as recovered_any "
            "from core.cases c join core.labels l using (case_id) group by all"
        ).fetchall()
    finally:
        con.close()
    assert counts == (660, 3 * 660, 656)  # 4 loans never paid: no statement
    loans = {ref: (cents / 100, rec, flag) for ref, cents, rec, flag in per_loan}
    expected = {A: (174, 0.1209), B: (96, 0.1028), C: (139, 0.1139), D: (37, 0.0834)}
    for name, (with_recoveries, ratio) in expected.items():
        with open(src / name, encoding="utf-8", newline="") as handle:
            ids = {r["id"] for r in csv.DictReader(handle) if "Charged Off" in r["loan_status"]}
        mine = [loans[i] for i in ids]
        assert sum(flag for _, _, flag in mine) == with_recoveries, name
        found = sum(rec for _, rec, _ in mine) / sum(out for out, _, _ in mine)
        assert round(found, 4) == ratio, (name, found)
