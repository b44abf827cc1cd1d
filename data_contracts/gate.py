"""The validation gate: a failed critical expectation stops the publish, naming it.

``gate(run)`` returns the run when no critical expectation failed (warnings are recorded and
shown, never blocking) and raises ``ContractError`` otherwise. The exception's first line names
the table, the column, the rule, the expectation and an example value; one more line follows per
further critical failure (at most ``MAX_LINES``), so a CLI printing one line per problem shows
them all.
"""

from __future__ import annotations

from data_contracts.runner import ValidationRun

MAX_LINES = 20


class ContractError(RuntimeError):
    """A critical expectation failed; ``run`` holds every outcome."""

    def __init__(self, message: str, run: ValidationRun) -> None:
        super().__init__(message)
        self.run = run


def gate_message(run: ValidationRun) -> str:
    """The exception text for a run with critical failures ('' when there are none)."""
    failed = run.critical_failures
    if not failed:
        return ""
    lines = [f"contract failed (critical): {o.message}" for o in failed[:MAX_LINES]]
    if len(failed) > MAX_LINES:
        lines.append(f"… and {len(failed) - MAX_LINES} more critical failures")
    return "\n".join(lines)


def gate(run: ValidationRun) -> ValidationRun:
    """Raise ``ContractError`` when a critical expectation failed; else return ``run``."""
    message = gate_message(run)
    if message:
        raise ContractError(message, run)
    return run
