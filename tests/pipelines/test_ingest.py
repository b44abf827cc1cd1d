"""Ingest: file-level checks refuse whole files; every record lands in raw.* with lineage."""

from __future__ import annotations

import pytest

from pipelines import ingest, warehouse
from pipelines.home import Home
from tests.conftest import write_source

ISO_PAYMENTS = """\
template = "iso_csv"

[[files]]
kind = "payments"
glob = "payments_*.csv"
[files.constants]
reported_by = "provider"
"""

FR_PLACEMENTS = """\
template = "fr_excel"

[[files]]
kind = "placements"
glob = "placements_*.csv"
[files.columns]
case_ref = "N° dossier"
invoice_ref = "Facture"
debtor_ref = "Réf client"
debtor_type = "Type"
debtor_name = "Nom"
placed_date = "Date de placement"
due_date = "Échéance"
amount = "Montant TTC"
[files.constants]
creditor_ref = "TELCO"
[files.values.debtor_type]
"Particulier" = "individual"
"Professionnel" = "business"
"""

FR_HEADER = "N° dossier;Facture;Réf client;Type;Nom;Date de placement;Échéance;Montant TTC\r\n"
FR_ROWS = (
    "D1;F1;C1;Particulier;Émilie Dupré;02/06/2026;15/03/2026;1 234,56\r\n"
    "D2;F2;C2;Professionnel;SARL Forêt;02/06/2026;01/04/2026;99,90\r\n"
)
PAY_HEADER = "payment_ref,creditor_ref,case_ref,paid_at,amount\n"


def loaded(home: Home, settings):
    con = warehouse.connect(":memory:", settings)
    warehouse.create_raw_schema(con)
    report = ingest.ingested(con, home.root, settings, home.root / ".tmp")
    return con, report


def refusal(home: Home, settings) -> str:
    with pytest.raises(ingest.IngestError) as caught:
        loaded(home, settings)
    return str(caught.value)


def test_cp1252_file_renamed_mapped_and_lineaged(home, settings):
    write_source(
        home,
        "telco",
        FR_PLACEMENTS,
        {"placements_2026-06-05.csv": (FR_HEADER + FR_ROWS).encode("cp1252")},
    )
    con, report = loaded(home, settings)
    rows = con.execute(
        "select source_row, creditor_ref, case_ref, debtor_type, debtor_name, amount, reader_error "
        "from raw.placements order by source_row"
    ).fetchall()
    assert rows == [
        (1, "TELCO", "D1", "individual", "Émilie Dupré", "1 234,56", None),
        (2, "TELCO", "D2", "business", "SARL Forêt", "99,90", None),
    ]
    files = con.execute(
        "select source_file, received_date::varchar, rows, encoding from raw.files"
    ).fetchall()
    assert files == [("raw/telco/placements_2026-06-05.csv", "2026-06-05", 2, "cp1252")]
    assert report.files[0].sha256 and report.raw_rows == 2


@pytest.mark.parametrize("chunk", [3, 8, 1 << 20])
@pytest.mark.parametrize(
    ("encoding", "problem"),
    [
        ("cp1252", None),
        ("utf-8", None),
        ("utf-16", None),  # not ASCII-compatible: every chunk is decoded
        ("latin-1", "is UTF-8 but"),  # the file is written in UTF-8
    ],
)
def test_checks_read_in_chunks_see_the_same_text(
    home, settings, monkeypatch, chunk, encoding, problem
):
    """Whole-file checks read in chunks, and an ASCII chunk is not decoded: a character split
    between chunks, the transcoded copy and a UTF-8 file declared otherwise come out the same
    at any chunk size."""
    monkeypatch.setattr(ingest, "CHUNK", chunk)
    text = FR_HEADER + FR_ROWS
    body = text.encode("utf-8" if problem else encoding)
    mapping = FR_PLACEMENTS.replace(
        "\n\n[[files]]", f'\n\n[defaults]\nencoding = "{encoding}"\n\n[[files]]', 1
    )
    write_source(home, "telco", mapping, {"placements_2026-06-05.csv": body})
    if problem:
        assert problem in refusal(home, settings)
        return
    con, _ = loaded(home, settings)
    names = con.execute("select debtor_name from raw.placements order by source_row").fetchall()
    assert names == [("Émilie Dupré",), ("SARL Forêt",)]


@pytest.mark.parametrize("chunk", [3, 8, 1 << 20])
def test_an_invalid_byte_after_plain_chunks_is_still_found(home, settings, monkeypatch, chunk):
    monkeypatch.setattr(ingest, "CHUNK", chunk)
    body = (PAY_HEADER + "P1,C,D1,2026-06-01,10\nP2,C,D1,2026-06-01,10,Frédéric\n").encode("cp1252")
    write_source(home, "psp", ISO_PAYMENTS, {"payments_2026-06-10.csv": body})
    assert "not valid utf-8 (byte 0xE9 on line 3)" in refusal(home, settings)


