"""French number formats for the app, written by hand (no system locale is guaranteed).

Spaces (CLDR ``fr``, what French typography and the DGFiP use):

- thousands are grouped with U+202F NARROW NO-BREAK SPACE (``GROUP``): ``1 234 567``;
- the euro sign and the percent sign follow the number after U+00A0 NO-BREAK SPACE
  (``UNIT``): ``1 234,56 €``, ``12,5 %``.

Both are non-breaking, so a figure never wraps inside a tile. Tests and the browser test compare
with these functions' output, never with a typed literal.
"""

from __future__ import annotations

import math

GROUP = "\u202f"
UNIT = "\u00a0"
DASH = "–"


def grouped(number: int) -> str:
    """``1234567`` -> ``1 234 567`` (sign kept, thousands grouped with ``GROUP``)."""
    sign = "-" if number < 0 else ""
    digits = str(abs(number))
    groups = []
    while digits:
        groups.append(digits[-3:])
        digits = digits[:-3]
    return sign + GROUP.join(reversed(groups))


def euros(cents: int | None, decimals: bool = True) -> str:
    """Integer cents as euros: ``123456`` -> ``1 234,56 €``; ``None`` -> ``–``.

    ``decimals=False`` rounds to whole euros (half away from zero): ``1 235 €``.
    """
    if cents is None:
        return DASH
    cents = int(cents)
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    if not decimals:
        whole += 1 if rest >= 50 else 0
        return f"{sign}{grouped(whole)}{UNIT}€"
    return f"{sign}{grouped(whole)},{rest:02d}{UNIT}€"


def number(value: float | int | None, digits: int = 0) -> str:
    """A count or a measure: ``12345`` -> ``12 345``, ``(3.14159, 2)`` -> ``3,14``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    if digits == 0:
        return grouped(round(value))
    scaled = round(abs(value) * 10**digits)
    whole, rest = divmod(scaled, 10**digits)
    sign = "-" if value < 0 and scaled else ""
    return f"{sign}{grouped(whole)},{rest:0{digits}d}"


def percent(ratio: float | None, digits: int = 1) -> str:
    """A ratio as a percentage: ``0.1234`` -> ``12,3 %``; ``None`` or NaN -> ``–``."""
    if ratio is None or math.isnan(ratio):
        return DASH
    return f"{number(ratio * 100, digits)}{UNIT}%"


def per_thousand(ratio: float | None, digits: int = 1) -> str:
    """A rate per 1,000: ``0.0123`` -> ``12,3 ‰``."""
    if ratio is None or math.isnan(ratio):
        return DASH
    return f"{number(ratio * 1000, digits)}{UNIT}‰"
