"""Phone numbers (``pipelines/normalise.py``): the Python functions, and the SQL macros and UDFs
``register`` installs on a connection."""

from __future__ import annotations

import random

import pytest

from pipelines import normalise, warehouse
from pipelines.settings import load_settings

PHONES: list[tuple[str, str | None, str | None, str | None]] = [
    # (text, default region, E.164, line type)
    ("06 12 34 56 78", "FR", "+33612345678", "mobile"),  # Paris mobile
    ("01 42 68 53 00", "FR", "+33142685300", "fixed"),  # Paris landline
    ("01.42.68.53.00", "FR", "+33142685300", "fixed"),
    ("01-42-68-53-00", "FR", "+33142685300", "fixed"),
    ("+33 6 12 34 56 78", "FR", "+33612345678", "mobile"),
    ("+33 (0)6 12 34 56 78", "FR", "+33612345678", "mobile"),
    ("0033 6 12 34 56 78", "FR", "+33612345678", "mobile"),
    ("33 6 12 34 56 78", "FR", "+33612345678", "mobile"),
    ("0692 12 34 56", "FR", "+262692123456", "mobile"),  # Réunion mobile
    ("0262 16 12 34", "FR", "+262262161234", "fixed"),  # Réunion landline
    ("+33 692 12 34 56", "FR", "+262692123456", "mobile"),  # Réunion written as +33
    ("0639 01 23 45", "FR", "+262639012345", "mobile"),  # Mayotte mobile
    ("0269 60 12 34", "FR", "+262269601234", "fixed"),  # Mayotte landline
    ("0690 00 12 34", "FR", "+590690001234", "mobile"),  # Guadeloupe mobile
    ("0590 20 12 34", "FR", "+590590201234", "fixed"),  # Guadeloupe landline
    ("0696 20 12 34", "FR", "+596696201234", "mobile"),  # Martinique mobile
    ("0596 30 12 34", "FR", "+596596301234", "fixed"),  # Martinique landline
    ("0694 20 12 34", "FR", "+594694201234", "mobile"),  # Guyane mobile
    ("0594 10 12 34", "FR", "+594594101234", "fixed"),  # Guyane landline
    ("+262 692 12 34 56", "FR", "+262692123456", "mobile"),
    ("0692 12 34 56", "RE", "+262692123456", "mobile"),
    ("06 12 34 56 78", "RE", "+33612345678", "mobile"),  # one national plan
    ("09 12 34 56 78", "FR", "+33912345678", "other"),  # VoIP
    ("08 00 12 34 56", "FR", "+33800123456", "other"),  # toll-free
    ("+44 20 7946 0958", "FR", "+442079460958", "fixed"),
    ("020 7946 0958", "GB", "+442079460958", "fixed"),
    ("0612", "FR", None, None),  # too short
    ("06 12 34 56 78 90", "FR", None, None),  # too long
    ("6.12E+08", "FR", None, None),  # spreadsheet damage
    ("n/a", "FR", None, None),
    ("", "FR", None, None),
]


@pytest.fixture
def con():
    settings = load_settings(environ={})
    connection = warehouse.connect(":memory:", settings)
    normalise.register(connection, settings)
    yield connection
    connection.close()


@pytest.mark.parametrize(("text", "region", "expected", "line"), PHONES)
def test_e164_in_python(text: str, region: str, expected: str | None, line: str | None) -> None:
    assert normalise.e164(text, region) == expected
    assert normalise.phone_type(expected) == line


@pytest.mark.parametrize(("text", "region", "expected", "line"), PHONES)
def test_e164_in_sql(con, text: str, region: str, expected: str | None, line: str | None) -> None:
    got = con.execute("select e164(?, ?), phone_type(e164(?, ?))", [text, region] * 2).fetchall()
    assert got == [(expected, line)]


def test_null_in_null_out(con) -> None:
    assert normalise.e164(None, "FR") is None
    assert normalise.phone_type(None) is None
    assert con.execute("select e164(null, 'FR'), phone_type(null)").fetchall() == [(None, None)]


def test_a_missing_region_means_france(con) -> None:
    assert normalise.e164("06 12 34 56 78", None) == "+33612345678"
    assert con.execute("select e164('06 12 34 56 78', null)").fetchall() == [("+33612345678",)]


def test_sql_and_python_agree_on_many_numbers(con) -> None:
    rng = random.Random(20260131)
    forms = ["0{}", "+33{}", "0033 {}", "33{}", "+262{}", "+590{}", "+594{}", "+596{}", "+32{}"]
    rows = [
        (rng.choice(forms).format(rng.randint(100_000_000, 999_999_999)), rng.choice(["FR", "RE"]))
        for _ in range(2000)
    ]
    con.execute("create table numbers (txt varchar, region varchar)")
    con.executemany("insert into numbers values (?, ?)", rows)
    got = con.execute(
        "select txt, region, e164(txt, region), phone_type(e164(txt, region)) from numbers"
    ).fetchall()
    expected = [
        (
            txt,
            region,
            normalise.e164(txt, region),
            normalise.phone_type(normalise.e164(txt, region)),
        )
        for txt, region in rows
    ]
    assert got == expected
    assert sum(e is not None for _, _, e, _ in got) > 500  # the sample holds valid numbers


def test_python_rules_agree_with_phonenumbers() -> None:
    import phonenumbers

    rng = random.Random(7)
    for _ in range(3000):
        nsn = str(rng.randint(100_000_000, 999_999_999))
        for region in ("FR", *normalise.OVERSEAS_REGIONS):
            code = phonenumbers.country_code_for_region(region)
            number = phonenumbers.PhoneNumber(country_code=code, national_number=int(nsn))
            valid = phonenumbers.is_valid_number_for_region(number, region)
            assert (normalise._rules(region).classify(nsn) is not None) == valid, (region, nsn)


def test_register_is_idempotent(con) -> None:
    normalise.register(con, load_settings(environ={}))
    assert con.execute("select e164('0612345678', 'FR')").fetchall() == [("+33612345678",)]


def test_settings_defaults_become_macros(con) -> None:
    got = con.execute(
        "select default_currency(), default_timezone(), default_phone_region()"
    ).fetchall()
    assert got == [("EUR", "Europe/Paris", "FR")]


def test_the_udfs_are_vectorised_and_cached(con) -> None:
    normalise.e164.cache_clear()
    con.execute(
        "select count(py_e164(t, 'BE')) from (select '+32 2 555 12 ' || (i % 10) as t "
        "from range(5000) r(i))"
    ).fetchall()
    info = normalise.e164.cache_info()
    assert info.misses == 10
    assert info.hits == 4990
