"""A seeded procedural generator of English-like sentences from a small grammar.

    S   -> NP VP [PP] ["."]
    NP  -> Det [Adj] Noun
    VP  -> [Adv] Verb [NP]

The vocabulary size picks how many of each word class (a prefix of each list in
:mod:`textedit_env.tasks.lexicon`); the length range picks which optional parts appear.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from textedit_env.tasks import lexicon

# Share of the vocabulary that each word class gets, in a fixed order.
_CLASSES = (
    ("D", lexicon.DETERMINERS, 0.08),
    ("N", lexicon.NOUNS, 0.40),
    ("V", lexicon.VERBS, 0.25),
    ("A", lexicon.ADJECTIVES, 0.17),
    ("P", lexicon.PREPOSITIONS, 0.05),
    ("R", lexicon.ADVERBS, 0.05),
)
MIN_VOCAB = 6
MAX_VOCAB = sum(len(words) for _, words, _ in _CLASSES)


def _templates(punctuation: bool) -> list[tuple[str, ...]]:
    """Every sequence of word classes the grammar can produce."""
    out = []
    for subj_adj, adv, obj, obj_adj, pp, pp_adj in itertools.product((0, 1), repeat=6):
        if (obj_adj and not obj) or (pp_adj and not pp):
            continue
        t = ["D"] + ["A"] * subj_adj + ["N"] + ["R"] * adv + ["V"]
        if obj:
            t += ["D"] + ["A"] * obj_adj + ["N"]
        if pp:
            t += ["P", "D"] + ["A"] * pp_adj + ["N"]
        if punctuation:
            t.append(".")
        out.append(tuple(t))
    return out


class SentenceGenerator:
    """Draws sentences with ``min_words <= length <= max_words`` over ``vocab_size`` words."""

    def __init__(self, vocab_size: int, min_words: int, max_words: int, punctuation: bool = False):
        if not MIN_VOCAB <= vocab_size <= MAX_VOCAB:
            raise ValueError(f"vocab_size must be between {MIN_VOCAB} and {MAX_VOCAB}, got {vocab_size}")
        if min_words < 1 or max_words < min_words:
            raise ValueError(f"sentence length range must satisfy 1 <= min <= max, got ({min_words}, {max_words})")
        self.words = self._allocate(vocab_size)
        self.templates = [t for t in _templates(punctuation) if min_words <= len(t) <= max_words]
        if not self.templates:
            raise ValueError(
                f"the grammar makes no sentence of {min_words} to {max_words} words "
                f"(it makes {min(map(len, _templates(punctuation)))} to {max(map(len, _templates(punctuation)))})"
            )
        if punctuation:
            self.words["."] = ["."]
        self.max_words = max(map(len, self.templates))

    @staticmethod
    def _allocate(vocab_size: int) -> dict[str, list[str]]:
        counts = {name: min(len(words), max(1, int(share * vocab_size))) for name, words, share in _CLASSES}
        lists = {name: words for name, words, _ in _CLASSES}
        # Every class keeps at least one word; trim the largest classes to fit small sizes,
        # then hand the rounding remainder to nouns, verbs, adjectives... in turn.
        while sum(counts.values()) > vocab_size:
            counts[max(counts, key=counts.get)] -= 1
        for name in itertools.cycle("NVADPR"):
            missing = vocab_size - sum(counts.values())
            if missing <= 0:
                break
            if counts[name] < len(lists[name]):
                counts[name] += 1
        return {name: lists[name][: counts[name]] for name in counts}

    def max_sentences(self) -> int:
        """How many sentences the templates can spell: the number of distinct ones, or more
        when one word belongs to two classes."""
        return sum(math.prod(len(self.words[c]) for c in template) for template in self.templates)

    @property
    def vocabulary(self) -> list[str]:
        return [w for words in self.words.values() for w in words]

    def sample(self, rng: np.random.Generator) -> list[str]:
        template = self.templates[rng.integers(len(self.templates))]
        return [self.words[c][rng.integers(len(self.words[c]))] for c in template]
