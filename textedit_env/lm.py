"""A word n-gram language model, and a fluency scorer built on it.

The model estimates ``P(w_i | w_{i-n+1..i-1})`` from counts of n-grams in padded training
sentences (``<s>`` * (order-1) on the left, ``</s>`` at the end). ``C(h)``, the count of a
context, is the number of times ``h`` is followed by a token (``sum_w C(h w)``), so every
estimate below is a distribution over the vocabulary.

Smoothing:

* ``"kneser-ney"``: interpolated Kneser-Ney (Chen & Goodman 1998) with one absolute
  discount ``D``; the highest order uses raw counts, lower orders continuation counts
  ``N1+(. h w)``, and the recursion ends in the uniform distribution over the vocabulary,
  so every word (``<unk>`` included) gets non-zero probability. A context never seen at
  some order backs off entirely to the next lower order.
* ``"add-k"``: ``(C(h w) + k) / (C(h) + k |V|)`` on the highest order.
* ``"mle"``: ``C(h w) / C(h)``; zero for unseen n-grams and unseen contexts.

:class:`FluencyScorer` exposes ``fluency(words) = exp(mean per-token log-prob)`` (one over
the sentence perplexity) through the environment's :class:`Scorer` interface.
"""

from __future__ import annotations

import functools
import json
import math
import os
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from textedit_env.metrics.base import Edit, Scorer

BOS, EOS, UNK = "<s>", "</s>", "<unk>"
SMOOTHINGS = ("kneser-ney", "add-k", "mle")
_FORMAT = "textedit-env/ngram-lm"
_FORMAT_VERSION = 1
_LOGPROB_CACHE_SIZE = 1 << 18
# The distribution cache holds one float64 array of the vocabulary's size per context: its
# entry count is set so that a full cache stays within this many bytes, whatever the vocabulary.
DISTRIBUTION_CACHE_BYTES = 64 << 20

Context = tuple[str, ...]
MAX_ORDER = 10
"""the highest order a model may have: every sentence is padded with order - 1 start marks, and each
order keeps a table of contexts (order 1,000 exhausted 24 GB on 600 sentences)"""


def _log(p: float) -> float:
    # Unsmoothed estimates can be exactly zero; log(0) is -inf rather than an error.
    return math.log(p) if p > 0 else -math.inf


def _mean_exp(logprobs: Sequence[float]) -> float:
    # fsum is correctly rounded, so the result does not depend on how the list was built.
    return math.exp(math.fsum(logprobs) / len(logprobs))


