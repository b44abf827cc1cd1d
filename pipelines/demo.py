"""``relance demo``: prepare the demo home end to end with whatever exists so far."""

from __future__ import annotations

from collections.abc import Callable

from pipelines.home import Home
from pipelines.settings import Settings


def simulated_demo_raw(
    home: Home, settings: Settings, progress: Callable[[str, int, int], None] | None = None
) -> dict | None:
    """Simulate the default portfolio (``[demo]`` in relance.toml) into an empty ``raw/``;
    leave a non-empty one alone (return ``None``) so a user's own data is never overwritten."""
    from pipelines.simulate import simulated

    home.ensure()
    if any(home.raw.iterdir()):
        return None
    return simulated(
        home,
        settings,
        int(settings.require("demo.cases")),
        int(settings.require("demo.months")),
        int(settings.require("demo.seed")),
        progress=progress,
    )


def demo_champion(home: Home, settings: Settings, progress: Callable[[str], None] | None = None):
    """Train a first scorer and promote it when the home has no champion yet, then score.

    Return (the run trained, or ``None`` when a champion existed, and the scores written)."""
    from pipelines.score import scored
    from pipelines.train import KIND, promoted, registry, trained_scorer

    info = None
    if registry(home).champion(KIND) is None:
        info = trained_scorer(home, settings, progress=progress)
        promoted(home, settings, info.run_id)
    return info, scored(home, settings)
