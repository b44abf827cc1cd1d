"""``relance bench``: measure every stage at N cases (time, peak RSS, rows/s, bytes) into JSON.

The bench home is ``<home>/bench/<N>/``, a full product home. Until the simulator exists, its
portfolio is the hand-written sample (``pipelines.sample``) **replicated** to N cases:

* every sample file is written ``k = ceil(N / cases in the sample)`` times over (one header, then
  copy 1, copy 2, …), keeping its name, header, encoding, delimiter, line endings and mapping;
* in copy ``c`` every value of every identifier column gets the suffix ``-<c>``, so natural keys
  stay unique and links stay valid (payment → case, reversal → payment, remittance → payment,
  promise → action, …). Identifier columns are the kinds' ``ref`` columns, found in the header
  through the mapping's ``[files.columns]``, except the few that name a category rather than an
  entity (``IDENTITY_EXCEPTIONS``: ``creditor_ref`` stays one of the few creditors, postcodes stay
  postcodes) and except mapping constants (not in the file). Empty values and values written in
  scientific notation are left alone, so rows quarantined for them still are;
* the rewrite is textual and byte-preserving: each sample record is split into field spans once
  (RFC 4180 quoting, the file's delimiter) and the suffix is inserted inside the field (before a
  closing quote, before trailing spaces). A record the scanner cannot split into the header's
  number of fields (a deliberately malformed line) is copied verbatim — it is quarantined as
  ``malformed_row`` whatever its content, so the quarantine grows in proportion. A quote left
  open at the end of a sample file is refused: each copy would run into the next;
* files are streamed: one copy of one sample file (a few kB) is in memory at a time, so memory is
  flat up to 1,000,000 cases.

Each stage runs as its own process (``python -m pipelines.bench_stage <stage> …``, stages listed
in ``pipelines.bench_stage.STAGES``) so its peak memory is its own. Per stage the bench records
the wall time around the process (``time.perf_counter``), the work time measured inside it (the
wall time minus interpreter start-up and imports), and two peak-RSS figures:

``peak_rss_mb``       the process's own high-water mark (``VmHWM`` of ``/proc/self/status``,
                      reported by the stage process as it ends);
``rusage_maxrss_mb``  ``ru_maxrss`` of ``os.wait4``. Linux carries the spawning process's
                      high-water mark into the child's at ``exec``, so this is
                      ``max(own peak, peak of the relance process)`` — an upper bound, equal to
                      the own peak once a stage is bigger than the command line itself.

and ``cpu_seconds``, the stage process's user + system CPU time (``os.wait4``), which other jobs
on a shared machine skew far less than the wall time.

The **read floor** is what DuckDB needs to read the same raw CSV files as text: a fresh on-disk
DuckDB file with the build's ``threads`` and ``memory_limit``, one ``create table … as select *
from read_csv(path, all_varchar = true, delim = …, header = true, ignore_errors = true)`` per file.
``ignore_errors`` lets it skip the sample's malformed lines instead of failing. DuckDB cannot
read cp1252 or latin-1, so those files are transcoded to UTF-8 copies *before* the stage process
starts, outside its timed region (``prepare_seconds`` reports it); the build, by contrast, does
that transcoding (and hashing, lineage, typing, quarantine, core and marts) inside its time.
``build_over_read_floor`` is ``build.wall_seconds / read_floor.wall_seconds``.

The **layer floor** (stage ``layer_writes``, after ``build``) is what the build must spend however
its SQL is written: the read floor plus one write of each layer stored after raw. The stage copies
every table of the current build as it is (same columns, same storage choices, no computation)
into a fresh DuckDB file, timing ``insert … select`` and checkpoint per table and per layer.
``layer_floor_over_read_floor`` is ``(read_floor.wall_seconds +
layer_writes.write_seconds_after_raw) / read_floor.wall_seconds``: the part of
``build_over_read_floor`` that rewriting the SQL cannot remove (storing less can).
"""

from __future__ import annotations

import codecs
import contextlib
import json
import math
import os
import platform
import re
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pipelines.settings import Settings