class NGramLM:
    """Word n-gram language model with Kneser-Ney, add-k or no smoothing."""

    def __init__(
        self,
        order: int = 3,
        smoothing: str = "kneser-ney",
        discount: float = 0.75,
        k: float = 1.0,
    ) -> None:
        if isinstance(order, bool) or not isinstance(order, int) or not 1 <= order <= MAX_ORDER:
            raise ValueError(f"order must be an integer from 1 to {MAX_ORDER}, got {order!r}")
        if smoothing not in SMOOTHINGS:
            raise ValueError(f"unknown smoothing {smoothing!r}; expected one of {SMOOTHINGS}")
        if not 0 < discount < 1:
            raise ValueError(f"discount must lie in the open interval (0, 1), got {discount!r}")
        if not k > 0:
            raise ValueError(f"k must be > 0, got {k!r}")
        self.order = order
        self.smoothing = smoothing
        self.discount = float(discount)
        self.k = float(k)
        self._set_counts({})

    # ----------------------------------------------------------------- training and I/O

    def fit(self, sentences: Iterable[Sequence[str]]) -> NGramLM:
        """Count the n-grams of ``sentences`` (lists of words), replacing any earlier fit."""
        sentences = [list(s) for s in sentences]
        if not any(sentences):
            raise ValueError("empty corpus: fit needs at least one non-empty sentence")
        counts: Counter[tuple[str, ...]] = Counter()
        for words in sentences:
            padded = self._pad(words)
            counts.update(tuple(padded[i : i + self.order]) for i in range(len(words) + 1))
        self._set_counts(counts)
        return self

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the settings and the raw n-gram counts as JSON; the rest is derived on load."""
        data = {
            "format": _FORMAT,
            "version": _FORMAT_VERSION,
            "order": self.order,
            "smoothing": self.smoothing,
            "discount": self.discount,
            "k": self.k,
            "ngrams": [[list(gram), count] for gram, count in sorted(self._ngrams.items())],
        }
        with open(path, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> NGramLM:
        """Read a model written by :meth:`save`; ``ValueError`` naming the file if it is not one."""
        name = os.fspath(path)
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except OSError as err:
            raise ValueError(f"cannot read the language model file {name!r}: {err.strerror or err}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"the language model file {name!r} is not valid JSON ({err})") from None
        if not isinstance(data, dict) or data.get("format") != _FORMAT or data.get("version") != _FORMAT_VERSION:
            raise ValueError(f"{name!r} is not a version-{_FORMAT_VERSION} {_FORMAT} file")
        missing = [key for key in ("order", "smoothing", "discount", "k", "ngrams") if key not in data]
        if missing:
            raise ValueError(f"the language model file {name!r} lacks the field(s) {missing}")
        try:
            model = cls(data["order"], data["smoothing"], data["discount"], data["k"])
            model._set_counts(_ngram_counts(data["ngrams"], model.order))
        except (TypeError, ValueError) as err:
            raise ValueError(f"the language model file {name!r} is malformed: {err}") from None
        return model

    def _set_counts(self, ngrams: dict[tuple[str, ...], int]) -> None:
        """Derive the vocabulary and per-order tables from the highest-order counts."""
        self._ngrams = dict(ngrams)
        vocab = ({gram[-1] for gram in ngrams} | {EOS, UNK}) if ngrams else set()
        self._vocab: tuple[str, ...] = tuple(sorted(vocab))
        self._index = {w: i for i, w in enumerate(self._vocab)}
        self._special = np.array([w in (EOS, UNK) for w in self._vocab], dtype=bool)

        # _followers[m][h][w]: count of w after the (m-1)-word context h at order m; raw
        # counts at the highest order, continuation counts N1+(. h w) below it (Kneser-Ney).
        n = self.order
        levels: list[dict[Context, dict[str, int]]] = [{} for _ in range(n + 1)]
        for gram, count in ngrams.items():
            levels[n].setdefault(gram[:-1], {})[gram[-1]] = count
        suffixes = set(ngrams)
        for m in range(n - 1, 0, -1):
            # Every (m+1)-gram type ending in "h w" has a distinct left word, so counting
            # the types counts the distinct left neighbours of "h w".
            continuation: defaultdict[Context, Counter[str]] = defaultdict(Counter)
            for gram in suffixes:
                continuation[gram[-m:-1]][gram[-1]] += 1
            levels[m] = {h: dict(c) for h, c in continuation.items()}
            suffixes = {gram[1:] for gram in suffixes}
        self._followers = levels
        self._totals = [{h: sum(ws.values()) for h, ws in level.items()} for level in levels]

        self._new_caches()

    def _new_caches(self) -> None:
        # Fresh caches: a refit must not serve probabilities of the old counts.
        self._logprob_cached = functools.lru_cache(maxsize=_LOGPROB_CACHE_SIZE)(self._logprob)
        entries = max(1, DISTRIBUTION_CACHE_BYTES // (8 * max(len(self._vocab), 1)))
        self._distribution = functools.lru_cache(maxsize=entries)(self._distribution_uncached)

    # Caches wrap bound methods, which do not pickle: drop them and build them anew, so that
    # environments holding a model can be pickled (vector environments, checkpoints, deepcopy).
    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in ("_logprob_cached", "_distribution")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if "_ngrams" in state:
            self._new_caches()

    # ----------------------------------------------------------------- probabilities

    @property
    def vocabulary(self) -> tuple[str, ...]:
        """The words the model predicts, sorted: training words, ``</s>`` and ``<unk>``."""
        return self._vocab

    def prob(self, word: str, context: Sequence[str]) -> float:
        """Smoothed ``P(word | context)``; ``context`` is the words before ``word``."""
        return self._prob(*self._key(word, context))

    def logprob(self, word: str, context: Sequence[str]) -> float:
        """Natural log of :meth:`prob` (``-inf`` for a zero ``"mle"`` estimate)."""
        return self._logprob_cached(*self._key(word, context))

    def mle(self, word: str, context: Sequence[str]) -> float:
        """Plain ``C(h w) / C(h)`` at the highest order, whatever the smoothing."""
        return self._mle(*self._key(word, context))

    def token_logprobs(self, words: Sequence[str]) -> list[float]:
        """Log-prob of each word of the sentence and of the closing ``</s>``."""
        padded = self._pad(words)
        return [self._token_logprob(padded, i) for i in range(len(words) + 1)]

    def sentence_logprob(self, words: Sequence[str]) -> float:
        return math.fsum(self.token_logprobs(words))

    def fluency(self, words: Sequence[str]) -> float:
        """``exp`` of the mean log-prob over the words and ``</s>``: 1 / sentence perplexity."""
        return _mean_exp(self.token_logprobs(words))

    def perplexity(self, sentences: Iterable[Sequence[str]]) -> float:
        """``exp`` of minus the mean log-prob over all tokens, ``</s>`` included."""
        logprobs = [lp for words in sentences for lp in self.token_logprobs(words)]
        if not logprobs:
            raise ValueError("perplexity needs at least one sentence")
        return 1.0 / _mean_exp(logprobs)

    def sample_next(
        self,
        context: Sequence[str],
        rng: np.random.Generator,
        exclude: Iterable[str] = (),
    ) -> str:
        """Draw a word to follow ``context`` from the smoothed distribution.

        Never returns ``<s>``, ``</s>``, ``<unk>`` or a word in ``exclude``; the remaining
        probabilities are renormalised.
        """
        weights = self._distribution(self._context(context)).copy()
        weights[self._special] = 0.0
        for word in exclude:
            if word in self._index:
                weights[self._index[word]] = 0.0
        total = weights.sum()
        if not total > 0:
            raise ValueError(f"no word left to sample after context {list(context)!r}")
        return self._vocab[rng.choice(len(weights), p=weights / total)]

    def scorer(self, reference_units: Sequence[str]) -> FluencyScorer:
        """Scorer factory for the environment; fluency ignores the reference."""
        return FluencyScorer(self)

    # ----------------------------------------------------------------- internals

    def _pad(self, words: Sequence[str]) -> list[str]:
        return [BOS] * (self.order - 1) + list(words) + [EOS]

    def _token_logprob(self, padded: Sequence[str], i: int) -> float:
        """Log-prob of the i-th predicted token of a padded sentence."""
        return self.logprob(padded[i + self.order - 1], padded[i : i + self.order - 1])

    def _key(self, word: str, context: Sequence[str]) -> tuple[Context, str]:
        """Canonical (context, word), the form the tables and caches are keyed by."""
        return self._context(context), (word if word in self._index else UNK)

    def _context(self, context: Sequence[str]) -> Context:
        """The last order-1 words, ``<s>``-padded on the left, OOV words as ``<unk>``."""
        if not self._vocab:
            raise ValueError("the model is not fitted; call fit() or load() first")
        width = self.order - 1
        recent = list(context)[len(context) - width :] if width else []
        padded = [BOS] * (width - len(recent)) + recent
        return tuple(w if w in self._index or w == BOS else UNK for w in padded)

    def _logprob(self, context: Context, word: str) -> float:
        return _log(self._prob(context, word))

    def _prob(self, context: Context, word: str) -> float:
        if self.smoothing == "kneser-ney":
            return self._kneser_ney(context, word)
        if self.smoothing == "mle":
            return self._mle(context, word)
        count = self._followers[self.order].get(context, {}).get(word, 0)
        total = self._totals[self.order].get(context, 0)
        return (count + self.k) / (total + self.k * len(self._vocab))

    def _mle(self, context: Context, word: str) -> float:
        total = self._totals[self.order].get(context, 0)
        return self._followers[self.order][context].get(word, 0) / total if total else 0.0

    def _kneser_ney(self, context: Context, word: str) -> float:
        """Interpolated KN at order len(context)+1, recursing down to the uniform."""
        lower = self._kneser_ney(context[1:], word) if context else 1.0 / len(self._vocab)
        followers = self._followers[len(context) + 1].get(context)
        if not followers:
            return lower
        total = self._totals[len(context) + 1][context]
        discounted = max(followers.get(word, 0) - self.discount, 0.0)
        return (discounted + self.discount * len(followers) * lower) / total

    def _distribution_uncached(self, context: Context) -> np.ndarray:
        return np.array([self._prob(context, w) for w in self._vocab])


def _ngram_counts(rows, order: int) -> dict[tuple[str, ...], int]:
    """The ``ngrams`` field of a saved model: ``[[words...], count]`` rows of ``order`` words."""
    if not isinstance(rows, list):
        raise ValueError(f"'ngrams' must be a list, got {type(rows).__name__}")
    counts = {}
    for i, row in enumerate(rows):
        ok = isinstance(row, list) and len(row) == 2 and isinstance(row[0], list) and len(row[0]) == order
        if not (ok and all(isinstance(w, str) for w in row[0]) and type(row[1]) is int and row[1] > 0):
            raise ValueError(f"'ngrams' row {i} is not [[{order} words], positive count]: {row!r}"[:200])
        counts[tuple(row[0])] = row[1]
    return counts


def language_model(
    lm: NGramLM | str | os.PathLike | None, order: int, needed: bool, training: Callable[[], Iterable[Sequence[str]]]
) -> NGramLM | None:
    """The environment's model: ``lm`` itself, the model saved at path ``lm``, or, when
    ``needed`` (``noise="lm"`` or a fluency reward), a new one of ``order`` fit on ``training()``."""
    if isinstance(order, bool) or not isinstance(order, int) or not 1 <= order <= MAX_ORDER:
        raise ValueError(f"lm_order must be an integer from 1 to {MAX_ORDER}, got {order!r}")
    if isinstance(lm, (str, Path, os.PathLike)):
        return NGramLM.load(lm)
    if lm is not None:
        if not isinstance(lm, NGramLM):
            raise ValueError(f"lm must be an NGramLM or a path to a saved one, got {type(lm).__name__}")
        return lm
    return NGramLM(order=order).fit(training()) if needed else None


class FluencyScorer(Scorer):
    """Fluency of the hypothesis under an :class:`NGramLM`, updated per edit.

    Keeps one log-prob per token (words and ``</s>``). An edit at word position ``p``
    changes only the tokens whose n-gram window covers it, tokens ``p .. p+order-1``; those
    are rescored (through the model's cache) and the rest are kept. The score is
    ``exp(fsum(logprobs) / len(logprobs))``: fsum is exact, so the score is bit-identical
    to :meth:`NGramLM.fluency` of the same text, with no drift over long edit sequences.
    """

    def __init__(self, lm: NGramLM) -> None:
        self._lm = lm
        self.set_hypothesis([])

    def set_hypothesis(self, units: Sequence[str]) -> float:
        self._words = list(units)
        self._logprobs = self._lm.token_logprobs(self._words)
        return self.score

    @property
    def score(self) -> float:
        return _mean_exp(self._logprobs)

    def __len__(self) -> int:
        return len(self._words)

    def apply(self, edit: Edit) -> float:
        self._words, self._logprobs = self._edited(edit)
        return self.score

    def preview(self, edits: Sequence[Edit]) -> list[float]:
        return [_mean_exp(self._edited(edit)[1]) for edit in edits]

    @property
    def logprob(self) -> float:
        """Log-probability of the whole hypothesis (its words and ``</s>``)."""
        return math.fsum(self._logprobs)

    def preview_logprobs(self, edits: Sequence[Edit]) -> list[float]:
        """:attr:`logprob` the hypothesis would have after each edit alone; the state is unchanged."""
        return [math.fsum(self._edited(edit)[1]) for edit in edits]

    def _edited(self, edit: Edit) -> tuple[list[str], list[float]]:
        """Words and per-token log-probs after ``edit``, built without touching the state."""
        words = list(self._words)
        edit.apply(words)
        logprobs = list(self._logprobs)
        p = edit.position
        if edit.op == "insert":
            logprobs.insert(p, 0.0)  # placeholder, rescored below
        elif edit.op == "delete":
            del logprobs[p]
        padded = self._lm._pad(words)
        for i in range(p, min(p + self._lm.order, len(logprobs))):
            logprobs[i] = self._lm._token_logprob(padded, i)
        return words, logprobs
