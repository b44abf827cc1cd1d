"""``relance demo``: prepare the demo home end to end with whatever exists so far."""

from __future__ import annotations

from pathlib import Path

from pipelines.home import Home
from pipelines.sample import copy_sample


def prepared_demo_raw(home: Home) -> list[Path]:
    """Fill an empty ``raw/`` with the demo portfolio; leave a non-empty one alone."""
    home.ensure()
    if any(home.raw.iterdir()):
        return []
    return copy_sample(home.raw)