# ``ref`` columns that name a category shared by many rows rather than one entity: kept as is.
IDENTITY_EXCEPTIONS = frozenset(
    {"creditor_ref", "postcode", "policy_id", "agent_ref", "label", "arm", "experiment_ref"}
)
# as ``is_scientific`` in sql/macros.sql: 1.00E+05, 6,12E+08, 1E+11 (not "2024E001", a ref)
SCIENTIFIC = re.compile(r"[-+]?[0-9]+(?:[.,][0-9]*[eE][-+]?|[eE][-+])[0-9]+")
UTF8_NAMES = {"utf-8", "utf-8-sig"}
MARKER = "bench-raw.json"
REPLICATION_KEYS = ("cases_generated", "sample_cases", "copies")
SCRATCH = ".bench"
WRITE_BUFFER = 1 << 20


class BenchError(ValueError):
    """A bench cannot run as asked (unknown stage, bad size, a stage failed); one line each."""


# -- the stage list ---------------------------------------------------------------------------


def stage_names() -> tuple[str, ...]:
    """Every stage, in run order (``pipelines.bench_stage.STAGES``)."""
    from pipelines.bench_stage import STAGES

    return tuple(STAGES)


def selected_stages(text: str | None) -> list[str]:
    """The stages named by ``--stages`` (comma-separated), in run order; when ``None``, all
    but ``simulate`` (the portfolio is then the replicated sample).

    Raises ``BenchError`` naming an unknown stage and the known ones.
    """
    known = stage_names()
    if text is None or not text.strip():
        return [name for name in known if name != "simulate"]
    wanted = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise BenchError(
            f"--stages: unknown stage(s) {', '.join(unknown)}; known stages: {', '.join(known)}"
        )
    return [name for name in known if name in wanted]


def bench_home(settings: Settings, cases: int) -> Path:
    """``<home>/bench/<cases>/``: the bench's own product home."""
    return settings.home / "bench" / str(cases)


# -- replication: the sample written N times over ---------------------------------------------


@dataclass(frozen=True)
class Record:
    """One CSV record of a decoded file: its text span and its fields' spans (None when the
    record cannot be split cleanly)."""

    start: int
    end: int
    fields: tuple[tuple[int, int], ...] | None


def records(text: str, delimiter: str, start: int = 0) -> Iterator[Record]:
    """Split ``text`` into records (RFC 4180: ``"`` quotes a field that starts with it, ``""``
    escapes a quote inside one; a record ends at a newline outside quotes).

    Field spans exclude the delimiter and the line ending. A record whose quoting is broken (a
    closing quote followed by text, a quote left open at the end of the file) has ``fields``
    ``None``.
    """
    n = len(text)
    pos = start
    while pos < n:
        record_start = pos
        spans: list[tuple[int, int]] = []
        broken = False
        while True:
            field_start = pos
            if pos < n and text[pos] == '"':
                pos += 1
                while True:
                    quote = text.find('"', pos)
                    if quote < 0:
                        pos, broken = n, True
                        break
                    if quote + 1 < n and text[quote + 1] == '"':
                        pos = quote + 2
                        continue
                    pos = quote + 1
                    break
                if not broken and pos < n and text[pos] not in (delimiter, "\n", "\r"):
                    broken = True
                    newline = text.find("\n", pos)
                    pos = n if newline < 0 else newline
                    spans.append((field_start, pos))
                    break
            else:
                while pos < n and text[pos] not in (delimiter, "\n"):
                    pos += 1
            field_end = pos
            if pos < n and text[pos] == delimiter:
                spans.append((field_start, field_end))
                pos += 1
                continue
            if field_end > field_start and text[field_end - 1] == "\r":
                field_end -= 1
            elif pos < n and text[pos] == "\r":  # a quoted field closed just before "\r\n"
                pos += 1
            spans.append((field_start, field_end))
            break
        if pos < n and text[pos] == "\n":
            pos += 1
        yield Record(record_start, pos, None if broken else tuple(spans))


def record_open(text: str, record: Record) -> bool:
    """Whether a record ends inside a quoted field (an odd number of quotes in it)."""
    return text.count('"', record.start, record.end) % 2 == 1


