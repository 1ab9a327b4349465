"""Aggregate statistics of runs, as the field reports them (Agarwal et al. 2021, "Deep RL at the
edge of the statistical precipice"; rliable): the interquartile mean, the optimality gap, the
probability of improvement and the performance profile, with stratified-bootstrap confidence intervals."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

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


def optimality_gap(scores: np.ndarray, axis: int = -1, target: float = 1.0) -> np.ndarray:
    """How far normalized scores fall short of ``target`` on average (rliable's optimality gap):
    ``mean(max(target - score, 0))``, so a score beyond the target earns nothing more."""
    return np.maximum(target - np.asarray(scores, dtype=float), 0.0).mean(axis=axis)


def _improvement(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """P(X > Y) + P(X = Y) / 2 over all pairs of runs (the Mann-Whitney statistic over m * n), for the
    last axis of ``x`` and ``y`` (earlier axes: resamples)."""
    greater = (x[..., :, None] > y[..., None, :]).mean(axis=(-2, -1))
    equal = (x[..., :, None] == y[..., None, :]).mean(axis=(-2, -1))
    return greater + 0.5 * equal


def probability_of_improvement(
    x_strata: Sequence[Sequence[float]],
    y_strata: Sequence[Sequence[float]],
    resamples: int = 2_000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """rliable's probability of improvement of X over Y: per task (stratum), the probability that a run
    of X scores higher than a run of Y, averaged over tasks; with a percentile CI from resampling the
    runs of each algorithm on each task independently."""
    rng = np.random.default_rng(seed)
    point, samples = [], []
    for xs, ys in zip(x_strata, y_strata):
        xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
        point.append(_improvement(xs, ys))
        bx = xs[rng.integers(len(xs), size=(resamples, len(xs)))]
        by = ys[rng.integers(len(ys), size=(resamples, len(ys)))]
        samples.append(_improvement(bx, by))
    estimates = np.mean(samples, axis=0)
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(estimates, [tail, 100 - tail])
    return float(np.mean(point)), float(low), float(high)


def fraction_above(scores: np.ndarray, axis: int = -1, tau: float = 0.0) -> np.ndarray:
    """The fraction of runs whose normalized score exceeds ``tau`` (rliable's score distribution at ``tau``)."""
    return (np.asarray(scores, dtype=float) > tau).mean(axis=axis)


def performance_profile(
    strata: Sequence[Sequence[float]], taus: Sequence[float], resamples: int = 2_000, seed: int = 0
) -> np.ndarray:
    """rliable's performance profile: per threshold in ``taus``, the fraction of runs scoring above it with its
    stratified-bootstrap CI, as rows (point, low, high). One seed for every threshold: the same resamples
    throughout, so the band is one bootstrap's, as rliable draws it."""
    return np.array(
        [stratified_bootstrap_ci(strata, partial(fraction_above, tau=tau), resamples, seed=seed) for tau in taus]
    )
