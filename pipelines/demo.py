"""``relance demo``: prepare the demo home end to end — simulate, build, train and promote a
scorer, score, plan the week — before the app is served."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pipelines.home import Home
from pipelines.settings import Settings

if TYPE_CHECKING:
    from pipelines.plan import PlanResult


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


def demo_plan(home: Home, settings: Settings) -> PlanResult:
    """Plan the week after the data's end exactly as ``relance plan`` without options does
    (exports, audit, decisions). Re-running on the same build and champion rewrites the same
    week's files with the same rows and replaces its lines and decisions in the state store."""
    from pipelines.plan import planned

    return planned(home, settings)


def demo_closing(result: PlanResult, home: Home) -> str:
    """The demo's last line: where this week's call list and batches went, and how many debtors
    are listed."""
    from pipelines.plan import export_paths

    paths = export_paths(home, result.iso_week)
    batches = " · ".join(f"{channel} {n:,}" for channel, n in result.batches.items())
    return (
        f"this week ({result.iso_week}): call list {paths['calls_csv']} (and .xlsx), "
        f"{result.listed:,} debtors listed; batches in {paths['batch_sms'].parent} ({batches})"
    )
