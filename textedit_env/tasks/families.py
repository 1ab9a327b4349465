"""Learnable corruption families: errors of kinds a policy can learn to undo from the text alone.

Each family corrupts a word-level text at a random *site* where it applies, the way people err:

=============  ===============================================================  ==================
family         corruption                                                       difficulty options
=============  ===============================================================  ==================
confusion      a word of a confusion set becomes another member (their/there)   ``sets``
article        an article is dropped, doubled, or swapped (a/an/the)            ``ops``
agreement      a verb's number flips (runs/run, is/are, was/were, has/have)     ``verbs``
swap           two words trade places                                           ``distance``
misspelling    a word becomes one of its common misspellings (recieve)          ``words``
=============  ===============================================================  ==================

Word lists come from packages that ship them: verb inflections from lemminflect's tables,
misspellings from codespell's dictionary (``codespell_lib/data/dictionary.txt``, derived from
Wikipedia's lists of common misspellings, CC BY-SA 3.0). The confusion sets and articles are
short closed lists, written here. A word keeps its capitalisation and the punctuation attached to
it (``"There."`` becomes ``"Their."``).

:meth:`Family.variants` says which words a family can write in place of a word, so that the
observation vocabulary covers every corrupted text; :meth:`Family.corrections` which words a fix
writes, so that a hidden-reference environment's edit vocabulary can express every fix.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any, ClassVar

import numpy as np

from textedit_env.tasks.checks import check_int

# Confusion sets of frequently swapped English words (homophones and near-homophones).
CONFUSION_SETS = {
    "common": (
        ("their", "there", "they're"),
        ("its", "it's"),
        ("your", "you're"),
        ("then", "than"),
        ("to", "too", "two"),
        ("whose", "who's"),
        ("were", "where", "we're"),
        ("affect", "effect"),
        ("lose", "loose"),
        ("accept", "except"),
    ),
    "more": (
        ("quite", "quiet"),
        ("weather", "whether"),
        ("principal", "principle"),
        ("advice", "advise"),
        ("passed", "past"),
        ("lead", "led"),
        ("breath", "breathe"),
        ("of", "off"),
        ("know", "no"),
        ("hear", "here"),
        ("by", "buy"),
        ("new", "knew"),
        ("right", "write"),
        ("week", "weak"),
        ("piece", "peace"),
        ("brake", "break"),
    ),
}
ARTICLES = ("a", "an", "the")
ARTICLE_OPS = ("drop", "double", "swap")
# A word's core: what lies between its leading and trailing punctuation.
_CORE = re.compile(r"^([^\w']*)(.*?)([^\w']*)$")


def split_core(word: str) -> tuple[str, str, str]:
    """``(leading punctuation, core, trailing punctuation)`` of a word unit."""
    return _CORE.match(word).groups()


def _cased(like: str, word: str) -> str:
    """``word`` in the capitalisation of ``like`` (lower, Title or UPPER)."""
    if like.isupper() and len(like) > 1:
        return word.upper()
    return word[:1].upper() + word[1:] if like[:1].isupper() else word


class Family(ABC):
    """One kind of error: where it applies in a text and how it changes it."""

    name: ClassVar[str]

    @abstractmethod
    def sites(self, units: Sequence[str]) -> list[int]:
        """Positions where the family can corrupt ``units``."""

    @abstractmethod
    def corrupt(self, units: list[str], site: int, rng: np.random.Generator) -> None:
        """Corrupt ``units`` in place at ``site`` (one of :meth:`sites`)."""

    def variants(self, word: str) -> list[str]:
        """The words a corruption can write in place of ``word`` (besides moving or copying words)."""
        return []

    def corrections(self, vocabulary: Iterable[str]) -> list[str]:
        """The words of ``vocabulary`` that undoing the family's corruptions of its texts writes."""
        return []


class WordMap(Family):
    """Families that replace a word's core by another from a table (``core -> alternatives``)."""

    @abstractmethod
    def alternatives(self, core: str) -> Sequence[str]:
        """Lower-case replacements of a lower-case core (none: the family does not apply)."""

    def _replacements(self, word: str) -> list[str]:
        lead, core, trail = split_core(word)
        return [lead + _cased(core, alt) + trail for alt in self.alternatives(core.lower()) if alt != core.lower()]

    def sites(self, units: Sequence[str]) -> list[int]:
        return [p for p, word in enumerate(units) if self._replacements(word)]

    def corrupt(self, units: list[str], site: int, rng: np.random.Generator) -> None:
        choices = self._replacements(units[site])
        units[site] = choices[rng.integers(len(choices))]

    def variants(self, word: str) -> list[str]:
        return self._replacements(word)

    def corrections(self, vocabulary: Iterable[str]) -> list[str]:
        # A fix writes the original word back: every vocabulary word this family can corrupt.
        return [word for word in vocabulary if self._replacements(word)]


