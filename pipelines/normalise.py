"""Python functions the staging SQL calls: phone numbers (E.164 and line type) and the settings
defaults that ``raw.files`` may leave empty.

``register(con, settings)`` installs them on a DuckDB connection (``warehouse.prepare_functions``
calls it before running ``sql/macros.sql``):

``e164(phone_text, region) -> varchar``
    the number in E.164 (``+33612345678``) or NULL when it is not a valid number. ``region`` is the
    file's default region (``FR``). Accepted forms: ``06 12 34 56 78``, ``06.12.34.56.78``,
    ``+33 6 12 34 56 78``, ``+33 (0)6 …``, ``0033 6 …``, ``33 6 …``, and any international number
    phonenumbers can parse. French overseas departments share the French national format: a
    national number (or a ``+33`` one, a common mis-writing) is tried in ``OVERSEAS_REGIONS``
    when it is not valid in metropolitan France, the first region where it is valid winning
    (``0692 12 34 56`` → ``+262692123456``). The overseas geographic and mobile blocks
    (``DOM_PREFIXES``: 0262, 0269, 0590, 0594, 0596, 0639, 0690–0697) are tried *first*, because
    phonenumbers' metropolitan metadata also accepts a few of them (0263, 0269, 0596).
``phone_type(e164) -> varchar``
    ``mobile``, ``fixed`` or ``other`` (VoIP, toll-free, shared cost, premium, fixed-or-mobile, …);
    NULL for NULL or an invalid number.
``default_currency()``, ``default_timezone()``, ``default_phone_region()``
    macros returning ``build.default_*`` from the settings, for files whose dialect leaves them
    empty.

Speed: ``phonenumbers.parse`` costs about 25 µs a number, too slow for millions of rows, so numbers
of the French plan (national ``0`` + 9 digits, ``+33``/``0033``/``33`` + 9 digits, ``+262``,
``+590``, ``+594``, ``+596``) are checked against phonenumbers' own metadata patterns, compiled
once (about 2 µs); anything else goes through ``phonenumbers.parse``. Both functions cache their
results per input (``functools.lru_cache``) and are registered as vectorised DuckDB ``arrow``
UDFs (one Python call per chunk of about 2,000 values); staging calls them on distinct values.

The pure-Python ``e164(text, region)`` and ``phone_type(number)`` are usable by other code.
"""

from __future__ import annotations

import contextlib
import functools
import re
from dataclasses import dataclass

import duckdb
import phonenumbers
import pyarrow as pa
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumberFormat, PhoneNumberType

from pipelines.settings import Settings

# Regions sharing the French national format (0 + 9 digits), tried in this order when a French
# national number is not valid in metropolitan France.
OVERSEAS_REGIONS: tuple[str, ...] = ("RE", "YT", "GP", "MQ", "GF", "PM", "BL", "MF")
FRENCH_REGIONS: frozenset[str] = frozenset(("FR", *OVERSEAS_REGIONS))

# Overseas blocks of the French plan (ARCEP), by the first digits after the 0: tried before
# metropolitan France, whose metadata in phonenumbers also accepts some of them.
DOM_PREFIXES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("262", "263", "692", "693", "7092"), ("RE", "YT")),
    **dict.fromkeys(("269", "639"), ("YT", "RE")),
    **dict.fromkeys(("590", "690", "691", "7090"), ("GP", "BL", "MF")),
    **dict.fromkeys(("594", "694"), ("GF",)),
    **dict.fromkeys(("596", "696", "697", "7091"), ("MQ",)),
    "7093": ("YT", "GF"),
}

_SEPARATORS = re.compile(r"[\s.\-/()\u00a0\u202f]")
_TRUNK_IN_BRACKETS = re.compile(r"\(\s*0\s*\)")
_ALLOWED = re.compile(r"\+?[0-9]+")
_FRENCH_NATIONAL = re.compile(r"0([1-9][0-9]{8})")
_FRENCH_INTERNATIONAL = re.compile(r"\+?33([1-9][0-9]{8})")
_PLAN_E164 = re.compile(r"\+(33|262|590|594|596)([1-9][0-9]{8})")
_CACHE_SIZE = 1 << 20

# phonenumbers' _number_type_helper order: the special types first, then fixed line and mobile.
_SPECIAL_TYPES = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
)
_TYPES: dict[int, str] = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "fixed",
}


@dataclass(frozen=True)
class _Desc:
    pattern: re.Pattern[str] | None
    lengths: tuple[int, ...]

    def matches(self, nsn: str) -> bool:
        if self.pattern is None:
            return False
        if self.lengths and len(nsn) not in self.lengths:
            return False
        return self.pattern.fullmatch(nsn) is not None


@dataclass(frozen=True)
class _Rules:
    """A region's number patterns, from phonenumbers' metadata."""

    country_code: int
    general: _Desc
    special: tuple[_Desc, ...]
    fixed: _Desc
    mobile: _Desc
    same_fixed_and_mobile: bool

    def classify(self, nsn: str) -> str | None:
        """Line type of a national significant number, or None when it is not valid here
        (phonenumbers' ``_number_type_helper``, with our three labels)."""
        if not self.general.matches(nsn):
            return None
        if any(desc.matches(nsn) for desc in self.special):
            return "other"
        if self.fixed.matches(nsn):
            if self.same_fixed_and_mobile or self.mobile.matches(nsn):
                return "other"
            return "fixed"
        if not self.same_fixed_and_mobile and self.mobile.matches(nsn):
            return "mobile"
        return None


