"""French formats: grouping with U+202F, unit after U+00A0, dashes for missing values."""

from __future__ import annotations

import math

import pytest

from app import format as fmt

G, U = "\u202f", "\u00a0"


@pytest.mark.parametrize(
    ("cents", "expected"),
    [
        (0, f"0,00{U}€"),
        (5, f"0,05{U}€"),
        (123456, f"1{G}234,56{U}€"),
        (123456789012, f"1{G}234{G}567{G}890,12{U}€"),
        (-123456, f"-1{G}234,56{U}€"),
        (None, "–"),
    ],
)
def test_euros(cents, expected):
    assert fmt.euros(cents) == expected


@pytest.mark.parametrize(
    ("cents", "expected"), [(123450, f"1{G}235{U}€"), (123449, f"1{G}234{U}€")]
)
def test_euros_whole_rounds_half_up(cents, expected):
    assert fmt.euros(cents, decimals=False) == expected


@pytest.mark.parametrize(
    ("ratio", "digits", "expected"),
    [(0.1234, 1, f"12,3{U}%"), (1.0, 0, f"100{U}%"), (0.0, 1, f"0,0{U}%"), (None, 1, "–")],
)
def test_percent(ratio, digits, expected):
    assert fmt.percent(ratio, digits) == expected


def test_percent_of_nan_is_a_dash():
    assert fmt.percent(math.nan) == "–"


@pytest.mark.parametrize(
    ("value", "digits", "expected"),
    [(12345, 0, f"12{G}345"), (3.14159, 2, "3,14"), (-0.001, 1, "0,0"), (-2.5, 1, "-2,5")],
)
def test_number(value, digits, expected):
    assert fmt.number(value, digits) == expected


def test_per_thousand():
    assert fmt.per_thousand(0.0123) == f"12,3{U}‰"


def test_no_plain_space_or_locale_separator_is_used():
    text = fmt.euros(987654321)
    assert " " not in text and "." not in text
