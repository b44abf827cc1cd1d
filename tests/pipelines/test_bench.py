"""The bench: the sample replicated to N cases, and the stage figures as JSON."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import pytest
from rich.console import Console

from pipelines import bench
from pipelines.ingest import planned_files
from pipelines.kinds import KINDS
from pipelines.sample import copy_sample
from pipelines.settings import load_settings

CASES = 60


@pytest.fixture
def settings(tmp_path: Path):
    return load_settings(environ={}).with_home(tmp_path / "home")


def _rows(path: Path, spec) -> list[list[str]]:
    """Data records of a file read back with the csv module in its mapping's dialect."""
    encoding = "utf-8-sig" if spec.dialect.encoding == "utf-8" else spec.dialect.encoding
    with open(path, encoding=encoding, errors="surrogateescape", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=spec.dialect.delimiter))
    return [row for row in rows if any(cell.strip() for cell in row)]


def _plan(raw: Path, settings) -> dict[str, tuple]:
    planned, problems = planned_files(raw, raw.parent, settings)
    assert problems == []
    return {f"{path.parent.name}/{path.name}": (spec, path) for _, spec, path, _ in planned}


def _keys(rows: list[list[str]], spec, header: list[str]) -> set[tuple[str, ...]]:
    """The natural keys of well-formed rows whose key parts are all usable."""
    index = {h.strip().lower(): i for i, h in enumerate(header)}
    found = set()
    for row in rows:
        if len(row) != len(header):
            continue
        key = tuple(
            spec.constants[c]
            if c in spec.constants
            else row[index[spec.header_for(c).lower()]].strip()
            if spec.header_for(c).lower() in index
            else ""
            for c in KINDS[spec.kind].natural_key
        )
        if all(key) and not any(bench.SCIENTIFIC.fullmatch(v) for v in key):
            found.add(key)
    return found


def test_scanner_keeps_quotes_line_endings_and_malformed_records():
    text = 'a;b\r\nX1;"q;""1"""\r\n"X2 ";b\r\nshort\r\n"open;x\n'
    found = list(bench.records(text, ";"))
    values = [
        None if r.fields is None else [bench.field_value(text, f) for f in r.fields] for r in found
    ]
    assert values == [["a", "b"], ["X1", 'q;"1"'], ["X2 ", "b"], ["short"], None]
    assert "".join(text[r.start : r.end] for r in found) == text
    second = found[2].fields[0]
    assert bench.suffix_position(text, second) == second[0] + 3  # inside the quotes, before " "
    assert bench.suffix_position("1,00E+05", (0, 8)) is None
    assert bench.suffix_position("2024E001", (0, 8)) == 8


def test_replicated_sample_scales_and_keeps_natural_keys_unique(tmp_path, settings):
    sample_raw = tmp_path / "sample" / "raw"
    sample_raw.mkdir(parents=True)
    copy_sample(sample_raw)
    raw = tmp_path / "bench" / "raw"
    done = bench.replicated(sample_raw, raw, CASES, settings)

    assert done.copies == math.ceil(CASES / done.sample_cases)
    assert done.cases >= CASES
    before, after = _plan(sample_raw, settings), _plan(raw, settings)
    assert done.raw_bytes == sum(path.stat().st_size for _, path in after.values())
    assert sorted(after) == sorted(before)
    for name, (spec, path) in before.items():
        new_path = after[name][1]
        assert new_path.read_bytes()[:3] == path.read_bytes()[:3]  # BOM or not, as received
        old_rows, new_rows = _rows(path, spec), _rows(new_path, spec)
        assert new_rows[0] == old_rows[0], name  # the header
        old_body, new_body = old_rows[1:], new_rows[1:]
        assert len(new_body) == done.copies * len(old_body), name
        suffixed = bench.identifier_columns(spec, old_rows[0])
        for copy in range(done.copies):
            chunk = new_body[copy * len(old_body) : (copy + 1) * len(old_body)]
            for old, new in zip(old_body, chunk, strict=True):
                if len(old) != len(old_rows[0]):
                    assert new == old  # malformed on purpose: copied verbatim
                    continue
                expected = list(old)
                for i in suffixed.values():
                    value = old[i].strip()
                    if value and not bench.SCIENTIFIC.fullmatch(value):
                        expected[i] = old[i].replace(value, f"{value}-{copy + 1}", 1)
                assert new == expected, name

        # every copy has its own natural keys: none shared between copies
        header = old_rows[0]
        assert len(_keys(new_body, spec, header)) == done.copies * len(
            _keys(old_body, spec, header)
        ), name