def field_value(text: str, span: tuple[int, int]) -> str:
    """The value of a field span (quotes removed, ``""`` unescaped)."""
    raw = text[span[0] : span[1]]
    if len(raw) >= 2 and raw[0] == '"' and raw[-1] == '"':
        return raw[1:-1].replace('""', '"')
    return raw


def suffix_position(text: str, span: tuple[int, int]) -> int | None:
    """Where ``-<copy>`` goes in a field: after its last non-space character (inside the quotes
    of a quoted field); ``None`` for an empty value or one in scientific notation."""
    start, end = span
    if end - start >= 2 and text[start] == '"' and text[end - 1] == '"':
        start, end = start + 1, end - 1
    value = text[start:end]
    if not value.strip() or SCIENTIFIC.fullmatch(value.strip()):
        return None
    return start + len(value.rstrip())


def identifier_columns(spec, header: list[str]) -> dict[str, int]:
    """``{canonical column: index in the header}`` of the columns whose values get a suffix."""
    from pipelines.kinds import KINDS

    index = {name.strip().lower(): i for i, name in enumerate(header)}
    found = {}
    for column in KINDS[spec.kind].columns:
        if column.type != "ref" or column.name in IDENTITY_EXCEPTIONS:
            continue
        if column.name in spec.constants:
            continue
        i = index.get(spec.header_for(column.name).strip().lower())
        if i is not None:
            found[column.name] = i
    return found


@dataclass
class SampleFile:
    """One sample data file, parsed once into what replication needs."""

    source: str
    name: str
    kind: str
    codec: str  # Python codec used for the text between the BOM and the end
    errors: str
    bom: bytes
    header: str  # the header record, line ending included
    pieces: list[str]  # the body split where the copy suffix goes
    newline: str  # added after a copy whose body does not end with one
    rows: int  # non-blank records in the body
    suffixed_columns: tuple[str, ...]
    case_keys: set[tuple[str, str]] = field(default_factory=set)  # placements only

    def body(self, copy: int) -> str:
        return f"-{copy}".join(self.pieces)


def _decoded(data: bytes, encoding: str) -> tuple[str, str, str, bytes]:
    """(text, codec, error handler, BOM) so that BOM + text.encode(codec, errors) == data."""
    if encoding in UTF8_NAMES:
        bom = codecs.BOM_UTF8 if data.startswith(codecs.BOM_UTF8) else b""
        return data[len(bom) :].decode("utf-8", "surrogateescape"), "utf-8", "surrogateescape", bom
    if encoding == "utf-16":
        return data.decode("utf-16"), "utf-16", "strict", b""
    return data.decode(encoding, "surrogateescape"), encoding, "surrogateescape", b""


def parsed_sample_file(mapping, spec, path: Path) -> SampleFile:
    """Read a sample file in its mapping's encoding and delimiter and find, once, every place a
    copy suffix goes."""
    text, codec, errors, bom = _decoded(path.read_bytes(), spec.dialect.encoding)
    delimiter = spec.dialect.delimiter
    iterator = records(text, delimiter)
    head = next(iterator, None)
    if head is None or head.fields is None:
        raise BenchError(f"{path}: cannot read the header; fix the sample file")
    header = [field_value(text, span).strip() for span in head.fields]
    columns = identifier_columns(spec, header)
    wanted = sorted(columns.values())
    case_at = columns.get("case_ref")
    creditor_at = None
    if "creditor_ref" not in spec.constants:
        lowered = [h.lower() for h in header]
        name = spec.header_for("creditor_ref").lower()
        creditor_at = lowered.index(name) if name in lowered else None
    creditor_constant = spec.constants.get("creditor_ref", "")
    cut = head.end
    pieces: list[str] = []
    rows = 0
    case_keys: set[tuple[str, str]] = set()
    for record in records(text, delimiter, head.end):
        if not text[record.start : record.end].strip():
            continue
        rows += 1
        if record.fields is None and record.end == len(text) and record_open(text, record):
            line = text.count("\n", 0, record.start) + 1
            raise BenchError(
                f"{path}: a quote opened on line {line} is never closed, so each copy would run "
                "into the next; close it in the sample file"
            )
        if record.fields is None or len(record.fields) != len(header):
            continue  # malformed on purpose: copied verbatim, quarantined as malformed_row
        for i in wanted:
            at = suffix_position(text, record.fields[i])
            if at is not None:
                pieces.append(text[cut:at])
                cut = at
        if spec.kind == "placements" and case_at is not None:
            case = field_value(text, record.fields[case_at]).strip()
            creditor = (
                field_value(text, record.fields[creditor_at]).strip()
                if creditor_at is not None
                else creditor_constant
            )
            if case and not SCIENTIFIC.fullmatch(case):
                case_keys.add((creditor, case))
    pieces.append(text[cut:])
    newline = "\r\n" if text[: head.end].endswith("\r\n") else "\n"
    return SampleFile(
        source=mapping.source,
        name=path.name,
        kind=spec.kind,
        codec=codec,
        errors=errors,
        bom=bom,
        header=text[: head.end],
        pieces=pieces,
        newline=newline,
        rows=rows,
        suffixed_columns=tuple(sorted(columns, key=columns.get)),
        case_keys=case_keys,
    )


