"""The build: nothing lost, re-runs safe, atomic publish, one build at a time, readers unblocked."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from pipelines import warehouse
from pipelines.build import built, rolled_back
from pipelines.home import Home, HomeError
from pipelines.ingest import IngestError
from pipelines.sample import copy_sample
from tests.conftest import write_source

pytestmark = pytest.mark.slow

CORE_AND_MARTS = [f"core.{t}" for t in warehouse.CORE_STEPS] + [
    f"marts.{t}" for t in warehouse.MART_STEPS
]


def table_contents(path: Path, tables: list[str]) -> dict[str, list[tuple]]:
    """Every row of each table, sorted, so two builds can be compared exactly."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {t: sorted(map(repr, con.execute(f"select * from {t}").fetchall())) for t in tables}
    finally:
        con.close()


@pytest.fixture
def sample_home(home: Home) -> Home:
    copy_sample(home.raw)
    return home


def test_every_file_raw_rows_equal_staged_plus_quarantined(sample_home, settings):
    result = built(sample_home, settings)
    con = duckdb.connect(str(result.path), read_only=True)
    per_file = con.execute("select source_file, rows from raw.files order by file_id").fetchall()
    con.close()
    counts = {f.source_file: f for f in result.files}
    assert per_file and warehouse.lost_rows(duckdb.connect(str(result.path), read_only=True)) == []
    assert result.raw_rows == result.staged_rows + result.quarantined_rows
    with sample_home.state(read_only=True) as state:
        ledger = state.execute(
            "select source_file, raw_rows, staged_rows + quarantined_rows from ingest_ledger "
            "where build_id = ? and status = 'loaded'",
            [result.build_id],
        ).fetchall()
    assert (
        {r[0] for r in ledger}
        == {f for f, _ in per_file}
        == {f for f, e in counts.items() if e.status == "loaded"}
    )
    assert all(raw == out for _, raw, out in ledger)


def test_rebuilding_and_reloading_the_same_file_change_no_table(sample_home, settings):
    first = built(sample_home, settings)
    before = table_contents(first.path, CORE_AND_MARTS)
    source = next(p for p in sorted(sample_home.raw.glob("*/placements_*.csv")))
    shutil.copy(source, source.with_name(source.stem + "_copie" + source.suffix))
    second = built(sample_home, settings)
    assert table_contents(second.path, CORE_AND_MARTS) == before
    assert any(f.status == "duplicate_file" for f in second.files)


def test_resent_overlapping_file_does_not_double_count(home, settings):
    mapping = 'template = "iso_csv"\n[[files]]\nkind = "placements"\nglob = "placements_*.csv"\n'
    header = (
        "creditor_ref,case_ref,invoice_ref,debtor_ref,debtor_type,debtor_name,placed_date,"
        "due_date,amount\n"
    )
    first = header + "C,K1,I1,D1,individual,A,2026-01-05,2025-12-01,100.00\n"
    first += "C,K2,I1,D2,individual,B,2026-01-05,2025-12-01,50.00\n"
    resent = first + "C,K3,I1,D3,individual,C,2026-02-03,2026-01-01,70.00\n"
    write_source(
        home,
        "cred",
        mapping,
        {"placements_2026-01-06.csv": first, "placements_2026-02-04.csv": resent},
    )
    result = built(home, settings)
    con = duckdb.connect(str(result.path), read_only=True)
    assert con.execute("select sum(placed_amount_cents), count(*) from core.cases").fetchall() == [
        (22000, 3)
    ]
    reasons = con.execute(
        "select reason, count(*) from quarantine.placements group by 1"
    ).fetchall()
    assert reasons == [("duplicate_row", 2)]
    con.close()


