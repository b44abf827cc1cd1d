"""Parsing macros (``pipelines/sql/macros.sql``): each parses text in a file's dialect and returns
NULL when it cannot."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from pipelines import warehouse
from pipelines.mappings.formats import (
    DATE_FORMATS,
    DATETIME_FORMATS,
    DECIMAL_MARKS,
    THOUSANDS_SEPARATORS,
)
from pipelines.settings import load_settings


@pytest.fixture(scope="module")
def con():
    settings = load_settings(environ={})
    connection = warehouse.connect(":memory:", settings)
    warehouse.prepare_functions(connection, settings)
    yield connection
    connection.close()


def one(con, sql: str, *params):
    rows = con.execute(f"select {sql}", list(params)).fetchall()
    assert len(rows) == 1
    return rows[0][0] if len(rows[0]) == 1 else rows[0]


# --- formats.py coverage ------------------------------------------------------------------------

DAY = dt.datetime(2026, 1, 5, 14, 7, 9)


@pytest.mark.parametrize("fmt", DATE_FORMATS)
def test_every_date_format_is_parsed(con, fmt: str) -> None:
    assert one(con, "parse_date(?, ?)", DAY.strftime(fmt), fmt) == DAY.date()
    assert one(con, "parse_date(?, ?)", "not a date", fmt) is None


@pytest.mark.parametrize("fmt", DATETIME_FORMATS)
def test_every_datetime_format_is_parsed(con, fmt: str) -> None:
    expected = DAY if "%S" in fmt else DAY.replace(second=0)
    text = DAY.strftime(fmt)
    assert one(con, "parse_ts_utc(?, ?, '%Y-%m-%d', 'UTC')", text, fmt) == expected
    # in Paris, winter: one hour ahead of UTC
    paris = one(con, "parse_ts_utc(?, ?, '%Y-%m-%d', 'Europe/Paris')", text, fmt)
    assert paris == expected - dt.timedelta(hours=1)


@pytest.mark.parametrize("fmt", DATE_FORMATS)
def test_a_bare_date_in_every_date_format_is_local_midnight(con, fmt: str) -> None:
    got = one(
        con, "parse_ts_utc(?, '%Y-%m-%d %H:%M:%S', ?, 'Europe/Paris')", DAY.strftime(fmt), fmt
    )
    assert got == dt.datetime(2026, 1, 4, 23, 0)


def test_the_macros_switch_over_exactly_the_formats_of_formats_py() -> None:
    text = (warehouse.SQL_DIR / "macros.sql").read_text(encoding="utf-8")

    def branches(macro: str) -> set[str]:
        body = text.split(f"create or replace macro {macro}(")[1].split(";")[0]
        return set(re.findall(r"when '([^']+)' then", body))

    assert branches("_strptime_date") == set(DATE_FORMATS)
    assert branches("_strptime_datetime") == set(DATETIME_FORMATS)


@pytest.mark.parametrize(
    ("decimal_mark", "thousands_sep"),
    [(d, t) for d in DECIMAL_MARKS for t in THOUSANDS_SEPARATORS if d != t],
)
def test_every_decimal_mark_and_thousands_separator(
    con, decimal_mark: str, thousands_sep: str
) -> None:
    text = f"-1{thousands_sep}234{thousands_sep}567{decimal_mark}89"
    assert one(con, "parse_cents(?, ?, ?)", text, decimal_mark, thousands_sep) == -123456789
    assert one(con, "parse_float(?, ?, ?)", text, decimal_mark, thousands_sep) == -1234567.89
    whole = f"1{thousands_sep}234"
    assert one(con, "parse_int(?, ?, ?)", whole, decimal_mark, thousands_sep) == 1234


# --- money --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "decimal_mark", "thousands_sep", "cents", "error"),
    [
        ("1 234,56", ",", " ", 123456, None),
        ("1\u00a0234,56", ",", " ", 123456, None),  # NBSP
        ("1\u202f234,56", ",", "\u202f", 123456, None),  # narrow NBSP
        ("1.234,56", ",", ".", 123456, None),
        ("1234.5", ".", "", 123450, None),
        ("1,234.50", ".", ",", 123450, None),
        ("1'234.50", ".", "'", 123450, None),
        ("12", ",", "", 1200, None),
        ("1200", ",", "", 120000, None),
        ("1 200", ",", " ", 120000, None),
        ("12,3000000000", ",", "", 1230, None),
        ("0,5", ",", "", 50, None),
        (",5", ",", "", 50, None),
        ("12 €", ",", "", 1200, None),
        ("€12,50", ",", "", 1250, None),
        ("EUR 12,50", ",", "", 1250, None),
        ("12,50 eur", ",", "", 1250, None),
        ("-5,00", ",", "", -500, None),
        ("5,00-", ",", "", -500, None),
        ("(5,00)", ",", "", -500, None),
        ("- 5,00 €", ",", "", -500, None),
        ("+5,00", ",", "", 500, None),
        ("12,340", ",", "", 1234, None),  # a trailing zero is exact
        ("1.00E+05", ".", "", 10000000, None),
        ("1,5E+03", ",", "", 150000, None),
        ("1.2345E+02", ".", "", 12345, None),
        ("1.23456E+02", ".", "", None, "inexact_amount"),
        ("1.5E-02", ".", "", None, "inexact_amount"),
        ("12,345", ",", "", None, "inexact_amount"),
        ("abc", ".", "", None, "bad_amount"),
        ("12,34", ".", "", None, "bad_amount"),  # comma in a dot file
        ("1.234,56", ".", ",", None, "bad_amount"),
        ("12.34", ",", ".", None, "bad_amount"),  # not groups of three
        ("1,2,3", ",", "", None, "bad_amount"),
        ("12:30", ".", "", None, "bad_amount"),
        ("1e99", ".", "", None, "bad_amount"),  # out of range
        ("99999999999999999", ".", "", None, "bad_amount"),
        ("", ",", "", None, None),
        ("  ", ",", "", None, None),
        (None, ",", "", None, None),
    ],
)
def test_money(con, text, decimal_mark, thousands_sep, cents, error) -> None:
    got = one(
        con,
        "parse_cents(?, ?, ?), money_error(?, ?, ?)",
        *[text, decimal_mark, thousands_sep] * 2,
    )
    assert got == (cents, error)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.00E+05", True),
        ("6,12E+08", True),
        ("6.12E+08", True),
        ("1E+11", True),
        ("1.5E3", True),
        (" 4.5e-07 ", True),
        ("2024E001", False),  # a reference, not a number
        ("A1.5E+03", False),
        ("12345", False),
        ("", False),
    ],
)
def test_is_scientific(con, text: str, expected: bool | None) -> None:
    assert one(con, "is_scientific(?)", text) is expected


# --- numbers, booleans --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "decimal_mark", "thousands_sep", "expected"),
    [
        ("42", ",", "", 42),
        (" 42 ", ",", "", 42),
        ("-3", ",", "", -3),
        ("3,0", ",", "", 3),
        ("1 000", ",", " ", 1000),
        ("1E+03", ".", "", 1000),
        ("3,5", ",", "", None),
        ("deux", ",", "", None),
    ],
)
def test_parse_int(con, text, decimal_mark, thousands_sep, expected) -> None:
    assert one(con, "parse_int(?, ?, ?)", text, decimal_mark, thousands_sep) == expected


@pytest.mark.parametrize(
    ("text", "decimal_mark", "expected"),
    [
        ("0,25", ",", 0.25),
        ("0.25", ".", 0.25),
        ("0.25", ",", None),
        ("1.5E-3", ".", 0.0015),
        ("-1", ",", -1.0),
        ("beaucoup", ".", None),
    ],
)
def test_parse_float_honours_the_decimal_mark(con, text, decimal_mark, expected) -> None:
    assert one(con, "parse_float(?, ?, '')", text, decimal_mark) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        *[(t, True) for t in ("true", "1", "yes", "Oui", "o", "y", "t", "VRAI")],
        *[(t, False) for t in ("false", "0", "no", "NON", "n", "f", "faux", " N ")],
        ("maybe", None),
        ("2", None),
    ],
)
def test_parse_bool(con, text: str, expected: bool | None) -> None:
    assert one(con, "parse_bool(?)", text) is expected


# --- dates and times ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fmt", "expected"),
    [
        ("05/01/2026", "%d/%m/%Y", dt.date(2026, 1, 5)),
        ("5/1/2026", "%d/%m/%Y", dt.date(2026, 1, 5)),
        (" 05/01/2026 ", "%d/%m/%Y", dt.date(2026, 1, 5)),
        ("2026-01-05", "%d/%m/%Y", dt.date(2026, 1, 5)),  # ISO 8601 is always accepted
        ("01/05/2026", "%m/%d/%Y", dt.date(2026, 1, 5)),
        ("31/02/2026", "%d/%m/%Y", None),
        ("05/01/26", "%d/%m/%Y", None),  # year 26
        ("0202-01-05", "%Y-%m-%d", None),  # before 1900
        ("05/01/2026 10:00", "%d/%m/%Y", None),
        ("05/01/2026", "%d|%m|%Y", None),  # not a supported format
        ("05/01/2026", None, None),  # no format: ISO 8601
    ],
)
def test_parse_date(con, text, fmt, expected) -> None:
    assert one(con, "parse_date(?, ?)", text, fmt) == expected


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        ("05/01/2026 10:00", "Europe/Paris", dt.datetime(2026, 1, 5, 9, 0)),
        ("05/07/2026 10:00", "Europe/Paris", dt.datetime(2026, 7, 5, 8, 0)),  # summer time
        ("05/01/2026 10:00", "Indian/Reunion", dt.datetime(2026, 1, 5, 6, 0)),
        ("05/01/2026 10:00", "America/Martinique", dt.datetime(2026, 1, 5, 14, 0)),
        ("05/01/2026", "Europe/Paris", dt.datetime(2026, 1, 4, 23, 0)),  # local midnight
        ("2026-01-05T10:00:00+02:00", "Europe/Paris", dt.datetime(2026, 1, 5, 8, 0)),
        ("2026-01-05T10:00:00Z", "Europe/Paris", dt.datetime(2026, 1, 5, 10, 0)),
        ("2026-01-05 10:00:00.250-0530", "UTC", dt.datetime(2026, 1, 5, 15, 30, 0, 250000)),
        ("05/01/2026 10:00 +01:00", "Indian/Reunion", dt.datetime(2026, 1, 5, 9, 0)),
        ("2026-01-05T10:00:00", "Europe/Paris", dt.datetime(2026, 1, 5, 9, 0)),  # ISO 8601
        ("05/01/2026 25:00", "Europe/Paris", None),
        ("demain", "Europe/Paris", None),
        ("05/01/2026 10:00", None, None),  # no zone
    ],
)
def test_parse_ts_utc(con, text, tz, expected) -> None:
    sql = "parse_ts_utc(?, '%d/%m/%Y %H:%M', '%d/%m/%Y', ?)"
    assert one(con, sql, text, tz) == expected
    assert one(con, f"typeof({sql})", text, tz) == "TIMESTAMP"


def test_local_date_of_a_utc_timestamp(con) -> None:
    got = one(con, "local_date(timestamp '2026-01-31 23:30:00', 'Europe/Paris')")
    assert got == dt.date(2026, 2, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-W05", "2026-W05"),
        ("2026W05", "2026-W05"),
        ("2026-w5", "2026-W05"),
        ("2026-W53", "2026-W53"),  # 2026 has 53 ISO weeks
        ("2025-W53", None),
        ("2026-W00", None),
        ("2026-05", None),
        ("", None),
    ],
)
def test_parse_iso_week(con, text: str, expected: str | None) -> None:
    assert one(con, "parse_iso_week(?)", text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03", dt.date(2026, 3, 1)),
        ("2026-3", dt.date(2026, 3, 1)),
        ("2026/03", dt.date(2026, 3, 1)),
        ("03/2026", dt.date(2026, 3, 1)),
        ("202603", dt.date(2026, 3, 1)),
        ("15/03/2026", dt.date(2026, 3, 1)),
        ("2026-03-15", dt.date(2026, 3, 1)),
        ("2026-13", None),
        ("mars", None),
    ],
)
def test_parse_month(con, text: str, expected: dt.date | None) -> None:
    assert one(con, "parse_month(?, '%d/%m/%Y')", text) == expected


# --- text ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  Jean \u00a0", "Jean"),
        ("\u202fJean\t", "Jean"),
        ("Jean  Dupont", "Jean  Dupont"),
        ("   ", None),
        ("", None),
    ],
)
def test_clean_text(con, text: str, expected: str | None) -> None:
    assert one(con, "clean_text(?)", text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (" Jean.Dupont@Example.FR ", "jean.dupont@example.fr"),
        ("mailto:jean@example.fr", "jean@example.fr"),
        ("jean+relance@sub.example.co.uk", "jean+relance@sub.example.co.uk"),
        ("jean@example", None),
        ("jean..dupont@example.fr", None),
        ("jean dupont@example.fr", None),
        ("@example.fr", None),
        ("jean@-example.fr", None),
    ],
)
def test_clean_email(con, text: str, expected: str | None) -> None:
    assert one(con, "clean_email(?)", text) == expected


@pytest.mark.parametrize(
    ("text", "expected"), [(" eur ", "EUR"), ("xpf", "XPF"), ("€", None), ("EURO", None)]
)
def test_clean_currency(con, text: str, expected: str | None) -> None:
    assert one(con, "clean_currency(?)", text) == expected
