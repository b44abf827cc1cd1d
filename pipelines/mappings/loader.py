"""Read and check ``raw/<source>/mapping.toml`` files (format: ``pipelines/mappings/README.md``)."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipelines.kinds import KINDS
from pipelines.mappings import formats
from pipelines.settings import Settings

MAPPING_FILE = "mapping.toml"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
IGNORED_NAMES = {MAPPING_FILE, "README.md", "README.txt", ".DS_Store"}

DIALECT_KEYS = (
    "delimiter",
    "encoding",
    "decimal_mark",
    "thousands_sep",
    "date_format",
    "datetime_format",
    "timezone",
    "phone_region",
    "currency",
)
FILE_KEYS = {"kind", "glob", "received_date", "columns", "constants", "values", *DIALECT_KEYS}
TOP_KEYS = {"template", "defaults", "files", "source"}
DEFAULT_RECEIVED_PATTERNS = (
    (re.compile(r"(\d{4}-\d{2}-\d{2})"), "%Y-%m-%d"),
    (re.compile(r"(?<!\d)(\d{8})(?!\d)"), "%Y%m%d"),
)


class MappingError(ValueError):
    """A mapping file is invalid, or a file cannot be matched to it."""


@dataclass(frozen=True)
class Dialect:
    """How the bytes of one file are written."""

    delimiter: str = ","
    encoding: str = "utf-8"
    decimal_mark: str = "."
    thousands_sep: str = ""
    date_format: str = "%Y-%m-%d"
    datetime_format: str = "%Y-%m-%dT%H:%M:%S"
    timezone: str = "Europe/Paris"
    phone_region: str = "FR"
    currency: str = "EUR"


@dataclass(frozen=True)
class FileSpec:
    """One ``[[files]]`` entry: which files are of which kind, and how to read them."""

    kind: str
    glob: str
    dialect: Dialect
    columns: dict[str, str] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    received_pattern: str | None = None
    received_format: str | None = None
    index: int = 0

    def received_date(self, path: Path) -> date:
        """The received date of ``path``, read from its name."""
        if self.received_pattern:
            patterns = ((re.compile(self.received_pattern), self.received_format or "%Y-%m-%d"),)
        else:
            patterns = DEFAULT_RECEIVED_PATTERNS
        for pattern, fmt in patterns:
            match = pattern.search(path.name)
            if match:
                text = match.group(1) if match.groups() else match.group(0)
                try:
                    return datetime.strptime(text, fmt).date()
                except ValueError:
                    continue
        raise MappingError(
            f"{path}: cannot tell the received date from the file name; put it in the name "
            "(YYYY-MM-DD) or set received_date = {pattern, format} in the mapping"
        )

    def header_for(self, canonical: str) -> str:
        """The header the file uses for a canonical column."""
        return self.columns.get(canonical, canonical)


@dataclass(frozen=True)
class Mapping:
    """A source folder's mapping."""

    source: str
    path: Path
    files: tuple[FileSpec, ...]

    def spec_for(self, path: Path) -> FileSpec | None:
        """The ``[[files]]`` entry matching ``path`` (``None`` when no glob matches it)."""
        matches = [s for s in self.files if fnmatch.fnmatch(path.name, s.glob)]
        if len(matches) > 1:
            globs = ", ".join(repr(s.glob) for s in matches)
            raise MappingError(
                f"{path}: matched by several globs ({globs}) in {self.path}; narrow them"
            )
        return matches[0] if matches else None

    def data_files(self) -> list[Path]:
        """Every file of the folder except the mapping and READMEs, sorted by name."""
        folder = self.path.parent
        return sorted(
            p
            for p in folder.iterdir()
            if p.is_file() and p.name not in IGNORED_NAMES and not p.name.startswith(".")
        )


