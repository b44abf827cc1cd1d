"""Shared fixtures: settings pointing at a temporary home, and a writer of source folders."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from pipelines.home import Home
from pipelines.settings import Settings, load_settings

_MAIN_MODULE = sys.modules["__main__"]


@pytest.fixture(autouse=True)
def _original_main_module(monkeypatch):
    """Every test starts with the process's own ``__main__``: Streamlit's AppTest leaves its
    script there, and a spawned worker pool (the simulator's) would re-run that script in every
    child, which dies and is restarted for ever."""
    monkeypatch.setitem(sys.modules, "__main__", _MAIN_MODULE)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings from relance.toml with the home in a fresh temporary folder."""
    return load_settings(environ={}).with_home(tmp_path / "home")


@pytest.fixture
def home(settings: Settings) -> Home:
    return Home(settings.home).ensure()


def write_source(home: Home, name: str, mapping: str, files: dict[str, bytes | str]) -> Path:
    """Create ``raw/<name>/`` with a mapping.toml and files (str is written as UTF-8)."""
    folder = home.raw / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mapping.toml").write_text(mapping, encoding="utf-8")
    for file_name, content in files.items():
        data = content.encode("utf-8") if isinstance(content, str) else content
        (folder / file_name).write_bytes(data)
    return folder


SMALL_WORLD = {"cases": 1500, "months": 12, "seed": 7}


def _small_home_built(root: Path) -> Path:
    """Simulate and build the small world into ``root`` once (xdist workers share it by a lock)."""
    import fcntl

    from pipelines.build import built
    from pipelines.simulate import simulated

    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / "small_home.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "builds" / "current").exists():
            settings = load_settings(environ={}).with_home(root)
            home = Home(root).ensure()
            simulated(home, settings, processes=1, **SMALL_WORLD)
            built(home, settings)
    return root


@pytest.fixture(scope="session")
def small_home_master(tmp_path_factory) -> Path:
    """The one small simulated home of a test run (1,500 cases, 12 months, seed 7), built once.

    Read it only; tests that write (models, plans, state) take ``small_settings``, a private copy.
    """
    run_root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # gw0, gw1…: share the run's folder above them
        run_root = run_root.parent
    shared = run_root / "small-world" / "home"
    return _small_home_built(shared)


@pytest.fixture
def small_settings(small_home_master: Path, tmp_path: Path) -> Settings:
    """Settings on a private copy of the small simulated home (cheap: about 30 MB)."""
    import shutil

    copy = tmp_path / "small-home"
    shutil.copytree(small_home_master, copy, ignore=shutil.ignore_patterns("*.lock", ".tmp"))
    return load_settings(environ={}).with_home(copy)
