"""The words that insert and replace actions can write in an episode: its *candidates*, by slot.

With the reference observed (``TextEdit-v0``'s default) they are the references' distinct units
plus distractors, in a random order drawn every episode, so every reference is expressible and an
action id names a slot, not a word.

With the reference hidden (``observe_reference=False``) no candidate may depend on the reference,
nor show which words it holds. The candidates are then an *edit vocabulary*, a fixed list of the
words fixes write (as GECToR's edit labels are), followed by the source's own words that it lacks,
in order of first occurrence: a function of the source alone, the same order in every episode.
The edit vocabulary comes from the training split only (the test split's references never shape
the action space):

- the corruption families' correction words (``noise="families"``): the training vocabulary's
  words that a family can corrupt, which a fix writes back;
- the words the training split's references hold beyond their given sources (data with sources);
- the whole training vocabulary where the noise model writes arbitrary words (``"random"``,
  ``"lm"``) or nothing is given (``"empty"``);

most frequent first. ``edit_vocabulary=N`` keeps the N most frequent of those, or adds the most
frequent other training words up to N; a list of words is taken as it is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from textedit_env.tasks import TaskSet
from textedit_env.tasks.checks import check_int
from textedit_env.units import check_word, unique_in_order


def draw_visible_candidates(
    references: Sequence[Sequence[str]],
    source: Sequence[str],
    num_distractors: int,
    num_candidates: int,
    pool: Sequence[str],
    rng: np.random.Generator,
) -> list[str]:
    """The references' distinct units plus distractors, shuffled by the episode's generator."""
    words = unique_in_order([unit for reference in references for unit in reference])
    taken = set(words)
    budget = min(num_distractors, num_candidates - len(words))
    # The source's wrong units first (plausible confusions), then random vocabulary words; a small
    # vocabulary may run out of distinct words, so the draws are bounded.
    distractors = [u for u in unique_in_order(source) if u not in taken][:budget]
    taken.update(distractors)
    for index in rng.integers(len(pool), size=4 * budget).tolist():  # one call: cheaper than 4 * budget
        if len(distractors) >= budget:
            break
        word = pool[index]
        if word not in taken:
            distractors.append(word)
            taken.add(word)
    words += distractors
    return [words[i] for i in rng.permutation(len(words)).tolist()]


def source_additions(edit_set: frozenset[str], source: Sequence[str]) -> list[str]:
    """The source's distinct units outside the edit vocabulary: the hidden-reference candidates are
    the edit vocabulary followed by these, nothing of the reference."""
    return [u for u in unique_in_order(source) if u not in edit_set]


def training_frequency(task_set: TaskSet) -> Counter:
    """Unit counts over the training split's references."""
    return Counter(unit for reference in task_set.training_references() for unit in reference)


def needed_words(task_set: TaskSet, noise: str, families: Mapping, frequency: Counter) -> list[str]:
    """The training split's words that fixes write (see the module docstring), most frequent first."""
    by_frequency = [word for word, _ in frequency.most_common()]
    needed: set[str] = set()
    if noise == "families":
        for _, family in families.values():
            needed.update(family.corrections(by_frequency))
    elif task_set.sourceless:
        needed.update(by_frequency)
    needed.update(task_set.training_additions())
    return [word for word in by_frequency if word in needed]


def build_edit_vocabulary(
    spec: None | int | Iterable[str], task_set: TaskSet, noise: str, families: Mapping, unit: str, frequency: Counter
) -> list[str]:
    """The hidden-reference edit vocabulary of ``edit_vocabulary=spec`` (see the module docstring);
    ``frequency``: :func:`training_frequency` of the task set."""
    if spec is not None and not isinstance(spec, (int, np.integer)):
        if isinstance(spec, str) or not isinstance(spec, Iterable):
            raise ValueError(f"edit_vocabulary must be None, a number of words or a list of words, got {spec!r}")
        words = unique_in_order([check_word(word, unit) for word in spec])
        if not words:
            raise ValueError("edit_vocabulary is an empty list")
        return words
    words = needed_words(task_set, noise, families, frequency)
    if spec is None:
        return words
    size = check_int("edit_vocabulary", spec)
    chosen = set(words[:size])
    extra = (word for word, _ in frequency.most_common() if word not in chosen)
    return words[:size] + [word for _, word in zip(range(size - len(chosen)), extra)]