def _dialect_errors(values: dict[str, str], where: str) -> list[str]:
    errors = []
    checks = {
        "delimiter": tuple(formats.DELIMITERS),
        "encoding": formats.ENCODINGS,
        "decimal_mark": formats.DECIMAL_MARKS,
        "thousands_sep": formats.THOUSANDS_SEPARATORS,
        "date_format": formats.DATE_FORMATS,
        "datetime_format": formats.DATETIME_FORMATS,
    }
    for key, allowed in checks.items():
        if key in values and values[key] not in allowed:
            shown = ", ".join(repr(a) for a in allowed)
            errors.append(f"{where}: {key} = {values[key]!r} is not supported; use one of {shown}")
    if "timezone" in values:
        try:
            ZoneInfo(values["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            errors.append(f"{where}: timezone {values['timezone']!r} is not an IANA time zone")
    if "currency" in values and not re.fullmatch(r"[A-Z]{3}", str(values["currency"])):
        errors.append(f"{where}: currency {values['currency']!r} is not an ISO 4217 code")
    if values.get("decimal_mark") and values.get("decimal_mark") == values.get("thousands_sep"):
        errors.append(
            f"{where}: decimal_mark and thousands_sep are both {values['decimal_mark']!r}"
        )
    return errors


def template(name: str) -> dict[str, str]:
    """The dialect keys of a built-in template."""
    path = TEMPLATES_DIR / f"{name}.toml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in TEMPLATES_DIR.glob("*.toml")))
        raise MappingError(f"unknown template {name!r}; built-in templates: {known}")
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _spec(entry: dict, index: int, base: dict[str, str], where: str) -> tuple[FileSpec, list[str]]:
    errors: list[str] = []
    unknown = sorted(set(entry) - FILE_KEYS)
    if unknown:
        errors.append(
            f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(FILE_KEYS))}"
        )
    kind_name = entry.get("kind")
    if kind_name not in KINDS:
        errors.append(f"{where}: kind {kind_name!r} is not an import kind ({', '.join(KINDS)})")
    if not entry.get("glob"):
        errors.append(f"{where}: glob is missing (which files are of this kind?)")
    dialect_values = {**base, **{k: entry[k] for k in DIALECT_KEYS if k in entry}}
    errors += _dialect_errors(dialect_values, where)
    columns = {str(k): str(v) for k, v in entry.get("columns", {}).items()}
    constants = {str(k): str(v) for k, v in entry.get("constants", {}).items()}
    values = {
        str(col): {str(k): str(v) for k, v in mapping.items()}
        for col, mapping in entry.get("values", {}).items()
    }
    if kind_name in KINDS:
        known = set(KINDS[kind_name].column_names)
        for section, names in (("columns", columns), ("constants", constants), ("values", values)):
            for name in names:
                if name not in known:
                    errors.append(
                        f"{where}: [{section}] names {name!r}, not a column of {kind_name} "
                        f"({', '.join(KINDS[kind_name].column_names)})"
                    )
    received = entry.get("received_date") or {}
    if received and not isinstance(received, dict):
        errors.append(f"{where}: received_date must be {{pattern = '…', format = '…'}}")
        received = {}
    if received.get("pattern"):
        try:
            re.compile(received["pattern"])
        except re.error as exc:
            errors.append(f"{where}: received_date pattern is not a regular expression ({exc})")
    spec = FileSpec(
        kind=str(kind_name),
        glob=str(entry.get("glob", "")),
        dialect=Dialect(**{k: str(v) for k, v in dialect_values.items() if k in DIALECT_KEYS}),
        columns=columns,
        constants=constants,
        values=values,
        received_pattern=received.get("pattern"),
        received_format=received.get("format"),
        index=index,
    )
    return spec, errors


def load_mapping(path: Path, settings: Settings) -> Mapping:
    """Read a mapping file; raise ``MappingError`` listing every problem (one per line)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MappingError(
            f"{path.parent}: no {MAPPING_FILE}; write one (see pipelines/mappings/README.md)"
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MappingError(f"{path}: not valid TOML ({exc}); fix the file") from None
    errors = []
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        errors.append(
            f"{path}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(TOP_KEYS))}"
        )
    base: dict[str, str] = {
        "timezone": settings.get("build.default_timezone", "Europe/Paris"),
        "phone_region": settings.get("build.default_phone_region", "FR"),
        "currency": settings.get("build.default_currency", "EUR"),
    }
    if data.get("template"):
        try:
            base.update(template(str(data["template"])))
        except MappingError as exc:
            errors.append(f"{path}: {exc}")
    base.update({k: v for k, v in data.get("defaults", {}).items() if k in DIALECT_KEYS})
    bad_defaults = sorted(set(data.get("defaults", {})) - set(DIALECT_KEYS))
    if bad_defaults:
        errors.append(f"{path}: [defaults] unknown key(s) {', '.join(bad_defaults)}")
    entries = data.get("files", [])
    if not entries:
        errors.append(f"{path}: no [[files]] entry; add one per kind of file in the folder")
    specs = []
    for i, entry in enumerate(entries, start=1):
        spec, spec_errors = _spec(entry, i, base, f"{path} [[files]] #{i}")
        specs.append(spec)
        errors += spec_errors
    if errors:
        raise MappingError("\n".join(errors))
    return Mapping(
        source=str(data.get("source") or path.parent.name), path=path, files=tuple(specs)
    )


def source_dirs(raw_dir: Path) -> list[Path]:
    """The source folders under ``raw/``, sorted."""
    if not raw_dir.exists():
        return []
    return sorted(p for p in raw_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
