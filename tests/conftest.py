"""Shared fixtures: settings pointing at a temporary home, and a writer of source folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.home import Home
from pipelines.settings import Settings, load_settings


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