def test_refused_file_exits_nonzero_and_keeps_current(sample_home, settings):
    first = built(sample_home, settings)
    folder = next(p for p in sample_home.raw.iterdir() if p.is_dir())
    glob = next(
        line for line in (folder / "mapping.toml").read_text().splitlines() if "glob" in line
    )
    pattern = glob.split("=", 1)[1].strip().strip('"')
    bad = folder / pattern.replace("*", "2026-11-14_vide")
    bad.write_bytes(b"")
    with pytest.raises(IngestError, match="is empty"):
        built(sample_home, settings)
    assert sample_home.current_id() == first.build_id
    assert sample_home.stale_partials() == []
    with sample_home.state(read_only=True) as state:
        statuses = state.execute("select status from builds order by started_at").fetchall()
    assert statuses == [("published",), ("failed",)]


def test_a_step_that_raises_leaves_the_previous_build_current(sample_home, settings, monkeypatch):
    first = built(sample_home, settings)

    def broken(con, layer, name):
        raise RuntimeError(f"boom in {layer}.{name}")

    monkeypatch.setattr(warehouse, "materialised", broken)
    with pytest.raises(RuntimeError, match=r"boom in core\.creditors"):
        built(sample_home, settings)
    assert sample_home.current_id() == first.build_id
    assert sample_home.published_ids() == [first.build_id]
    con = duckdb.connect(str(sample_home.current_path()), read_only=True)
    assert con.execute("select count(*) from core.cases").fetchall()[0][0] > 0
    con.close()


KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from pipelines import warehouse
    from pipelines.build import built
    from pipelines.home import Home
    from pipelines.settings import load_settings

    original = warehouse.materialised

    def dying(con, layer, name):
        if (layer, name) == ("core", "payments"):
            os.kill(os.getpid(), signal.SIGKILL)
        return original(con, layer, name)

    warehouse.materialised = dying
    settings = load_settings().with_home(sys.argv[1])
    built(Home(settings.home), settings)
    """
)


def test_a_killed_build_leaves_the_previous_build_current(sample_home, settings):
    first = built(sample_home, settings)
    proc = subprocess.run(
        [sys.executable, "-c", KILLER, str(sample_home.root)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL
    assert sample_home.current_id() == first.build_id
    assert sample_home.published_ids() == [first.build_id]
    con = duckdb.connect(str(sample_home.current_path()), read_only=True)
    assert con.execute("select count(*) from core.cases").fetchall()[0][0] > 0
    con.close()
    again = built(sample_home, settings)  # the dead build's lock and partial file are gone
    assert sample_home.current_id() == again.build_id
    assert sample_home.stale_partials() == []


def test_a_second_build_refuses_while_one_runs(sample_home, settings):
    with sample_home.build_lock(), pytest.raises(HomeError, match="another build is running"):
        built(sample_home, settings)
    env = {**os.environ, "RELANCE_HOME": str(sample_home.root)}
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pipelines.home import Home\n"
            "with Home(__import__('pathlib').Path(sys.argv[1])).build_lock():\n"
            "    print('locked', flush=True); time.sleep(30)\n",
            str(sample_home.root),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        proc = subprocess.run(
            [sys.executable, "-m", "pipelines", "build"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: ")
    assert f"another build is running (pid {holder.pid}" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_build_and_state_writes_succeed_while_a_reader_holds_current(sample_home, settings):
    first = built(sample_home, settings)
    reader = duckdb.connect(str(first.path), read_only=True)
    try:
        assert reader.execute("select count(*) from core.cases").fetchall()[0][0] > 0
        second = built(sample_home, settings)
        with sample_home.state() as state:
            state.execute("create table if not exists probe (x integer)")
            state.execute("insert into probe values (1)")
        assert sample_home.current_id() == second.build_id
        assert reader.execute("select count(*) from core.cases").fetchall()[0][0] > 0
    finally:
        reader.close()


def test_rollback_and_keep_last_n(sample_home, settings):
    keep_two = settings.with_home(sample_home.root)
    keep_two.data["build"]["keep"] = 2
    ids = [built(sample_home, keep_two).build_id for _ in range(3)]
    assert sample_home.published_ids() == ids[1:]
    before, after = rolled_back(sample_home, keep_two)
    assert (before, after) == (ids[2], ids[1])
    assert sample_home.current_id() == ids[1]
    with pytest.raises(HomeError, match="no earlier build"):
        rolled_back(sample_home, keep_two)