class Confusion(WordMap):
    name = "confusion"

    def __init__(self, sets: str = "common"):
        if sets not in ("common", "all"):
            raise ValueError(f"confusion sets={sets!r}: expected 'common' or 'all'")
        chosen = CONFUSION_SETS["common"] + (CONFUSION_SETS["more"] if sets == "all" else ())
        self.table = {word: group for group in chosen for word in group}

    def alternatives(self, core: str) -> Sequence[str]:
        return self.table.get(core, ())


class Agreement(WordMap):
    """Number agreement of verbs: third-person singular and plural forms trade places. ``verbs="all"``:
    every verb's present forms (lemminflect's VBZ and VBP: runs/run, carries/carry) and was/were;
    ``"auxiliary"``: only be, have and do (is/are, was/were, has/have, does/do), a closed class."""

    name = "agreement"
    AUXILIARY = {"is": ("are",), "are": ("is",), "was": ("were",), "were": ("was",)}
    AUXILIARY.update({"has": ("have",), "have": ("has",), "does": ("do",), "do": ("does",)})

    def __init__(self, verbs: str = "all"):
        if verbs not in ("all", "auxiliary"):
            raise ValueError(f"agreement verbs={verbs!r}: expected 'all' or 'auxiliary'")
        self.all_verbs = verbs == "all"

    def alternatives(self, core: str) -> Sequence[str]:
        if core in self.AUXILIARY:
            return self.AUXILIARY[core]
        return _number_flips(core) if self.all_verbs else ()


@cache
def _number_flips(core: str) -> tuple[str, ...]:
    """The other number's present forms of a verb form (runs -> run, are -> is); none if not a verb."""
    from lemminflect import getAllLemmas, getInflection

    flips = []
    for lemma in getAllLemmas(core, upos="VERB").get("VERB", ()):
        singular, plural = getInflection(lemma, "VBZ"), getInflection(lemma, "VBP")
        if core in singular:
            flips += [p for p in plural if p != "am"]  # "I am" is the first person's, not plural
        elif core in plural and core != "am":
            flips += list(singular)
    return tuple(dict.fromkeys(f for f in flips if f != core))


class Misspelling(WordMap):
    """Common misspellings from codespell's dictionary, of the ``words`` most frequent words that
    have one (0: every word); each misspelling is one whose only correction is that word."""

    name = "misspelling"

    def __init__(self, words: int = 0, frequency: Sequence[str] = ()):
        self.words = check_int("misspelling words", words, minimum=0)
        table = _misspellings()
        if self.words:
            ranked = [w for w in dict.fromkeys(core.lower() for core in frequency) if w in table]
            table = {w: table[w] for w in ranked[: self.words]}
        self.table = table

    def alternatives(self, core: str) -> Sequence[str]:
        return self.table.get(core, ())


@cache
def _misspellings() -> dict[str, tuple[str, ...]]:
    """correct word -> its misspellings, from codespell's main dictionary (single lower-case words,
    unambiguous corrections only)."""
    text = (resources.files("codespell_lib") / "data" / "dictionary.txt").read_text(encoding="utf-8")
    table: dict[str, list[str]] = {}
    word = re.compile(r"[a-z]+")
    for line in text.splitlines():
        wrong, _, right = line.partition("->")
        fixes = [fix.strip() for fix in right.split(",") if fix.strip()]
        if len(fixes) == 1 and word.fullmatch(wrong) and word.fullmatch(fixes[0]):
            table.setdefault(fixes[0], []).append(wrong)
    return {correct: tuple(wrongs) for correct, wrongs in table.items()}