def test_benchmarked_generate_and_read_floor_write_the_figures(tmp_path, settings):
    out_file = tmp_path / "out" / "bench.json"
    shown = io.StringIO()
    result = bench.benchmarked(
        settings, CASES, out_file, "read_floor,generate", False, Console(file=shown, width=160)
    )
    assert json.loads(out_file.read_text(encoding="utf-8")) == result
    assert list(result["stages"]) == ["generate", "read_floor"]
    assert result["cases"] == CASES and result["cases_generated"] >= CASES
    assert result["copies"] * result["sample_cases"] == result["cases_generated"]
    assert set(result["machine"]) >= {"cores", "ram_gb", "python", "duckdb"}
    assert result["threads"] == settings.get("build.threads")
    assert result["memory_limit"] == settings.get("build.memory_limit")
    assert result["date"] and result["build_over_read_floor"] is None
    generate, floor = result["stages"]["generate"], result["stages"]["read_floor"]
    for figures in (generate, floor):
        assert figures["wall_seconds"] > 0 and figures["work_seconds"] > 0
        assert figures["peak_rss_mb"] > 0 and figures["rusage_maxrss_mb"] > 0
        assert figures["rows"] > 0 and figures["rows_per_second"] > 0 and figures["bytes"] > 0
    raw = bench.bench_home(settings, CASES) / "raw"
    written = sum(path.stat().st_size for _, path in _plan(raw, settings).values())
    assert generate["bytes"] == written
    # malformed lines are skipped by the floor, never more rows than were written
    assert 0 < floor["rows"] <= generate["rows"]
    assert floor["prepare_seconds"] >= 0 and floor["files"] == len(generate["files"])
    assert "generate" in shown.getvalue() and "read_floor" in shown.getvalue()

    again = bench.benchmarked(settings, CASES, out_file, "read_floor", True, None)
    assert again["reused_raw"] and list(again["stages"]) == ["read_floor"]
    assert again["cases_generated"] == result["cases_generated"]
    assert again["stages"]["read_floor"]["rows"] == floor["rows"]


def test_unknown_stage_is_one_line(settings, tmp_path):
    with pytest.raises(bench.BenchError, match=r"unknown stage\(s\) trian; known stages: "):
        bench.benchmarked(settings, CASES, tmp_path / "x.json", "generate,trian", False)
    assert not (tmp_path / "x.json").exists()


def test_simulate_is_opt_in_and_excludes_the_replica(settings, tmp_path):
    assert "simulate" not in bench.selected_stages(None)
    assert bench.selected_stages("build,simulate") == ["simulate", "build"]
    with pytest.raises(
        bench.BenchError, match=r"generate \(replicated sample\) or simulate, not both"
    ):
        bench.benchmarked(settings, CASES, tmp_path / "x.json", "generate,simulate", False)


def test_timed_calls_count_outermost_time_and_restore_the_functions():
    from pipelines import bench_stage

    original = bench.field_value
    targets = (("pipelines.bench", "field_value"), ("pipelines.bench", "no_such_function"))
    with bench_stage.timed_calls(targets) as timed:
        assert bench.field_value('"a""b"', (0, 6)) == 'a"b'
        bench.field_value("x", (0, 1))
    assert bench.field_value is original
    (seconds, calls) = timed["steps"]["field_value"]
    assert calls == 2 and timed["accounted"] == pytest.approx(seconds)


