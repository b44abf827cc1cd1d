"""The synthetic portfolio and its truth (SIMULATION.md; schema of ``truth/`` in TRUTH.md).

``simulated(home, settings, cases, months, seed)`` writes the sources into ``raw/`` and the latent
world into ``truth/``; ``truth_computed(home, settings)`` adds the Monte Carlo outcomes of every
action in the evaluation weeks; ``policy_value`` / ``best_policy_value`` read them.
"""

from __future__ import annotations

from pipelines.simulate.params import SimulationError, world_hash
from pipelines.simulate.run import simulated
from pipelines.simulate.truth import best_policy_value, policy_value, truth_computed

__all__ = [
    "SimulationError",
    "best_policy_value",
    "policy_value",
    "simulated",
    "truth_computed",
    "world_hash",
]