def write_copies(sample: SampleFile, dest: Path, copies: int) -> int:
    """Write the header once, then ``copies`` suffixed copies of the body; return bytes written.

    Streams: one copy is encoded and written at a time.
    """
    encoder = codecs.getincrementalencoder(sample.codec)(sample.errors)
    body_ends_line = not sample.pieces[-1] or sample.pieces[-1].endswith("\n")
    has_body = sample.rows > 0
    written = 0
    with open(dest, "wb", buffering=WRITE_BUFFER) as out:
        chunk = sample.bom + encoder.encode(sample.header)
        out.write(chunk)
        written += len(chunk)
        for copy in range(1, copies + 1 if has_body else 1):
            text = sample.body(copy)
            if not body_ends_line and copy < copies:
                text += sample.newline
            chunk = encoder.encode(text)
            out.write(chunk)
            written += len(chunk)
        chunk = encoder.encode("", final=True)
        out.write(chunk)
        written += len(chunk)
    return written


@dataclass
class Replication:
    """What ``replicated`` wrote."""

    sample_cases: int
    copies: int
    cases: int
    raw_rows: int
    raw_bytes: int
    files: list[dict] = field(default_factory=list)


def sample_files(sample_raw: Path, settings: Settings) -> list[tuple[object, object, Path]]:
    """Every data file of a sample ``raw/`` folder with its mapping and file entry; raise
    ``BenchError`` when the sample itself has problems."""
    from pipelines.ingest import planned_files

    planned, problems = planned_files(sample_raw, sample_raw.parent, settings)
    if problems:
        raise BenchError("the sample portfolio has problems: " + "; ".join(problems))
    if not planned:
        raise BenchError(f"{sample_raw}: the sample portfolio has no data files")
    return [(mapping, spec, path) for mapping, spec, path, _ in planned]


def replicated(sample_raw: Path, raw_dir: Path, cases: int, settings: Settings) -> Replication:
    """Write the sample under ``sample_raw`` into ``raw_dir`` replicated to at least ``cases``
    cases (``ceil(cases / sample cases)`` copies; module docstring)."""
    if cases < 1:
        raise BenchError(f"--cases {cases}: give a positive number of cases")
    planned = sample_files(sample_raw, settings)
    parsed = [parsed_sample_file(mapping, spec, path) for mapping, spec, path in planned]
    case_keys = set().union(*(p.case_keys for p in parsed))
    if not case_keys:
        raise BenchError(f"{sample_raw}: the sample portfolio has no placements with cases")
    copies = math.ceil(cases / len(case_keys))
    data_paths = {path for _, _, path in planned}
    result = Replication(len(case_keys), copies, copies * len(case_keys), 0, 0)
    for mapping in {m.path: m for m, _, _ in planned}.values():
        dest_dir = raw_dir / mapping.path.parent.name
        dest_dir.mkdir(parents=True, exist_ok=True)
        for other in mapping.path.parent.iterdir():  # mapping.toml, READMEs
            if other.is_file() and other not in data_paths:
                shutil.copy2(other, dest_dir / other.name)
    for (mapping, _, _), sample in zip(planned, parsed, strict=True):
        dest = raw_dir / mapping.path.parent.name / sample.name
        size = write_copies(sample, dest, copies)
        rows = sample.rows * copies
        result.raw_rows += rows
        result.raw_bytes += size
        result.files.append(
            {
                "file": f"{dest.parent.name}/{dest.name}",
                "kind": sample.kind,
                "rows": rows,
                "bytes": size,
                "suffixed_columns": list(sample.suffixed_columns),
            }
        )
    return result