def test_malformed_records_keep_their_place_and_line(home, settings):
    body = (
        PAY_HEADER
        + "P1,C,D1,2026-06-01T10:00:00,10\nP2,C,D1\n"
        + "P3,C,D1,2026-06-02T10:00:00,12\nP4,C,D1,2026-06-03T10:00:00"
    )
    write_source(home, "psp", ISO_PAYMENTS, {"payments_2026-06-10.csv": body})
    con, _ = loaded(home, settings)
    rows = con.execute(
        "select source_row, payment_ref, reader_error, raw_line "
        "from raw.payments order by source_row"
    ).fetchall()
    assert rows == [
        (1, "P1", None, None),
        (2, None, "missing_columns", "P2,C,D1"),
        (3, "P3", None, None),
        (4, None, "missing_columns", "P4,C,D1,2026-06-03T10:00:00"),
    ]
    assert con.execute("select rows from raw.files").fetchall() == [(4,)]


def test_each_file_of_one_read_is_numbered_from_one_and_only_a_file_with_rejects_stores_it(
    home, settings
):
    # three files read by one read_csv call: records are numbered by row id minus the file's
    # base (raw.files.row_base); only the file with a malformed line stores its numbers
    clean = PAY_HEADER + "P{0}1,C,D1,2026-06-01T10:00:00,10\nP{0}2,C,D1,2026-06-02T10:00:00,11\n"
    broken = PAY_HEADER + "PB1,C,D1,2026-06-01T10:00:00,10\nPB2,C,D1\nPB3,C,D1,2026-06-02,12\n"
    write_source(
        home,
        "psp",
        ISO_PAYMENTS,
        {
            "payments_2026-06-10.csv": clean.format("A"),
            "payments_2026-06-11.csv": broken,
            "payments_2026-06-12.csv": clean.format("C"),
        },
    )
    con, _ = loaded(home, settings)
    rows = con.execute(
        "select f.source_file, r.source_row, r.payment_ref, r.reader_error "
        "from raw.payments as r join raw.files as f using (file_id) order by 1, 2"
    ).fetchall()
    assert [(name[-9:-4], row, ref, error) for name, row, ref, error in rows] == [
        ("06-10", 1, "PA1", None),
        ("06-10", 2, "PA2", None),
        ("06-11", 1, "PB1", None),
        ("06-11", 2, None, "missing_columns"),
        ("06-11", 3, "PB3", None),
        ("06-12", 1, "PC1", None),
        ("06-12", 2, "PC2", None),
    ]
    stored = con.execute(
        "select f.source_file, count(r.source_row) from raw.payments_records as r "
        "join raw.files as f using (file_id) group by 1 order by 1"
    ).fetchall()
    assert [(name[-9:-4], n) for name, n in stored] == [("06-10", 0), ("06-11", 3), ("06-12", 0)]


def test_same_bytes_under_another_name_are_skipped(home, settings):
    body = PAY_HEADER + "P1,C,D1,2026-06-01T10:00:00,10\n"
    write_source(
        home,
        "psp",
        ISO_PAYMENTS,
        {"payments_2026-06-10.csv": body, "payments_2026-06-11.csv": body},
    )
    con, report = loaded(home, settings)
    assert [f.status for f in report.files] == ["loaded", "duplicate_file"]
    assert con.execute("select count(*) from raw.payments").fetchall() == [(1,)]


