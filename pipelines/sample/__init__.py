"""The hand-written sample portfolio shipped with the package (``README.md`` beside this file).

Five source folders, each with its ``mapping.toml`` and the files as a creditor or the agency's
own system would send them, in four dialects: ``telco`` (``fr_excel``), ``energie``
(``fr_utf8``), ``grossiste`` and ``etudes`` (``iso_csv``), ``agence`` (``fr_tab_latin1``). It is
the data of ``relance demo`` until the simulator exists, and the "small hand-written files in
several dialects" of the tests. A few rows are deliberately bad so that the quarantine is not
empty; the README lists them with their reason codes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

_SKIPPED = {"__pycache__"}


def sample_sources() -> Path:
    """The folder holding the sample's source folders (``telco/``, ``energie/``, …)."""
    return Path(__file__).resolve().parent


def _source_folders() -> list[Path]:
    return sorted(
        p
        for p in sample_sources().iterdir()
        if p.is_dir() and p.name not in _SKIPPED and (p / "mapping.toml").exists()
    )


def copy_sample(raw_dir: Path) -> list[Path]:
    """Copy every sample source folder into ``raw_dir`` (a home's ``raw/``).

    Creates ``raw_dir/<source>/`` as needed and overwrites same-named files byte for byte;
    other files already there are left alone (nothing is refused). Returns the copied files'
    destination paths, sorted.
    """
    raw_dir = Path(raw_dir)
    copied: list[Path] = []
    for folder in _source_folders():
        target = raw_dir / folder.name
        target.mkdir(parents=True, exist_ok=True)
        for path in sorted(folder.iterdir()):
            if path.is_file() and not path.name.startswith("."):
                destination = target / path.name
                shutil.copyfile(path, destination)
                copied.append(destination)
    return sorted(copied)