# -- the read floor's inputs -------------------------------------------------------------------


def utf8_copy(path: Path, encoding: str, dest: Path) -> None:
    """Stream ``path`` from ``encoding`` into a UTF-8 file ``dest`` (1 MiB at a time)."""
    decoder = codecs.getincrementaldecoder(encoding)("replace")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "rb") as src, open(dest, "w", encoding="utf-8", newline="") as out:
        while chunk := src.read(WRITE_BUFFER):
            out.write(decoder.decode(chunk))
        out.write(decoder.decode(b"", final=True))


def read_floor_inputs(home_root: Path, settings: Settings) -> dict:
    """The raw files as DuckDB can read them: UTF-8 files as they are, others transcoded into
    ``<home>/.bench/utf8/``. Returns ``{"files": [{path, delimiter}], "transcoded": n}``."""
    from pipelines.ingest import planned_files

    planned, problems = planned_files(home_root / "raw", home_root, settings)
    if problems:
        raise BenchError("raw files have problems: " + "; ".join(problems))
    target = home_root / SCRATCH / "utf8"
    shutil.rmtree(target, ignore_errors=True)
    files, transcoded = [], 0
    for mapping, spec, path, _ in planned:
        read_path = path
        if spec.dialect.encoding not in UTF8_NAMES:
            read_path = target / mapping.path.parent.name / path.name
            utf8_copy(path, spec.dialect.encoding, read_path)
            transcoded += 1
        files.append({"path": str(read_path), "delimiter": spec.dialect.delimiter})
    return {"files": files, "transcoded": transcoded}


# -- running stages in their own processes ------------------------------------------------------


def _last_line(path: Path) -> str:
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1].strip() if lines else ""


def run_stage(
    stage: str, home_root: Path, settings_file: Path, cases: int, extra: Path | None = None
) -> dict:
    """Run one stage as ``python -m pipelines.bench_stage`` and measure it; return its figures.

    Raises ``BenchError`` with the stage's last error line when it fails.
    """
    scratch = home_root / SCRATCH
    scratch.mkdir(parents=True, exist_ok=True)
    result_file = scratch / f"{stage}.result.json"
    err_file = scratch / f"{stage}.stderr.txt"
    result_file.unlink(missing_ok=True)
    argv = [
        sys.executable,
        "-m",
        "pipelines.bench_stage",
        stage,
        str(home_root),
        "--settings",
        str(settings_file),
        "--cases",
        str(cases),
        "--result",
        str(result_file),
    ]
    if extra is not None:
        argv += ["--inputs", str(extra)]
    package_root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, str(err_file), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
    ]
    started = time.perf_counter()
    pid = os.posix_spawn(sys.executable, argv, env, file_actions=actions)
    try:
        _, status, usage = os.wait4(pid, 0)
    except BaseException:  # interrupted: stop the stage we started, then give up
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, signal.SIGTERM)
            os.wait4(pid, 0)
        raise
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        how = f"killed by signal {-code}" if code < 0 else f"exit {code}"
        if code == -signal.SIGKILL:
            how += " (out of memory?)"
        reason = _last_line(err_file) or "no message"
        raise BenchError(f"stage {stage} failed ({how}): {reason} — see {err_file}")
    figures = json.loads(result_file.read_text(encoding="utf-8"))
    rusage_mb = round(usage.ru_maxrss / 1024, 1)
    rows = figures.pop("rows", None)
    out = {
        "wall_seconds": round(wall, 3),
        "work_seconds": figures.pop("work_seconds", None),
        "peak_rss_mb": figures.pop("peak_rss_mb", None) or rusage_mb,
        "rusage_maxrss_mb": rusage_mb,
        # user + system CPU time of the stage process and its threads: less sensitive than the
        # wall time to other jobs on the machine (compare stages by both)
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3),
        "rows": rows,
        "rows_per_second": round(rows / wall) if rows and wall > 0 else None,
    }
    out.update(figures)
    return out


