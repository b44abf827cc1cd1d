"""Functions the staging SQL calls: phone numbers (E.164 and line type) and the settings defaults
that ``raw.files`` may leave empty.

``register(con, settings)`` installs them on a DuckDB connection (``warehouse.prepare_functions``
calls it before running ``sql/macros.sql``); nothing runs at import time:

``e164(phone_text, region) -> varchar``
    the number in E.164 (``+33612345678``) or NULL when it is not a valid number. ``region`` is the
    file's default region (``FR``). Accepted forms: ``06 12 34 56 78``, ``06.12.34.56.78``,
    ``+33 6 12 34 56 78``, ``+33 (0)6 …``, ``0033 6 …``, ``33 6 …``, and any international number
    phonenumbers can parse. French overseas departments share the French national format: a
    national number (or a ``+33`` one, a common mis-writing) is tried in ``OVERSEAS_REGIONS``
    when it is not valid in metropolitan France, the first region where it is valid winning
    (``0692 12 34 56`` → ``+262692123456``). The overseas geographic and mobile blocks
    (``DOM_PREFIXES``: 0262, 0263, 0269, 0590, 0594, 0596, 0639, 0690–0697, 07090–07093) are
    tried *first*, because phonenumbers' metropolitan metadata also accepts a few of them (0263,
    0269, 0596).
``phone_type(e164) -> varchar``
    ``mobile``, ``fixed`` or ``other`` (VoIP, toll-free, shared cost, premium, fixed-or-mobile, …);
    NULL for NULL or an invalid number.
``default_currency()``, ``default_timezone()``, ``default_phone_region()``
    macros returning ``build.default_*`` from the settings, for files whose dialect leaves them
    empty.

Speed. ``phonenumbers.parse`` costs about 25 µs a number, too slow for millions of rows. Numbers
of the French plan (national ``0`` + 9 digits, ``+33``/``0033``/``33`` + 9 digits, ``+262``,
``+590``, ``+594``, ``+596``) are checked against phonenumbers' own metadata patterns instead:

* in SQL, ``e164`` and ``phone_type`` are macros (``phone_macros_sql``, generated from the
  metadata when ``register`` runs) that do it in DuckDB, a few microseconds a number on all
  threads, and hand any other number to the Python UDFs ``py_e164`` / ``py_phone_type``
  (vectorised ``arrow`` UDFs, one Python call per chunk of about 2,000 values);
* in Python, the same patterns are compiled once (``_rules``); anything else goes through
  ``phonenumbers.parse``. Results are cached per input (``functools.lru_cache``).

Tests check that the SQL macros, the Python functions and phonenumbers agree. Staging calls
``e164`` on distinct (number, region) pairs only.

The pure-Python ``e164(text, region)`` and ``phone_type(number)`` are usable by other code.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterable
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


def _desc_sql(desc: _Desc) -> str:
    if desc.pattern is None:
        return "false"
    match = f"regexp_full_match(nsn, {_sql_literal(desc.pattern.pattern)})"
    if desc.lengths:
        return f"(length(nsn) in ({', '.join(str(n) for n in desc.lengths)}) and {match})"
    return match


def _any_sql(descs: Iterable[_Desc]) -> str:
    """Whether ``nsn`` matches any of ``descs``: one regular expression per set of lengths."""
    by_lengths: dict[tuple[int, ...], list[str]] = {}
    for desc in descs:
        if desc.pattern is not None:
            by_lengths.setdefault(desc.lengths, []).append(desc.pattern.pattern)
    tests = [
        _desc_sql(_Desc(re.compile("|".join(f"(?:{p})" for p in patterns)), lengths))
        for lengths, patterns in by_lengths.items()
    ]
    return " or ".join(tests) or "false"


def _line_sql(region: str) -> str:
    """``_Rules.classify`` as a SQL expression over ``nsn``."""
    rules = _rules(region)
    special = _any_sql(rules.special)
    if rules.same_fixed_and_mobile:
        fixed, mobile = "'other'", ""
    else:
        fixed = f"case when {_desc_sql(rules.mobile)} then 'other' else 'fixed' end"
        mobile = f" when {_desc_sql(rules.mobile)} then 'mobile'"
    return (
        f"case when not {_desc_sql(rules.general)} then null"
        f" when {special} then 'other'"
        f" when {_desc_sql(rules.fixed)} then {fixed}{mobile} end"
    )


def _valid_sql(region: str) -> str:
    """Whether ``nsn`` is valid in ``region`` (some type matches), as a SQL expression."""
    rules = _rules(region)
    return (
        f"({_desc_sql(rules.general)}"
        f" and ({_any_sql((*rules.special, rules.fixed, rules.mobile))}))"
    )


def _plan_country_codes() -> dict[str, tuple[str, ...]]:
    codes: dict[str, tuple[str, ...]] = {}
    for region in ("FR", *OVERSEAS_REGIONS):
        code = _rules(region).country_code
        codes.setdefault(str(code), phonenumbers.COUNTRY_CODE_TO_REGION_CODE[code])
    return codes


def _country_code_choice_sql() -> str:
    """``_french_plan_region`` as a SQL CASE over ``nsn`` giving the country code."""
    steps: list[tuple[str | None, str]] = []
    groups: dict[tuple[str, ...], list[str]] = {}
    for prefix, regions in DOM_PREFIXES.items():
        groups.setdefault(regions, []).append(prefix)
    for regions, prefixes in groups.items():
        test = " or ".join(
            f"left(nsn, {len(p)}) = {_sql_literal(p)}" for p in sorted(prefixes, key=len)
        )
        steps += [(f"({test})", str(_rules(region).country_code)) for region in regions]
    steps += [(None, str(_rules(region).country_code)) for region in ("FR", *OVERSEAS_REGIONS)]
    whens: list[str] = []
    done: set[tuple[str | None, str]] = set()
    for test, code in steps:
        if (test, code) in done or (None, code) in done:
            continue
        done.add((test, code))
        condition = f"_phone_valid_{code}(nsn)"
        whens.append(f"when {test + ' and ' if test else ''}{condition} then {_sql_literal(code)}")
    return "case " + " ".join(whens) + " end"


def phone_macros_sql() -> str:
    """SQL macros doing what ``e164`` and ``phone_type`` do for numbers of the French plan, from
    the same phonenumbers patterns, and calling the Python functions for any other number.

    A macro's argument is copied wherever the body names it, so the bodies bind computed values
    once through ``list_transform([value], lambda x: …)[1]``."""
    french = ", ".join(_sql_literal(r) for r in sorted(FRENCH_REGIONS))
    codes = _plan_country_codes()
    statements = [
        f"create or replace macro _phone_line_{region.lower()}(nsn) as ({_line_sql(region)});"
        for region in ("FR", *OVERSEAS_REGIONS)
    ]
    statements += [
        f"create or replace macro _phone_valid_{code}(nsn) as ("
        + " or ".join(_valid_sql(r) for r in regions)
        + ");"
        for code, regions in codes.items()
    ]
    by_code = " ".join(
        f"when {_sql_literal(code)} then coalesce("
        + ", ".join(f"_phone_line_{r.lower()}(nsn)" for r in regions)
        + ")"
        for code, regions in codes.items()
    )
    valid_by_code = " ".join(
        f"when {_sql_literal(code)} then _phone_valid_{code}(nsn)" for code in codes
    )
    statements += [
        f"create or replace macro phone_plan_line(cc, nsn) as (case cc {by_code} end);",
        f"create or replace macro phone_plan_valid(cc, nsn) as (case cc {valid_by_code} end);",
        f"create or replace macro phone_plan_cc(nsn) as ({_country_code_choice_sql()});",
        "create or replace macro phone_compact(txt) as regexp_replace(regexp_replace("
        "regexp_replace(txt, '\\(\\s*0\\s*\\)', '', 'g'), "
        "'[\\s.\\-/()\\x{00A0}\\x{202F}]', '', 'g'), '^00', '+');",
        "create or replace macro phone_plan_nsn(c, region) as (case"
        " when regexp_full_match(c, '\\+33[1-9][0-9]{8}') then right(c, 9)"
        f" when coalesce(nullif(upper(trim(region)), ''), 'FR') in ({french})"
        " and regexp_full_match(c, '(33|0)[1-9][0-9]{8}') then right(c, 9) end);",
        "create or replace macro e164(txt, region) as (case"
        " when phone_plan_nsn(phone_compact(txt), region) is not null"
        " then list_transform([phone_plan_nsn(phone_compact(txt), region)],"
        " lambda nsn: '+' || phone_plan_cc(nsn) || nsn)[1]"
        " when regexp_full_match(phone_compact(txt), '\\+(262|590|594|596)[1-9][0-9]{8}')"
        " then list_transform([phone_compact(txt)],"
        " lambda c: case when phone_plan_valid(c[2:4], c[5:]) then c end)[1]"
        " else py_e164(txt, region) end);",
        "create or replace macro phone_type(number) as (case"
        " when regexp_full_match(number, '\\+(33|262|590|594|596)[1-9][0-9]{8}')"
        " then list_transform([number], lambda n: phone_plan_line("
        "regexp_extract(n, '^\\+(33|262|590|594|596)', 1), right(n, 9)))[1]"
        " else py_phone_type(number) end);",
    ]
    return "\n".join(statements)


def register(con, settings: Settings) -> None:
    """Register the phone functions and the settings-default macros on ``con`` (idempotent).

    ``e164`` and ``phone_type`` are SQL macros (``phone_macros_sql``) that handle numbers of the
    French plan in DuckDB and pass any other number to the Python UDFs ``py_e164`` and
    ``py_phone_type``.
    """
    functions = (
        ("py_e164", _e164_arrow, ["VARCHAR", "VARCHAR"]),
        ("py_phone_type", _phone_type_arrow, ["VARCHAR"]),
    )
    for name, function, parameters in functions:
        with contextlib.suppress(duckdb.InvalidInputException):  # not registered yet
            con.remove_function(name)
        # "special": the functions see NULLs and may return NULL (an invalid number)
        con.create_function(
            name, function, parameters, "VARCHAR", type="arrow", null_handling="special"
        )
    con.execute(phone_macros_sql())
    defaults = {
        "default_currency": settings.get("build.default_currency", "EUR"),
        "default_timezone": settings.get("build.default_timezone", "Europe/Paris"),
        "default_phone_region": settings.get("build.default_phone_region", "FR"),
    }
    for name, value in defaults.items():
        con.execute(f"create or replace macro {name}() as {_sql_literal(value)}")
