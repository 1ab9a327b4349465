"""What every training loop shares: a stop on a non-finite loss, learning-curve checkpoints, schedules."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence

from textedit_env.policies import Policy


class TrainingDiverged(ValueError):
    """A loss or value that is not a finite number: training cannot go on (a learning rate too high?)."""


def check_finite(value: float, step: int, what: str) -> None:
    """Stop training with :class:`TrainingDiverged` naming the step when ``value`` is NaN or infinite."""
    if not math.isfinite(value):
        raise TrainingDiverged(
            f"training diverged at step {step:,}: {what} is {value} (a learning rate too high, or rewards too large?)"
        )


class Checkpoints:
    """Calls ``callback(step, policy)`` when a training run reaches each of the given environment
    steps, with its greedy policy at that point (for learning curves); ``policy_now`` builds it."""

    def __init__(self, steps: Sequence[int], callback: Callable[[int, Policy], None]):
        self.pending, self.callback = deque(sorted(steps)), callback

    def reached(self, step: int, policy_now: Callable[[], Policy]) -> None:
        while self.pending and step >= self.pending[0]:
            self.callback(self.pending.popleft(), policy_now())


def linear_schedule(start: float, end: float, duration: float, step: int) -> float:
    """From ``start`` to ``end`` over ``duration`` steps, then constant."""
    return start + (end - start) * min(1.0, step / max(duration, 1.0))