def test_experiments_keep_unmapped_columns_as_features(home, settings):
    mapping = 'template = "iso_csv"\n[[files]]\nkind = "experiments"\nglob = "*.csv"\n'
    body = "experiment_ref,unit_ref,arm,propensity,outcome,segment,visits\nX,u1,a,0.5,1,north,3\n"
    write_source(home, "lab", mapping, {"trial_2026-01-01.csv": body})
    con, _ = loaded(home, settings)
    assert con.execute("select extra from raw.experiments").fetchall() == [
        ('{"segment":"north","visits":"3"}',)
    ]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {"placements_2026-06-05.csv": (FR_HEADER + FR_ROWS).encode("utf-8")},
            "is UTF-8 but",
            id="utf8-declared-cp1252",
        ),
        pytest.param(
            {
                "placements_2026-06-05.csv": (FR_HEADER + FR_ROWS)
                .encode("utf-8")
                .decode("cp1252")
                .encode("utf-8")
            },
            None,
            id="mojibake-declared-cp1252-is-utf8",
        ),
    ],
)
def test_cp1252_declared_files_that_are_not(home, settings, files, expected):
    write_source(home, "telco", FR_PLACEMENTS, files)
    message = refusal(home, settings)
    assert message.startswith("raw/telco/placements_2026-06-05.csv: ")
    assert "\n" not in message
    if expected:
        assert expected in message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            (PAY_HEADER + "P1,C,D1,2026-06-01,10,Frédéric\n").encode("cp1252"),
            "not valid utf-8 (byte 0xE9 on line 2); it looks like a Windows export: "
            'set encoding = "cp1252"',
            id="invalid-utf8",
        ),
        pytest.param(
            (PAY_HEADER + "P1,C,D1,2026-06-01,10\nP2,C,Ã©cole,2026-06-01,10\n").encode(),
            "double-encoded ('Ã©' on line 3",
            id="mojibake",
        ),
        pytest.param(
            PAY_HEADER.replace(",", ";") + "P1;C;D1;2026-06-01;10\n",
            "splits on ';'; set delimiter = ';' in raw/psp/mapping.toml",
            id="wrong-delimiter",
        ),
        pytest.param(
            b"payment_ref,creditor_ref,case_ref,amount\nP1,C,D1,10\n",
            "missing required column(s) paid_at",
            id="missing-column",
        ),
        pytest.param(b"", "is empty (0 bytes)", id="empty-file"),
        pytest.param(PAY_HEADER.encode(), "has a header but no data rows", id="header-only"),
        pytest.param(
            b"payment_ref,payment_ref,creditor_ref,case_ref,paid_at,amount\nP,P,C,D,2026-06-01,1\n",
            "repeats column(s) payment_ref",
            id="duplicate-header",
        ),
    ],
)
def test_whole_file_problems_refuse_the_file_in_one_line(home, settings, body, expected):
    write_source(home, "psp", ISO_PAYMENTS, {"payments_2026-06-10.csv": body})
    message = refusal(home, settings)
    assert message.startswith("raw/psp/payments_2026-06-10.csv: ")
    assert "\n" not in message
    assert expected in message


def test_every_refused_file_is_named_once(home, settings):
    write_source(
        home,
        "psp",
        ISO_PAYMENTS,
        {"payments_2026-06-10.csv": b"", "payments_2026-06-11.csv": PAY_HEADER},
    )
    lines = refusal(home, settings).splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "raw/psp/payments_2026-06-10.csv",
        "raw/psp/payments_2026-06-11.csv",
    ]


@pytest.mark.parametrize(
    ("mapping", "file_name", "expected"),
    [
        pytest.param(ISO_PAYMENTS, "notes.csv", "matches no [[files]] glob", id="unmatched-file"),
        pytest.param(
            ISO_PAYMENTS.replace("payments_*", "*"),
            "payments_latest.csv",
            "cannot tell the received date",
            id="undated",
        ),
        pytest.param(
            ISO_PAYMENTS.replace('kind = "payments"', 'kind = "paiements"'),
            "payments_2026-06-10.csv",
            "kind 'paiements' is not an import kind",
            id="unknown-kind",
        ),
        pytest.param(
            ISO_PAYMENTS.replace("[[files]]", '[[files]]\ndelimeter = ";"'),
            "payments_2026-06-10.csv",
            "unknown key(s) delimeter",
            id="unknown-key",
        ),
        pytest.param(
            ISO_PAYMENTS.replace("[[files]]", '[[files]]\ndate_format = "%d/%m/%Z"'),
            "payments_2026-06-10.csv",
            "date_format = '%d/%m/%Z' is not supported",
            id="bad-format",
        ),
        pytest.param(
            ISO_PAYMENTS + 'montant = "Montant"\n',
            "payments_2026-06-10.csv",
            "names 'montant', not a column of payments",
            id="unknown-column",
        ),
    ],
)
def test_mapping_problems_name_the_file(home, settings, mapping, file_name, expected):
    write_source(home, "psp", mapping, {file_name: PAY_HEADER + "P1,C,D1,2026-06-01,10\n"})
    assert expected in refusal(home, settings)


def test_received_date_pattern_from_mapping(home, settings):
    mapping = ISO_PAYMENTS.replace(
        'glob = "payments_*.csv"',
        'glob = "payments_*.csv"\nreceived_date = { pattern = "_(\\\\d{8})_", format = "%Y%m%d" }',
    )
    write_source(
        home, "psp", mapping, {"payments_20260610_v2.csv": PAY_HEADER + "P1,C,D1,2026-06-01,10\n"}
    )
    con, _ = loaded(home, settings)
    assert con.execute("select received_date::varchar from raw.files").fetchall() == [
        ("2026-06-10",)
    ]
