"""Source files → ``raw.*`` tables, with lineage and file-level checks.

Every data record of every file lands in ``raw.<kind>`` as text with its file and record number
(``pipelines/sql/README.md``); records the CSV reader cannot split land too, with the reason and
the line, so that nothing is lost. Whole-file problems (encoding, delimiter, header, emptiness,
unmatched files) refuse the file with a one-line message naming it and the fix.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from pipelines.kinds import KINDS, ImportKind
from pipelines.mappings.loader import FileSpec, Mapping, MappingError, load_mapping, source_dirs
from pipelines.settings import Settings

CHUNK = 1 << 20
CHECK_THREADS = 2  # files checked at once (hashing and reading release the GIL)
# Tell-tale sequences of UTF-8 text decoded as cp1252/latin-1 and encoded again ("Ã©" for "é").
MOJIBAKE = re.compile(
    "Ã[\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u2018-\u203a]|â‚¬|Â[\u00a0-\u00bf]"
)
UTF8_NAMES = {"utf-8", "utf-8-sig"}
# An encoding is ASCII-compatible when it writes these as ASCII (UTF-16 does not).
PLAIN = "\n\r\t ,;|\"'0123456789.-+:/azAZ"


class IngestError(ValueError):
    """One or more files cannot be loaded; each line names a file and the fix."""


@dataclass(frozen=True)
class FileCheck:
    """What the file-level pass learned about one file."""

    sha256: str
    bytes: int
    header: tuple[str, ...]
    utf8_path: Path | None  # a transcoded copy to read instead, when the file is not UTF-8


@dataclass
class LoadedFile:
    """One file's entry in the ingest report (and the ledger)."""

    source: str
    kind: str | None
    source_file: str
    sha256: str
    bytes: int
    received_date: date | None
    status: str  # loaded, duplicate_file
    file_id: int | None = None
    raw_rows: int = 0
    reader_rejects: int = 0
    message: str = ""


@dataclass
class IngestReport:
    files: list[LoadedFile] = field(default_factory=list)

    @property
    def raw_rows(self) -> int:
        return sum(f.raw_rows for f in self.files)


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _lines_before(path: Path, offset: int) -> int:
    """Newlines in the first ``offset`` bytes of ``path`` (for error messages only)."""
    count = 0
    with open(path, "rb") as handle:
        while offset > 0 and (chunk := handle.read(min(CHUNK, offset))):
            count += chunk.count(b"\n")
            offset -= len(chunk)
    return count


def _may_be_mojibake(text: str) -> bool:
    """Whether ``text`` holds a character every ``MOJIBAKE`` match starts with (a cheap
    pre-filter: the regular expression then runs only on the rare chunks that do)."""
    return "\u00c3" in text or "\u00e2" in text or "\u00c2" in text