def _desc(number_desc) -> _Desc:
    if number_desc is None or not number_desc.national_number_pattern:
        return _Desc(None, ())
    return _Desc(
        re.compile(number_desc.national_number_pattern), tuple(number_desc.possible_length)
    )


@functools.cache
def _rules(region: str) -> _Rules:
    metadata = PhoneMetadata.metadata_for_region(region)
    return _Rules(
        country_code=metadata.country_code,
        general=_desc(metadata.general_desc),
        special=tuple(_desc(getattr(metadata, name)) for name in _SPECIAL_TYPES),
        fixed=_desc(metadata.fixed_line),
        mobile=_desc(metadata.mobile),
        same_fixed_and_mobile=bool(metadata.same_mobile_and_fixed_line_pattern),
    )


def _french_plan_region(nsn: str) -> str | None:
    """The region of the French plan where the 9-digit ``nsn`` is valid, or None."""
    tried: list[str] = []
    dom = DOM_PREFIXES.get(nsn[:4], ()) or DOM_PREFIXES.get(nsn[:3], ())
    for region in (*dom, "FR", *OVERSEAS_REGIONS):
        if region in tried:
            continue
        tried.append(region)
        if _rules(region).classify(nsn) is not None:
            return region
    return None


def _plan_line(country_code: int, nsn: str) -> str | None:
    """Line type of ``+<country_code><nsn>`` in the regions sharing that code, or None."""
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code, ()):
        line = _rules(region).classify(nsn)
        if line is not None:
            return line
    return None


def _parsed(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


@functools.lru_cache(maxsize=_CACHE_SIZE)
def e164(text: str | None, region: str | None = "FR") -> str | None:
    """Return ``text`` as an E.164 number, or None when it is not a valid phone number.

    ``region`` is the default region for numbers written without a country code (see the module
    docstring for the accepted forms and the French overseas departments).
    """
    if text is None:
        return None
    region = (region or "FR").strip().upper() or "FR"
    compact = _SEPARATORS.sub("", _TRUNK_IN_BRACKETS.sub("", text))
    if not _ALLOWED.fullmatch(compact):
        return None
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    french = _FRENCH_INTERNATIONAL.fullmatch(compact)
    if french is None and region in FRENCH_REGIONS:
        french = _FRENCH_NATIONAL.fullmatch(compact)
    if french is not None and (compact.startswith("+") or region in FRENCH_REGIONS):
        nsn = french.group(1)
        found = _french_plan_region(nsn)
        return None if found is None else f"+{_rules(found).country_code}{nsn}"
    overseas = _PLAN_E164.fullmatch(compact)
    if overseas is not None:  # +262, +590, +594, +596
        line = _plan_line(int(overseas.group(1)), overseas.group(2))
        return None if line is None else compact
    number = _parsed(compact, region)
    if number is None and not compact.startswith(("+", "0")):
        number = _parsed("+" + compact, region)  # a country code written without its "+"
    return None if number is None else phonenumbers.format_number(number, PhoneNumberFormat.E164)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def phone_type(number: str | None) -> str | None:
    """``mobile``, ``fixed`` or ``other`` for an E.164 number; None when it is not valid."""
    if number is None:
        return None
    plan = _PLAN_E164.fullmatch(number)
    if plan is not None:
        return _plan_line(int(plan.group(1)), plan.group(2))
    parsed = _parsed(number, None)
    if parsed is None:
        return None
    return _TYPES.get(phonenumbers.number_type(parsed), "other")


def _e164_arrow(texts: pa.Array, regions: pa.Array) -> pa.Array:
    return pa.array(
        [
            None if text is None else e164(text, region)
            for text, region in zip(texts.to_pylist(), regions.to_pylist(), strict=True)
        ],
        type=pa.string(),
    )


def _phone_type_arrow(numbers: pa.Array) -> pa.Array:
    return pa.array([phone_type(n) for n in numbers.to_pylist()], type=pa.string())


def _sql_literal(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def register(con, settings: Settings) -> None:
    """Register the phone functions and the settings-default macros on ``con`` (idempotent)."""
    functions = (
        ("e164", _e164_arrow, ["VARCHAR", "VARCHAR"]),
        ("phone_type", _phone_type_arrow, ["VARCHAR"]),
    )
    for name, function, parameters in functions:
        with contextlib.suppress(duckdb.InvalidInputException):  # not registered yet
            con.remove_function(name)
        # "special": the functions see NULLs and may return NULL (an invalid number)
        con.create_function(
            name, function, parameters, "VARCHAR", type="arrow", null_handling="special"
        )
    defaults = {
        "default_currency": settings.get("build.default_currency", "EUR"),
        "default_timezone": settings.get("build.default_timezone", "Europe/Paris"),
        "default_phone_region": settings.get("build.default_phone_region", "FR"),
    }
    for name, value in defaults.items():
        con.execute(f"create or replace macro {name}() as {_sql_literal(value)}")
