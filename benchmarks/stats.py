"""Aggregate statistics of runs, as the field reports them (Agarwal et al. 2021, "Deep RL at the
edge of the statistical precipice"; rliable): the interquartile mean and a stratified bootstrap."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def iqm(scores: np.ndarray, axis: int = -1) -> np.ndarray:
    """Interquartile mean: the mean of the middle 50% (``scipy.stats.trim_mean(x, 0.25)``, as rliable)."""
    scores = np.sort(np.asarray(scores, dtype=float), axis=axis)
    n = scores.shape[axis]
    cut = int(0.25 * n)
    return np.take(scores, np.arange(cut, n - cut), axis=axis).mean(axis=axis)


def stratified_bootstrap_ci(
    strata: Sequence[Sequence[float]],
    statistic: Callable = iqm,
    resamples: int = 2_000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Point estimate and percentile CI of ``statistic`` over all runs, resampling the runs of each
    stratum (task) with replacement and independently, as rliable does."""
    rng = np.random.default_rng(seed)
    strata = [np.asarray(s, dtype=float) for s in strata]
    samples = np.concatenate([s[rng.integers(len(s), size=(resamples, len(s)))] for s in strata], axis=1)
    estimates = statistic(samples, axis=1)
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(estimates, [tail, 100 - tail])
    return float(statistic(np.concatenate(strata))), float(low), float(high)


def separated(intervals: dict[str, tuple[float, float, float]]) -> tuple[str, list[str]]:
    """The leader (highest point estimate) and the names whose interval overlaps the leader's."""
    leader = max(intervals, key=lambda name: intervals[name][0])
    low = intervals[leader][1]
    return leader, [name for name, (_, _, high) in intervals.items() if name != leader and high >= low]