def checked_file(
    path: Path, rel: str, spec: FileSpec, mapping_rel: str, tmp_dir: Path
) -> FileCheck:
    """Stream the file once: hash it, check its encoding and header, and transcode it to UTF-8
    when it is not; raise ``IngestError`` with a one-line message on a whole-file problem."""
    encoding = spec.dialect.encoding
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8-sig" if encoding in UTF8_NAMES else encoding)(
        errors="strict"
    )
    utf8_probe = codecs.getincrementaldecoder("utf-8")(errors="strict")
    plain_bytes = codecs.lookup(encoding).encode(PLAIN)[0]
    ascii_compatible = encoding in UTF8_NAMES or plain_bytes == PLAIN.encode("ascii")
    utf8_ok, saw_high = True, False
    out = None
    utf8_path = None
    if encoding not in UTF8_NAMES:
        utf8_path = tmp_dir / f"{hashlib.md5(rel.encode()).hexdigest()}.utf8.csv"
        out = open(utf8_path, "w", encoding="utf-8", newline="")  # noqa: SIM115
    head_text = ""
    size = 0
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
                # An ASCII chunk after a complete character is the same text in any
                # ASCII-compatible encoding and cannot hold mojibake: it is not decoded (most of
                # a file, and half of the checks' time).
                if ascii_compatible and chunk.isascii() and not decoder.getstate()[0]:
                    if out is not None:
                        out.write(chunk.decode("ascii"))
                    if len(head_text) < 65536:
                        head_text += chunk[:65536].decode("ascii")
                    if utf8_probe.getstate()[0]:
                        utf8_ok = False  # a character cut short by plain ASCII
                    size += len(chunk)
                    continue
                pending = decoder.getstate()[0]  # a character the last chunk cut short
                try:
                    text = decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    data = pending + chunk  # what the decoder read, from size - len(pending)
                    line = _lines_before(path, size - len(pending)) + _line_of(data, exc.start)
                    byte = data[exc.start] if exc.start < len(data) else 0
                    if encoding in UTF8_NAMES:
                        fix = 'it looks like a Windows export: set encoding = "cp1252"'
                    else:
                        fix = "set the right encoding"
                    raise IngestError(
                        f"{rel}: not valid {encoding} (byte 0x{byte:02X} on line {line}); "
                        f"{fix} in {mapping_rel} or ask the sender for UTF-8"
                    ) from None
                if encoding not in UTF8_NAMES and utf8_ok:
                    saw_high = saw_high or not chunk.isascii()
                    try:
                        utf8_probe.decode(chunk)
                    except UnicodeDecodeError:
                        utf8_ok = False
                bad = MOJIBAKE.search(text) if _may_be_mojibake(text) else None
                if bad and encoding not in UTF8_NAMES and utf8_ok:
                    raise IngestError(_utf8_not_declared(rel, mapping_rel, encoding))
                if bad:
                    line = _lines_before(path, size) + text.count("\n", 0, bad.start()) + 1
                    raise IngestError(
                        f"{rel}: text looks double-encoded ({bad.group(0)!r} on line {line}, "
                        "UTF-8 read as cp1252 and saved again); re-export it from the source "
                        "system in one encoding"
                    )
                if len(head_text) < 65536:
                    head_text += text[:65536]
                if out is not None:
                    out.write(text)
                size += len(chunk)
            tail = decoder.decode(b"", final=True)
            if out is not None:
                out.write(tail)
    finally:
        if out is not None:
            out.close()
    if encoding not in UTF8_NAMES and utf8_ok and saw_high:
        raise IngestError(_utf8_not_declared(rel, mapping_rel, encoding))
    if size == 0:
        raise IngestError(f"{rel}: the file is empty (0 bytes); ask the sender to resend it")
    header = _header(head_text, spec.dialect.delimiter)
    rest = head_text.lstrip("\ufeff").split("\n", 1)
    if len(rest) < 2 or not rest[1].strip():
        raise IngestError(
            f"{rel}: the file has a header but no data rows; ask the sender to resend it"
        )
    return FileCheck(digest.hexdigest(), size, header, utf8_path)


def _utf8_not_declared(rel: str, mapping_rel: str, encoding: str) -> str:
    return (
        f"{rel}: the file is UTF-8 but {mapping_rel} says encoding = {encoding!r}; "
        'set encoding = "utf-8"'
    )


def _header(text: str, delimiter: str) -> tuple[str, ...]:
    first = text.lstrip("\ufeff").split("\n", 1)[0].rstrip("\r")
    row = next(csv.reader(io.StringIO(first), delimiter=delimiter), [])
    return tuple(h.strip() for h in row)


def header_problem(
    header: tuple[str, ...], spec: FileSpec, import_kind: ImportKind, rel: str, mapping_rel: str
) -> str | None:
    """A one-line message when the header cannot be read as the mapping says, else ``None``."""
    lowered = [h.lower() for h in header]
    if len(set(lowered)) != len(lowered):
        dupes = sorted({h for h in header if lowered.count(h.lower()) > 1})
        return f"{rel}: the header repeats column(s) {', '.join(dupes)}; rename them in the file"
    missing = [
        col
        for col in import_kind.required
        if col not in spec.constants and spec.header_for(col).lower() not in lowered
    ]
    if not missing:
        return None
    first = spec.dialect.delimiter.encode("unicode_escape").decode()
    if len(header) <= 1:
        for other in (";", ",", "\t", "|"):
            if other != spec.dialect.delimiter and other in (header[0] if header else ""):
                shown = other.encode("unicode_escape").decode()
                return (
                    f"{rel}: the header has 1 column with delimiter {first!r} but splits on "
                    f"{shown!r}; set delimiter = {shown!r} in {mapping_rel}"
                )
    wanted = ", ".join(
        f"{c}" + (f" (header {spec.header_for(c)!r})" if spec.header_for(c) != c else "")
        for c in missing
    )
    return (
        f"{rel}: missing required column(s) {wanted}; add them to the file or map them under "
        f"[files.columns] in {mapping_rel}"
    )