class Article(Family):
    name = "article"

    def __init__(self, ops: Sequence[str] = ARTICLE_OPS):
        ops = [ops] if isinstance(ops, str) else list(ops)
        if not ops or not set(ops) <= set(ARTICLE_OPS):
            raise ValueError(f"article ops={ops!r}: expected a non-empty list of {ARTICLE_OPS}")
        self.ops = tuple(ops)

    @staticmethod
    def _is_article(word: str) -> bool:
        return word.lower() in ARTICLES

    def sites(self, units: Sequence[str]) -> list[int]:
        # Dropping the only word would leave an empty text.
        usable = [op for op in self.ops if op != "drop" or len(units) > 1]
        return [p for p, word in enumerate(units) if self._is_article(word)] if usable else []

    def corrupt(self, units: list[str], site: int, rng: np.random.Generator) -> None:
        ops = [op for op in self.ops if op != "drop" or len(units) > 1]
        op = ops[rng.integers(len(ops))]
        word = units[site]
        if op == "drop":
            del units[site]
        elif op == "double":
            units.insert(site + 1, word.lower())
        else:
            others = [a for a in ARTICLES if a != word.lower()]
            units[site] = _cased(word, others[rng.integers(len(others))])

    def variants(self, word: str) -> list[str]:
        if not self._is_article(word):
            return []
        return [_cased(word, a) for a in ARTICLES if a != word.lower()] + [word.lower()]

    def corrections(self, vocabulary: Iterable[str]) -> list[str]:
        return [word for word in vocabulary if self._is_article(word)]


class Swap(Family):
    name = "swap"

    def __init__(self, distance: int = 1):
        self.distance = check_int("swap distance", distance)

    def sites(self, units: Sequence[str]) -> list[int]:
        d = self.distance
        return [p for p in range(len(units) - d) if units[p] != units[p + d]]

    def corrupt(self, units: list[str], site: int, rng: np.random.Generator) -> None:
        other = site + self.distance
        units[site], units[other] = units[other], units[site]


FAMILIES: dict[str, type[Family]] = {f.name: f for f in (Confusion, Article, Agreement, Swap, Misspelling)}


def build_families(spec: Mapping[str, Any] | Sequence[str], frequency: Sequence[str] = ()) -> dict[str, tuple]:
    """``{name: (weight, Family)}`` from ``{name: weight}``, ``{name: {"weight": w, option: value}}`` or
    a list of names (weight 1 each); ``frequency``: words most frequent first (misspelling's ``words``)."""
    if isinstance(spec, str) or not isinstance(spec, (Mapping, Sequence)) or not spec:
        raise ValueError(f"families must be a non-empty list of names or dict of name -> weight/options, got {spec!r}")
    items = spec.items() if isinstance(spec, Mapping) else ((name, 1.0) for name in spec)
    families = {}
    for name, setting in items:
        if name not in FAMILIES:
            raise ValueError(f"unknown corruption family {name!r}; expected some of {sorted(FAMILIES)}")
        options = dict(setting) if isinstance(setting, Mapping) else {"weight": setting}
        weight = options.pop("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight > 0:
            raise ValueError(f"families[{name!r}] weight must be a positive number, got {weight!r}")
        if name == "misspelling":
            options["frequency"] = frequency
        try:
            families[name] = (float(weight), FAMILIES[name](**options))
        except TypeError as err:
            raise ValueError(f"families[{name!r}]: {err}") from None
    return families


def corrupt_with_families(
    reference: Sequence[str],
    count: int,
    families: Mapping[str, tuple[float, Family]],
    rng: np.random.Generator,
    max_tries: int = 100,
) -> list[str]:
    """``reference`` with ``count`` corruptions, each from a family drawn by weight among those that
    apply to the text at that point, at one of its sites drawn uniformly.

    The result differs from the reference (corruptions that happen to undo each other are redrawn),
    unless no family applies to it at all: then it is the reference, a text with nothing to fix.
    Each corruption adds at most one unit.
    """
    for _ in range(max_tries):
        units, applied = list(reference), 0
        for _ in range(count):
            applicable = [(w, family, sites) for w, family in families.values() if (sites := family.sites(units))]
            if not applicable:
                break
            weights = np.array([weight for weight, _, _ in applicable])
            _, family, sites = applicable[rng.choice(len(applicable), p=weights / weights.sum())]
            family.corrupt(units, sites[rng.integers(len(sites))], rng)
            applied += 1
        if not applied or units != list(reference):
            return units
    raise ValueError(f"could not corrupt {list(reference)!r} into a different text in {max_tries} tries")
