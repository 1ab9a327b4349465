"""Reward metrics: BLEU, ROUGE-1/2/L and chrF against one reference or several, on a 0-1 scale.

``make_scorer`` builds a :class:`Scorer` for a metric name or a weighted mix of metrics.
Against several references each metric is what its library computes: sacrebleu's
multi-reference BLEU (n-grams clipped by their highest count in one reference, the closest
reference length) and chrF (the best reference), rouge-score's ``score_multi`` (per ROUGE type,
the best reference).
``engine="incremental"`` (the default) updates integer statistics after each edit and gives
the same floats as the libraries, bit for bit, for every single metric (a weighted mix: within
1e-12); ``engine="library"`` calls sacrebleu / rouge-score on the joined strings every time
(the baseline it is checked and timed against). ``library_score`` is the libraries' value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Real

from textedit_env.metrics.base import Edit, EditScores, Scorer, join_units
from textedit_env.metrics.best import BestOfScorer
from textedit_env.metrics.bleu import BleuScorer, check_tokenizer, sacrebleu_bleu
from textedit_env.metrics.chrf import ChrfScorer
from textedit_env.metrics.library import LibraryScorer, library_score
from textedit_env.metrics.rouge import ROUGE_TYPES, IncrementalRouge
from textedit_env.metrics.weighted import WeightedScorer
from textedit_env.units import check_unit_kind

METRICS = ("bleu", "rouge1", "rouge2", "rougeL", "chrf")
ENGINES = ("incremental", "library")

Reward = str | Mapping[str, float]
ScorerFactory = Callable[[Sequence[str]], Scorer]

__all__ = [
    "ENGINES",
    "METRICS",
    "Edit",
    "EditScores",
    "Scorer",
    "join_units",
    "library_score",
    "make_scorer",
    "parse_reward",
    "scorer_builder",
]


def parse_reward(reward: Reward, extra_names: Sequence[str] = ()) -> dict[str, float]:
    """``{metric: weight}`` for a metric name (weight 1.0) or a dict of weights."""
    valid = METRICS + tuple(n for n in extra_names if n not in METRICS)
    if isinstance(reward, str):
        reward = {reward: 1.0}
    if not isinstance(reward, Mapping) or not reward:
        raise ValueError(f"reward must be a metric name or a non-empty dict {{name: weight}}, got {reward!r}")
    weights = {}
    for name, weight in reward.items():
        if not isinstance(name, str):
            raise ValueError(f"reward metric names must be strings, got {name!r}")
        if name not in valid:
            raise ValueError(f"unknown reward metric {name!r}; valid names are {valid}")
        # A negative weight would turn a metric into a cost (a score below 0 or above 1).
        if isinstance(weight, bool) or not isinstance(weight, Real) or not math.isfinite(weight) or weight < 0:
            raise ValueError(f"reward weight of {name!r} must be a finite number >= 0, got {weight!r}")
        weights[name] = float(weight)
    if not any(weights.values()):
        raise ValueError(f"reward weights are all zero: {reward!r}")
    if not math.isfinite(sum(weights.values())):
        raise ValueError(f"reward weights must have a finite sum, got {reward!r}")
    return weights


def _incremental(
    weights: Mapping[str, float], references: list[list[str]], unit: str, tokenize: str, use_stemmer: bool
) -> Scorer:
    """The scorer of one built-in metric, or of several ROUGE types sharing one tokenization (one reference)."""
    if "bleu" in weights:
        return BleuScorer(*references, unit=unit, tokenize=tokenize)
    if len(references) > 1:  # the best reference, as the libraries choose it (a mix of types: see ScorerBuilder)
        return BestOfScorer([_incremental(weights, [r], unit, tokenize, use_stemmer) for r in references])
    if "chrf" in weights:
        return ChrfScorer(references[0], unit=unit)
    return IncrementalRouge(dict(weights), references[0], unit=unit, use_stemmer=use_stemmer)


@dataclass(frozen=True)
class ScorerBuilder:
    """Checked settings of a reward (from :func:`scorer_builder`); calling it with a reference (or
    several) builds the scorer against it (them). An environment checks its reward once and builds a
    scorer every episode."""

    weights: dict[str, float]
    unit: str
    tokenize: str
    use_stemmer: bool
    engine: str
    extra: dict[str, ScorerFactory]

    def _one(self, name: str, references: list[list[str]]) -> Scorer:
        if name in self.extra:
            return self.extra[name](references[0])
        if self.engine == "library":
            return LibraryScorer(
                name, *references, unit=self.unit, tokenize=self.tokenize, use_stemmer=self.use_stemmer
            )
        return _incremental({name: 1.0}, references, self.unit, self.tokenize, self.use_stemmer)

    def __call__(self, reference_units: Sequence[str], *other_references: Sequence[str]) -> Scorer:
        references, weights = [list(r) for r in (reference_units, *other_references)], self.weights
        if len(weights) == 1 and 1.0 in weights.values():
            return self._one(next(iter(weights)), references)  # a name, or {name: 1.0}: no mixing to pay for
        parts = []
        # One reference: the ROUGE types share one scorer (one tokenization per edit), in place of the
        # first. Several: each type has its own best reference, so each its own scorer.
        shared = self.engine == "incremental" and len(references) == 1
        rouge = {n: w for n, w in weights.items() if n in ROUGE_TYPES}
        for name, weight in weights.items():
            if shared and name in rouge:
                if name == next(iter(rouge)):
                    parts.append((1.0, _incremental(rouge, references, self.unit, self.tokenize, self.use_stemmer)))
            else:
                parts.append((weight, self._one(name, references)))
        if len(parts) == 1 and parts[0][0] == 1.0:
            return parts[0][1]  # ROUGE types alone: their scorer already sums them, in the same order
        return WeightedScorer(parts)


def scorer_builder(
    reward: Reward,
    *,
    unit: str = "word",
    tokenize: str = "13a",
    use_stemmer: bool = False,
    engine: str = "incremental",
    extra: Mapping[str, ScorerFactory] | None = None,
) -> ScorerBuilder:
    """Check the settings of :func:`make_scorer` once, for scorers of many references."""
    extra = dict(extra or {})
    shadowed = sorted(set(extra) & set(METRICS))
    if shadowed:
        raise ValueError(f"extra metrics {shadowed} would shadow built-in metrics {METRICS}")
    weights = parse_reward(reward, extra_names=tuple(extra))
    check_unit_kind(unit)
    if engine not in ENGINES:
        raise ValueError(f"engine={engine!r} is not supported; expected one of {ENGINES}")
    check_tokenizer(tokenize)
    if "bleu" in weights:
        sacrebleu_bleu(tokenize)  # fails early if the tokenizer's optional dependency is missing
    return ScorerBuilder(weights, unit, tokenize, use_stemmer, engine, extra)


def make_scorer(
    reward: Reward,
    reference_units: Sequence[str],
    *other_references: Sequence[str],
    unit: str = "word",
    tokenize: str = "13a",
    use_stemmer: bool = False,
    engine: str = "incremental",
    extra: Mapping[str, ScorerFactory] | None = None,
) -> Scorer:
    """A scorer of ``reward`` against ``reference_units`` (and ``other_references``, if any).

    ``tokenize`` is sacrebleu's BLEU tokenizer, ``use_stemmer`` ROUGE's Porter stemming;
    ``extra`` maps further metric names to ``factory(reference_units) -> Scorer``. A single
    name (or ``{name: 1.0}``) gives that metric's scorer; a dict gives a :class:`WeightedScorer`.
    """
    options = {"unit": unit, "tokenize": tokenize, "use_stemmer": use_stemmer, "engine": engine, "extra": extra}
    return scorer_builder(reward, **options)(reference_units, *other_references)
