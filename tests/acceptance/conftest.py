"""`make acceptance`: checks on the full default world, recorded in docs/acceptance.json.

The default world (relance.toml `[demo]`) is simulated, built and given its truth once per run
in `$RELANCE_ACCEPTANCE_HOME` (default `data/acceptance`); a home whose `truth/world.json`
already carries the same world hash, seed and size is reused. The scorer's out-of-time checks
run on a larger world with the same parameters, months and seed (``acceptance.scorer_cases``)
in `<home>-scorer`. These tests are not part of `make test` (they need minutes): they are
collected only when RELANCE_ACCEPTANCE=1.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import pytest

from pipelines.build import built
from pipelines.home import Home
from pipelines.settings import REPO_ROOT, load_settings

collect_ignore_glob = [] if os.environ.get("RELANCE_ACCEPTANCE") == "1" else ["test_*.py"]

RESULTS: dict[str, dict] = {}
TIMINGS: dict[str, float] = {}
REPORT = REPO_ROOT / "docs" / "acceptance.json"


def _world_matches(home: Home, cases: int, months: int, seed: int) -> bool:
    from pipelines.simulate import world_hash

    meta = home.truth / "world.json"
    if not meta.exists():
        return False
    info = json.loads(meta.read_text(encoding="utf-8"))
    wanted = {"world_hash": world_hash(), "seed": seed, "cases": cases, "months": months}
    return all(info.get(k) == v for k, v in wanted.items())


def _prepared_world(root: Path, cases: int, prefix: str = ""):
    """(settings, home, warehouse path, truth dir) of the world of ``cases`` cases simulated
    with the default world's months and seed in ``root``: simulated unless ``root`` already holds
    that world, built, and given its truth unless it has it. Timings go to TIMINGS."""
    from pipelines.simulate import simulated, truth_computed

    settings = load_settings().with_home(root)
    home = Home(root).ensure()
    months, seed = int(settings.get("demo.months")), int(settings.get("demo.seed"))
    if not _world_matches(home, cases, months, seed):
        started = time.perf_counter()
        simulated(home, settings, cases, months, seed, force=True)
        TIMINGS[f"{prefix}simulate_seconds"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    result = built(home, settings)
    TIMINGS[f"{prefix}build_seconds"] = round(time.perf_counter() - started, 1)
    RESULTS[f"{prefix}build_rows_lost"] = {
        "value": result.raw_rows - result.staged_rows - result.quarantined_rows,
        "band": [0, 0],
        "basis": f"{cases:,} simulated cases",
        "passed": result.raw_rows == result.staged_rows + result.quarantined_rows,
    }
    if not (home.truth / "eval_outcomes.parquet").exists():
        started = time.perf_counter()
        truth_computed(home, settings)
        TIMINGS[f"{prefix}truth_seconds"] = round(time.perf_counter() - started, 1)
    return settings, home, result.path, home.truth


def _acceptance_root() -> Path:
    return Path(os.environ.get("RELANCE_ACCEPTANCE_HOME") or REPO_ROOT / "data" / "acceptance")


@pytest.fixture(scope="session")
def world():
    """(settings, home, warehouse path, truth dir) of the default world (``[demo]``)."""
    return _prepared_world(_acceptance_root(), int(load_settings().get("demo.cases")))


@pytest.fixture(scope="session")
def scorer_world():
    """The world of the scorer's out-of-time checks: the default world's parameters, months and
    seed at ``acceptance.scorer_cases`` cases (issue 6 allows a larger world than the demo's,
    parameters frozen), beside the default world's home (``<home>-scorer``)."""
    cases = int(load_settings().require("acceptance.scorer_cases"))
    root = _acceptance_root()
    return _prepared_world(root.with_name(f"{root.name}-scorer"), cases, prefix="scorer_world_")


@pytest.fixture(scope="session")
def warehouse(world):
    from pipelines.warehouse import connect

    con = connect(world[2], world[0], read_only=True)
    yield con
    con.close()


@pytest.fixture
def record():
    """record(name, value, low, high, basis) — stores the measure and asserts the band."""

    def _record(
        name: str,
        value: float,
        low: float | None,
        high: float | None,
        basis: str,
        open_issue: str | None = None,
    ):
        passed = (
            value is not None
            and not math.isnan(value)
            and (low is None or value >= low)
            and (high is None or value <= high)
        )
        RESULTS[name] = {"value": value, "band": [low, high], "basis": basis, "passed": passed}
        message = f"{name} = {value:.4f} outside [{low}, {high}] ({basis})"
        if not passed and open_issue:
            # a known shortfall of an issue still open: recorded as failed in
            # docs/acceptance.json (with the issue) and reported as xfail, so CI stays usable
            RESULTS[name]["open_issue"] = open_issue
            pytest.xfail(f"{open_issue} open: {message}")
        assert passed, message

    return _record


def pytest_sessionfinish(session, exitstatus):
    if not RESULTS:
        return
    from pipelines.simulate import world_hash

    settings = load_settings()
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "world_hash": world_hash(),
        "seed": settings.get("demo.seed"),
        "cases": settings.get("demo.cases"),
        "months": settings.get("demo.months"),
        "timings": TIMINGS,
        "checks": dict(sorted(RESULTS.items())),
        "all_passed": all(r["passed"] for r in RESULTS.values()),
    }
    REPORT.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