def checked(path: Path, spec: FileSpec, mapping: Mapping, root: Path, tmp_dir: Path) -> FileCheck:
    """Every whole-file check of one planned file (encoding, emptiness, header); raise
    ``IngestError`` with the one-line message. Used by the build and by ``mappings check``."""
    rel, mapping_rel = _relative(path, root), _relative(mapping.path, root)
    check = checked_file(path, rel, spec, mapping_rel, tmp_dir)
    problem = header_problem(check.header, spec, KINDS[spec.kind], rel, mapping_rel)
    if problem:
        if check.utf8_path is not None:
            check.utf8_path.unlink(missing_ok=True)
        raise IngestError(problem)
    return check


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _select_list(header: tuple[str, ...], spec: FileSpec, import_kind: ImportKind) -> list[str]:
    """``raw.<kind>`` columns from the positional columns ``c0…cN`` of the file."""
    index = {h.lower(): i for i, h in enumerate(header)}
    used: set[int] = set()
    exprs = []
    for col in import_kind.column_names:
        if col in spec.constants:
            exprs.append(f"{_sql_literal(spec.constants[col])} as {col}")
            continue
        i = index.get(spec.header_for(col).lower())
        if i is None:
            exprs.append(f"null::varchar as {col}")
            continue
        used.add(i)
        expr = f"c{i}"
        value_map = spec.values.get(col)
        if value_map:
            whens = " ".join(
                f"when {_sql_literal(k)} then {_sql_literal(v)}" for k, v in value_map.items()
            )
            expr = f"case trim(c{i}) {whens} else c{i} end"
        exprs.append(f"{expr} as {col}")
    extra = [i for i in range(len(header)) if i not in used]
    if import_kind.keeps_extra_columns and extra:
        pairs = ", ".join(f"{_sql_literal(header[i])}, c{i}" for i in extra)
        exprs.append(f"json_object({pairs})::varchar as extra")
    else:
        exprs.append("null::varchar as extra")
    return exprs


@dataclass(frozen=True)
class Pending:
    """A checked file waiting to be loaded."""

    file_id: int
    spec: FileSpec
    read_path: Path
    check: FileCheck