# -- the bench ----------------------------------------------------------------------------------


def machine() -> dict:
    """Cores, RAM, Python and DuckDB versions of this machine (no DuckDB import needed)."""
    from importlib.metadata import version

    import psutil

    return {
        "cores": os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "duckdb": version("duckdb"),
        "platform": platform.platform(),
    }


def _load() -> list[float] | None:
    """1, 5 and 15-minute load averages (other work on the machine skews the figures)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def reusable_raw(home_root: Path, cases: int) -> dict | None:
    """The generate figures of a complete earlier replication at ``cases``, else ``None``."""
    try:
        marker = json.loads((home_root / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if marker.get("cases_requested") != cases or not (home_root / "raw").is_dir():
        return None
    return marker


def _fresh_home(home_root: Path) -> None:
    if home_root.exists():
        if home_root.parent.name != "bench":  # never delete anything but a bench home
            raise BenchError(f"{home_root}: not a bench home; refusing to delete it")
        shutil.rmtree(home_root)
    home_root.mkdir(parents=True)


def _stage_line(name: str, figures: dict) -> str:
    if figures.get("reused"):
        return f"{name}: reused raw files from an earlier run ({figures.get('bytes', 0):,} bytes)"
    parts = [f"{figures['wall_seconds']:.1f} s", f"peak {figures['peak_rss_mb']:,.0f} MB"]
    if figures.get("rows"):
        parts.append(f"{figures['rows']:,} rows ({figures['rows_per_second'] or 0:,}/s)")
    return f"{name}: " + ", ".join(parts)


def figures_table(result: dict):
    """A rich table of the stage figures."""
    from rich.table import Table

    ratio = result.get("build_over_read_floor")
    title = f"bench at {result['cases']:,} cases ({result['cases_generated']:,} generated)"
    caption = (
        f"{result['machine']['cores']} cores, {result['machine']['ram_gb']} GB RAM · DuckDB "
        f"{result['machine']['duckdb']}, threads {result['threads']}, memory_limit "
        f"{result['memory_limit']}"
        + (f" · build / read floor = {ratio:.2f}×" if ratio is not None else "")
    )
    table = Table(title=title, caption=caption, show_header=True)
    for name in ("stage", "wall s", "work s", "peak MB", "rows", "rows/s", "disk MB"):
        table.add_column(name, justify="left" if name == "stage" else "right", no_wrap=True)

    def num(value, fmt="{:,}"):
        return "" if value is None else fmt.format(value)

    for name, f in result["stages"].items():
        table.add_row(
            name + (" (reused)" if f.get("reused") else ""),
            num(f.get("wall_seconds"), "{:,.2f}"),
            num(f.get("work_seconds"), "{:,.2f}"),
            num(f.get("peak_rss_mb"), "{:,.0f}"),
            num(f.get("rows")),
            num(f.get("rows_per_second")),
            num(f["bytes"] / 2**20 if f.get("bytes") is not None else None, "{:,.1f}"),
        )
    return table


def _measured(
    name: str, home_root: Path, stage_settings: Settings, settings_file: Path, cases: int, progress
) -> dict:
    """Prepare (untimed) and run one stage with a spinner; return its figures."""
    task = progress.add_task(name, total=None)
    try:
        inputs, prepare_seconds = None, None
        if name == "read_floor":
            progress.update(task, description="read_floor: transcoding (untimed)")
            started = time.perf_counter()
            prepared = read_floor_inputs(home_root, stage_settings)
            prepare_seconds = round(time.perf_counter() - started, 3)
            inputs = home_root / SCRATCH / "read_floor_inputs.json"
            inputs.write_text(json.dumps(prepared), encoding="utf-8")
            progress.update(task, description=name)
        figures = run_stage(name, home_root, settings_file, cases, inputs)
        if prepare_seconds is not None:
            figures["prepare_seconds"] = prepare_seconds
        return figures
    finally:
        progress.remove_task(task)


def benchmarked(
    settings: Settings,
    cases: int,
    out_file: Path,
    stages: str | None,
    reuse_home: bool,
    console=None,
) -> dict:
    """Run the selected stages at ``cases`` cases in the bench home; write and return the figures.

    Without ``reuse_home`` (or when no complete replication at this size exists) the bench home
    is recreated and the raw files generated first — whether or not ``generate`` is among the
    selected stages, since every other stage reads them.
    """
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    names = selected_stages(stages)
    if cases < 1:
        raise BenchError(f"--cases {cases}: give a positive number of cases")
    console = console or Console(quiet=True)
    home_root = bench_home(settings, cases).resolve()
    stage_settings = settings.with_home(home_root)
    simulating = "simulate" in names
    if simulating and "generate" in names:
        raise BenchError("--stages: choose generate (replicated sample) or simulate, not both")
    reused = reusable_raw(home_root, cases) if reuse_home and not simulating else None
    # a simulated home is reused as simulated: its raw files are never replaced by the sample
    reused_world = reused is not None and reused.get("portfolio") == "simulated"
    if reused is None:
        _fresh_home(home_root)
        if not simulating and "generate" not in names:
            names.insert(0, "generate")
    elif reused_world:
        names = [name for name in names if name != "generate"]
        names.insert(0, "simulate")
    scratch = home_root / SCRATCH
    scratch.mkdir(parents=True, exist_ok=True)
    settings_file = scratch / "settings.json"
    settings_file.write_text(
        json.dumps({"data": stage_settings.data, "source": str(stage_settings.source)}),
        encoding="utf-8",
    )
    result: dict = {
        "cases": cases,
        **{k: (reused or {}).get(k) for k in REPLICATION_KEYS},
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "threads": settings.get("build.threads"),
        "memory_limit": settings.get("build.memory_limit"),
        "home": str(home_root),
        "reused_raw": reused is not None,
        "load_average": {"start": _load()},
        "stages": {},
        "build_over_read_floor": None,
    }
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<12}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    with progress:
        for name in names:
            if name == "generate" and reused is not None:
                figures = {**reused["generate"], "reused": True}
            elif name == "simulate" and reused_world:
                figures = {**reused["simulate"], "reused": True}
            else:
                figures = _measured(name, home_root, stage_settings, settings_file, cases, progress)
            if name == "simulate":
                result["cases_generated"] = cases
                result["portfolio"] = "simulated"
                if not reused_world:
                    marker = {"cases_requested": cases, "portfolio": "simulated"}
                    marker["simulate"] = figures
                    (home_root / MARKER).write_text(json.dumps(marker), encoding="utf-8")
            if name == "generate":
                result["portfolio"] = "sample replica"
                result.update({k: figures.pop(k) for k in REPLICATION_KEYS if k in figures})
                if reused is None:
                    marker = {"cases_requested": cases, "generate": figures}
                    marker.update({k: result[k] for k in REPLICATION_KEYS})
                    (home_root / MARKER).write_text(json.dumps(marker), encoding="utf-8")
            result["stages"][name] = figures
            progress.console.print(_stage_line(name, figures))
    result["load_average"]["end"] = _load()
    floor = result["stages"].get("read_floor")
    build = result["stages"].get("build")
    if floor and build and floor.get("wall_seconds"):
        result["build_over_read_floor"] = round(build["wall_seconds"] / floor["wall_seconds"], 2)
    writes = result["stages"].get("layer_writes")
    if floor and writes and floor.get("wall_seconds"):
        result["layer_floor_over_read_floor"] = round(
            (floor["wall_seconds"] + writes["write_seconds_after_raw"]) / floor["wall_seconds"], 2
        )
    if build and "validation_over_rest_of_build" in build:
        result["validation_share_of_build"] = build["validation_over_rest_of_build"]
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    console.print(figures_table(result))
    return result