def test_a_simulated_home_is_reused_as_simulated(settings, tmp_path):
    """``--reuse-home`` on a home written by the simulate stage keeps its raw files (never
    replaced by the replicated sample) and reports the simulate figures as reused."""
    home = bench.bench_home(settings, CASES)
    copy_sample(home / "raw")
    before = sorted(p.relative_to(home).as_posix() for p in (home / "raw").rglob("*"))
    simulate = {"wall_seconds": 1.0, "rows": 10, "bytes": 100, "peak_rss_mb": 1.0}
    marker = {"cases_requested": CASES, "portfolio": "simulated", "simulate": simulate}
    (home / bench.MARKER).write_text(json.dumps(marker), encoding="utf-8")

    result = bench.benchmarked(settings, CASES, tmp_path / "x.json", "read_floor", True)
    assert list(result["stages"]) == ["simulate", "read_floor"]
    assert result["reused_raw"] and result["portfolio"] == "simulated"
    assert result["stages"]["simulate"]["reused"] and result["cases_generated"] == CASES
    assert sorted(p.relative_to(home).as_posix() for p in (home / "raw").rglob("*")) == before
    floor = result["stages"]["read_floor"]
    assert floor["rows"] > 0 and floor["cpu_seconds"] > 0


class _CountingModel:
    """A stand-in scorer recording which of its calls the score bench times."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def scores(self, X):
        self.calls.append("scores")
        return X[:, 0] * 0 + 0.5, X[:, 0] * 0 + 0.25

    def expected_cents(self, X, balance_cents, p_pay, share):
        self.calls.append("expected_cents")
        return (p_pay * share * balance_cents).round()

    def reasons(self, X):
        self.calls.append("reasons")
        return X[:, 0].astype(str), X[:, 0].astype(str)


def test_score_bench_times_the_model_calls_alone_with_and_without_reasons():
    import numpy as np

    from pipelines.score import scoring_seconds

    model, X, balance = _CountingModel(), np.ones((8, 3)), np.full(8, 1000.0)
    wall, cpu = scoring_seconds(model, X, balance, reasons=False)
    assert model.calls == ["scores", "expected_cents"]
    assert wall >= 0 and cpu >= 0
    scoring_seconds(model, X, balance, reasons=True)
    assert model.calls[2:] == ["scores", "expected_cents", "reasons"]


def test_layer_writes_copy_every_stored_table_of_the_current_build(small_home_master, tmp_path):
    import duckdb

    from pipelines.bench_stage import StageContext, layer_writes

    # a home whose current build is the small world's (linked, never written to)
    builds = tmp_path / "home" / "builds"
    builds.mkdir(parents=True)
    build_id = (small_home_master / "builds" / "current").read_text().strip()
    (builds / "current").write_text(build_id)
    source = small_home_master / "builds" / f"{build_id}.duckdb"
    (builds / f"{build_id}.duckdb").symlink_to(source)
    settings = load_settings(environ={}).with_home(tmp_path / "home")

    figures = layer_writes(StageContext(tmp_path / "home", settings, CASES))

    con = duckdb.connect(str(source), read_only=True)
    try:
        stored = con.execute(
            "select schema_name || '.' || table_name from duckdb_tables() "
            "where schema_name in ('raw', 'staging', 'quarantine', 'core', 'marts')"
        ).fetchall()
        # staging deleted its rejected rows: rows are counted, not DuckDB's estimate
        staged = con.execute("select count(*) from staging.placements").fetchall()[0][0]
    finally:
        con.close()
    assert sorted(figures["tables"]) == sorted(name for (name,) in stored)
    # a view (raw.<kind>) is not a stored table; its records table and a table with a virtual
    # column (core.decisions) are copied
    assert "raw.decisions" not in figures["tables"]
    assert {"raw.decisions_records", "core.decisions"} <= set(figures["tables"])
    by_layer = figures["seconds_by_layer"]
    assert set(by_layer) == {"raw", "staging", "quarantine", "core", "marts"}
    assert all(seconds > 0 for seconds in by_layer.values())
    assert figures["write_seconds"] == pytest.approx(sum(by_layer.values()), abs=0.01)
    assert figures["write_seconds_after_raw"] == pytest.approx(
        figures["write_seconds"] - by_layer["raw"], abs=0.01
    )
    assert figures["tables"]["staging.placements"]["rows"] == staged
    assert figures["rows"] > 0 and figures["bytes"] == source.stat().st_size
    assert not (tmp_path / "home" / ".bench" / "layer_writes.duckdb").exists()