def loaded_group(con, group: list[Pending]) -> dict[int, tuple[int, int, int | None]]:
    """Insert the records of files sharing one mapping entry and one header into
    ``raw.<kind>_records`` with a single ``read_csv`` call; return ``{file_id: (records, reader
    rejects, row base)}``.

    The accepted records go straight from the reader into the table (one parallel pass, no copy)
    in reading order: the insert keeps the files' order and each file's record order
    (``preserve_insertion_order``), so the table's ``rowid`` numbers them: the ``k``-th accepted
    row of a file (0-based) is record ``k + 1``, its rowid minus the file's row base (its first
    rowid − 1), which the view ``raw.<kind>`` computes (``warehouse.raw_view_ddl``) and
    ``raw.files.row_base`` keeps. Only in a file the reader rejected records of is every row
    numbered here: accepted row ``k`` is record ``k + 1 + (rejected records before it)``, and
    rejected records keep the line number the reader gives them. (``row_number() over ()`` in
    the insert would number them too, but it runs on one thread and buffers the whole read: at
    28 million records it doubled the load.)
    """
    first = group[0]
    spec, header = first.spec, first.check.header
    import_kind = KINDS[spec.kind]
    table = f"raw.{spec.kind}_records"
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(header))) + "}"
    paths = "[" + ", ".join(_sql_literal(p.read_path.as_posix()) for p in group) + "]"
    file_ids = "[" + ", ".join(str(p.file_id) for p in group) + "]"
    con.execute("create or replace temp table _paths (path varchar, file_id integer)")
    con.executemany(
        "insert into _paths values (?, ?)", [[p.read_path.as_posix(), p.file_id] for p in group]
    )
    select = ",\n".join(_select_list(header, spec, import_kind))
    names = ", ".join(import_kind.column_names)
    con.execute(
        f"""
        insert into {table} (file_id, {names}, extra, reader_error, raw_line)
        select {file_ids}[file_index::bigint + 1], {select}, null, null
        from read_csv(
          {paths}, header = true, all_varchar = true,
          delim = {_sql_literal(spec.dialect.delimiter)}, quote = '"', escape = '"',
          columns = {columns}, auto_detect = false, strict_mode = true, union_by_name = false,
          ignore_errors = true, store_rejects = true,
          rejects_table = '_rejects', rejects_scan = '_scans'
        )
        """
    )
    con.execute(
        """
        create or replace temp table _rejected as
        select p.file_id, e.line - 1 as source_row,
               lower(replace(arg_min(e.error_type, e.error_type)::varchar, ' ', '_')) as reason,
               arg_min(e.csv_line, e.error_type) as raw_line
        from _rejects e
        join _scans s using (scan_id, file_id)
        join _paths p on p.path = s.file_path
        group by all
        """
    )
    # per file: the row id before its first accepted row, and its accepted rows
    con.execute(
        f"""
        create or replace temp table _accepted as
        select file_id, min(rowid) - 1 as base, count(*) as n,
               max(rowid) - min(rowid) + 1 as span
        from {table}
        where file_id in (select file_id from _paths)
        group by file_id
        """
    )
    scattered = con.execute("select count(*) from _accepted where span != n").fetchall()[0][0]
    if scattered:  # the reader did not keep each file's records together: never seen
        raise RuntimeError(f"{table}: the CSV reader interleaved the records of several files")
    if con.execute("select count(*) from _rejected").fetchall()[0][0]:
        # the files with rejected records: every row numbered (k + 1), then shifted past them
        con.execute(
            f"""
            update {table} as t set source_row = t.rowid - a.base
            from _accepted as a
            where t.file_id = a.file_id and a.file_id in (select file_id from _rejected)
            """
        )
        con.execute(
            f"""
            update {table} as t set source_row = s.new_row
            from (
              with ranked as (
                select file_id, source_row,
                       row_number() over (partition by file_id order by source_row) as i
                from _rejected
              ),
              offsets as (
                select file_id, source_row - i as from_k, max(i) as add_rows
                from ranked group by all
              )
              select l.file_id, l.source_row as old_row, l.source_row + o.add_rows as new_row
              from {table} as l
              asof join offsets as o on l.file_id = o.file_id and l.source_row - 1 >= o.from_k
              where l.file_id in (select file_id from _rejected)
            ) as s
            where t.file_id = s.file_id and t.source_row = s.old_row
            """
        )
    con.execute(
        f"""
        insert into {table} (file_id, source_row, reader_error, raw_line)
        select file_id, source_row, reason, raw_line from _rejected
        """
    )
    counts = con.execute(
        """
        with rejected as (select file_id, count(*) as n from _rejected group by 1)
        select p.file_id, coalesce(a.n, 0) + coalesce(r.n, 0), coalesce(r.n, 0), a.base
        from _paths p
        left join _accepted a using (file_id)
        left join rejected r using (file_id)
        """
    ).fetchall()
    for name in ("_rejects", "_scans", "_rejected", "_accepted", "_paths"):
        con.execute(f"drop table if exists {name}")
    return {file_id: (records, rejects, base) for file_id, records, rejects, base in counts}


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def mappings(raw_dir: Path, settings: Settings) -> tuple[list[Mapping], list[str]]:
    """Every source's mapping, and the problems found (one line each)."""
    found, problems = [], []
    for folder in source_dirs(raw_dir):
        try:
            found.append(load_mapping(folder / "mapping.toml", settings))
        except MappingError as exc:
            problems += str(exc).splitlines()
    return found, problems


def planned_files(
    raw_dir: Path, root: Path, settings: Settings
) -> tuple[list[tuple[Mapping, FileSpec, Path, date]], list[str]]:
    """Every data file under ``raw/`` with its mapping entry and received date, in load order,
    and the problems found (unmatched files, unreadable mappings, undated files)."""
    found, problems = mappings(raw_dir, settings)
    planned = []
    for mapping in found:
        mapping_rel = _relative(mapping.path, root)
        for path in mapping.data_files():
            rel = _relative(path, root)
            try:
                spec = mapping.spec_for(path)
                if spec is None:
                    globs = ", ".join(repr(s.glob) for s in mapping.files)
                    problems.append(
                        f"{rel}: matches no [[files]] glob ({globs}) in {mapping_rel}; add an "
                        "entry for it or move it out of raw/"
                    )
                    continue
                planned.append((mapping, spec, path, spec.received_date(path)))
            except MappingError as exc:
                problems.append(str(exc))
    return planned, problems


def _file_row(
    file_id: int, mapping: Mapping, spec: FileSpec, rel: str, check: FileCheck, received: date
) -> dict:
    d = spec.dialect
    return {
        "file_id": file_id,
        "source": mapping.source,
        "kind": spec.kind,
        "source_file": rel,
        "file_sha256": check.sha256,
        "received_date": received,
        "rows": 0,
        "delimiter": d.delimiter,
        "encoding": d.encoding,
        "decimal_mark": d.decimal_mark,
        "thousands_sep": d.thousands_sep,
        "date_format": d.date_format,
        "datetime_format": d.datetime_format,
        "timezone": d.timezone,
        "phone_region": d.phone_region,
        "currency": d.currency,
    }


