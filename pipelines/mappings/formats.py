"""The date and date-time formats a mapping file may name (strptime syntax).

The staging macros (``pipelines/sql/macros.sql``) parse exactly these; ``relance mappings check``
refuses any other, so a typo in a mapping is caught before a build.
"""

from __future__ import annotations

DATE_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%d/%m/%y",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%Y%m%d",
    "%m/%d/%Y",
    "%Y/%m/%d",
)

DATETIME_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%Y%m%d%H%M%S",
    "%m/%d/%Y %H:%M",
)

DELIMITERS: dict[str, str] = {";": "semicolon", ",": "comma", "\t": "tab", "|": "pipe"}
DECIMAL_MARKS: tuple[str, ...] = (".", ",")
THOUSANDS_SEPARATORS: tuple[str, ...] = ("", " ", "\u00a0", "\u202f", ".", ",", "'")
ENCODINGS: tuple[str, ...] = ("utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16")
