"""Noise models: make a source text from a reference by a few random corruptions."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

NOISE_MODELS = ("random", "lm", "empty", "families")
CORRUPTIONS = ("insert", "delete", "replace", "swap")

# Picks the word to insert or to write over a unit: (left context, word to avoid, rng) -> word.
WordSampler = Callable[[Sequence[str], "str | None", np.random.Generator], str]


class UniformSampler:
    """Words drawn uniformly from ``pool`` (a class, not a closure, so environments pickle)."""

    def __init__(self, pool: Sequence[str]):
        self.pool = list(dict.fromkeys(pool))
        self.index = {w: i for i, w in enumerate(self.pool)}

    def __call__(self, context: Sequence[str], avoid: str | None, rng: np.random.Generator) -> str:
        skip = self.index.get(avoid)
        if skip is None or len(self.pool) == 1:
            return self.pool[rng.integers(len(self.pool))]
        i = int(rng.integers(len(self.pool) - 1))  # uniform over the pool without ``avoid``
        return self.pool[i + (i >= skip)]


class LanguageModelSampler:
    """Words drawn from an n-gram model given the left context: plausible mistakes."""

    def __init__(self, lm):
        self.lm = lm

    def __call__(self, context: Sequence[str], avoid: str | None, rng: np.random.Generator) -> str:
        return self.lm.sample_next(context, rng, exclude=() if avoid is None else (avoid,))


def corrupt(
    reference: Sequence[str],
    n_corruptions: int,
    sample_word: WordSampler,
    rng: np.random.Generator,
    max_length: int,
    max_tries: int = 100,
) -> list[str]:
    """Apply ``n_corruptions`` random insert/delete/replace/swap edits to ``reference``.

    The result always differs from the reference (an unlucky draw, such as swapping two equal
    words, is redrawn) and never exceeds ``max_length`` units.
    """
    for _ in range(max_tries):
        units = list(reference)
        for _ in range(n_corruptions):
            _corrupt_once(units, sample_word, rng, max_length)
        if units != list(reference):
            return units
    raise ValueError(f"could not corrupt {reference!r} into a different text in {max_tries} tries")


def _corrupt_once(units: list[str], sample_word: WordSampler, rng: np.random.Generator, max_length: int) -> None:
    ops = [op for op in CORRUPTIONS if _possible(op, len(units), max_length)]
    op = ops[rng.integers(len(ops))]
    if op == "insert":
        p = int(rng.integers(len(units) + 1))
        units.insert(p, sample_word(units[:p], None, rng))
    elif op == "delete":
        del units[rng.integers(len(units))]
    elif op == "replace":
        p = int(rng.integers(len(units)))
        units[p] = sample_word(units[:p], units[p], rng)
    else:
        p = int(rng.integers(len(units) - 1))
        units[p], units[p + 1] = units[p + 1], units[p]


def _possible(op: str, length: int, max_length: int) -> bool:
    if op == "insert":
        return length < max_length
    if op == "swap":
        return length >= 2
    # Keep at least one unit so that a corrupted text is never silently empty.
    return length >= 2 if op == "delete" else length >= 1