def insert_rows(con, table: str, rows: list[dict]) -> None:
    """Insert dictionaries in one statement (``executemany`` is slow in DuckDB)."""
    if not rows:
        return
    frame = pl.DataFrame(rows, infer_schema_length=None)
    con.register("_rows", frame)
    try:
        con.execute(f"insert into {table} by name select * from _rows")
    finally:
        con.unregister("_rows")


def _checks(
    planned: list[tuple[Mapping, FileSpec, Path, date]],
    wanted: set[str] | None,
    root: Path,
    tmp_dir: Path,
) -> Iterator[FileCheck | IngestError | None]:
    """``checked`` of every planned file (``None`` for a kind not wanted), in plan order, as
    they finish; two files at a time, since reading and hashing release the GIL."""

    def one(item: tuple[Mapping, FileSpec, Path, date]) -> FileCheck | IngestError | None:
        mapping, spec, path, _ = item
        if wanted is not None and spec.kind not in wanted:
            return None
        try:
            return checked(path, spec, mapping, root, tmp_dir)
        except IngestError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=CHECK_THREADS) as pool:
        yield from pool.map(one, planned)


def ingested(
    con,
    root: Path,
    settings: Settings,
    tmp_dir: Path,
    on_file: Callable[[LoadedFile, int, int], None] | None = None,
    only: Iterable[str] | None = None,
) -> IngestReport:
    """Load every file under ``<root>/raw`` into the ``raw`` schema of ``con``.

    Every file is checked first (whole-file problems are collected over all files and raised
    together as one ``IngestError``, one line per file, before anything is loaded); a file whose
    bytes were already seen (same sha256 under another name) is skipped and reported as
    ``duplicate_file``; files sharing a mapping entry and a header are then read together.
    """
    raw_dir = root / "raw"
    planned, problems = planned_files(raw_dir, root, settings)
    wanted = set(only) if only else None
    report = IngestReport()
    seen: dict[str, str] = {}
    pending: list[Pending] = []
    entries: dict[int, LoadedFile] = {}
    file_rows: list[dict] = []
    tmp_dir.mkdir(parents=True, exist_ok=True)
    total = len(planned)
    checks = _checks(planned, wanted, root, tmp_dir)
    for n, ((mapping, spec, path, received), check) in enumerate(
        zip(planned, checks, strict=True), start=1
    ):
        if wanted is not None and spec.kind not in wanted:
            continue
        rel = _relative(path, root)
        if isinstance(check, IngestError):
            problems.append(str(check))
            continue
        if check.sha256 in seen:
            entry = LoadedFile(
                mapping.source,
                spec.kind,
                rel,
                check.sha256,
                check.bytes,
                received,
                "duplicate_file",
                message=f"same bytes as {seen[check.sha256]}",
            )
            report.files.append(entry)
            if check.utf8_path is not None:
                check.utf8_path.unlink(missing_ok=True)
            if on_file:
                on_file(entry, n, total)
            continue
        seen[check.sha256] = rel
        file_id = len(pending) + 1
        pending.append(Pending(file_id, spec, check.utf8_path or path, check))
        file_rows.append(_file_row(file_id, mapping, spec, rel, check, received))
        entries[file_id] = LoadedFile(
            mapping.source, spec.kind, rel, check.sha256, check.bytes, received, "loaded", file_id
        )
        report.files.append(entries[file_id])
        if on_file:
            on_file(entries[file_id], n, total)
    if problems:
        for item in pending:
            if item.check.utf8_path is not None:
                item.check.utf8_path.unlink(missing_ok=True)
        raise IngestError("\n".join(problems))
    groups: dict[tuple, list[Pending]] = {}
    row_bases: dict[int, int | None] = {}
    for item in pending:
        key = (str(item.spec), tuple(h.lower() for h in item.check.header))
        groups.setdefault(key, []).append(item)
    for group in groups.values():
        for file_id, (records, rejects, base) in loaded_group(con, group).items():
            entries[file_id].raw_rows, entries[file_id].reader_rejects = records, rejects
            row_bases[file_id] = base
        for item in group:
            if item.check.utf8_path is not None:
                item.check.utf8_path.unlink(missing_ok=True)
    for row in file_rows:
        row["rows"] = entries[row["file_id"]].raw_rows
        row["row_base"] = row_bases.get(row["file_id"])
    insert_rows(con, "raw.files", file_rows)
    insert_rows(
        con,
        "raw.value_maps",
        [
            {"file_id": r["file_id"], "column_name": c, "from_value": k, "to_value": v}
            for r, item in zip(file_rows, pending, strict=True)
            for c, value_map in item.spec.values.items()
            for k, v in value_map.items()
        ],
    )
    return report
