"""Task sets: where the (source, reference) pairs of episodes come from.

A task is a reference (or several: the first is the one the noise model corrupts and the split
is decided on) and, optionally, a fixed source; tasks without a source get one from the noise
model at every reset. Train and test splits are disjoint sets of references: a reference belongs
to the test split when the CRC-32 of its text is 0 modulo 5 (about 20%), a rule that does not
depend on the order or size of the data.
"""

from __future__ import annotations

import zlib
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from importlib.util import find_spec
from pathlib import Path

import numpy as np

from textedit_env.tasks.checks import check_int, check_range
from textedit_env.tasks.datasets import DatasetError, RawPair, load_pairs, pairs_from_iterable
from textedit_env.tasks.generator import SentenceGenerator
from textedit_env.tasks.presets import PRESETS, Preset, get_preset
from textedit_env.tasks.ua_gec import ua_gec_pairs
from textedit_env.units import split_units

SPLITS = ("train", "test", "all")
_DATA = Path(__file__).parent / "data"
BUNDLED = {"english": _DATA / "english.txt", "english-long": _DATA / "english_long.txt"}
CORPORA = ("ua-gec",)
"""named datasets read from an installed package: ``ua-gec`` (:mod:`textedit_env.tasks.ua_gec`)"""


@dataclass(frozen=True)
class Task:
    source: tuple[str, ...] | None  # None: the noise model makes one at reset
    reference: tuple[str, ...]
    other_references: tuple[tuple[str, ...], ...] = ()
    """further correct texts (a multi-reference metric scores against them all)"""
    split: str | None = None
    """the split a corpus assigns (``"train"`` or ``"test"``); None: decided by :func:`in_split`"""

    @property
    def references(self) -> tuple[tuple[str, ...], ...]:
        return (self.reference, *self.other_references)


def in_split(reference: Sequence[str], split: str) -> bool:
    if split == "all":
        return True
    is_test = zlib.crc32("\x1f".join(reference).encode("utf-8")) % 5 == 0
    return is_test == (split == "test")


def task_in_split(task: Task, split: str) -> bool:
    """The corpus's own split where it gives one, else :func:`in_split` of the (first) reference."""
    if task.split is None or split == "all":
        return in_split(task.reference, split)
    return task.split == split


def check_split(split: str) -> str:
    if not isinstance(split, str) or split not in SPLITS:
        raise ValueError(f"split={split!r} is not supported; expected one of {SPLITS}")
    return split


class TaskSet(ABC):
    """A distribution over tasks, with what the environment must size its spaces for."""

    vocabulary: list[str]  # every unit the tasks can contain; the noise model draws from it
    max_units: int  # longest reference or fixed source
    max_unique: int  # most distinct units in the references of one task
    sourceless: bool  # whether some tasks get their source from the noise model

    @abstractmethod
    def draw(self, rng: np.random.Generator) -> Task: ...

    @abstractmethod
    def training_references(self) -> list[tuple[str, ...]]:
        """References of the training split, to fit a language model on."""

    def training_additions(self) -> set[str]:
        """The units that the training split's references hold beyond their given sources."""
        return set()


class FixedTaskSet(TaskSet):
    """A finite list of tasks, drawn uniformly."""

    def __init__(self, all_tasks: Sequence[Task], split: str, name: str):
        """``all_tasks`` of every split: the vocabulary and sizes cover them all, so that train and
        test environments of one dataset share their spaces."""
        self.tasks = [t for t in all_tasks if task_in_split(t, split)]
        self.total_tasks = len(all_tasks)  # of every split
        if not self.tasks:
            raise DatasetError(
                f"the {split!r} split of {name} is empty ({len(all_tasks)} tasks in all); "
                "pass split='all' to use every task"
            )
        self.vocabulary = list(
            dict.fromkeys(u for t in all_tasks for text in (*t.references, t.source or ()) for u in text)
        )
        self.max_units = max(len(text) for t in all_tasks for text in (*t.references, t.source or ()))
        self.max_unique = max(len(set().union(*t.references)) for t in all_tasks)
        self.sourceless = any(t.source is None for t in all_tasks)
        train = [t for t in all_tasks if task_in_split(t, "train")]
        self._train = [r for t in train for r in t.references]
        self._additions = {
            unit for t in train if t.source is not None for r in t.references for unit in Counter(r) - Counter(t.source)
        }

    def draw(self, rng: np.random.Generator) -> Task:
        return self.tasks[rng.integers(len(self.tasks))]

    def training_references(self) -> list[tuple[str, ...]]:
        return list(self._train)

    def training_additions(self) -> set[str]:
        return set(self._additions)


class GeneratedTaskSet(TaskSet):
    """An endless stream of generated references of one split."""

    MAX_TRIES = 10_000
    LM_SENTENCES = 2_000

    def __init__(self, generator: SentenceGenerator, split: str, task_seed: int):
        self.generator, self.split, self.task_seed = generator, split, task_seed
        self.vocabulary = generator.vocabulary
        self.max_units = generator.max_words
        self.max_unique = generator.max_words
        self.sourceless = True

    def draw(self, rng: np.random.Generator) -> Task:
        for _ in range(self.MAX_TRIES):
            reference = tuple(self.generator.sample(rng))
            if in_split(reference, self.split):
                return Task(None, reference)
        raise RuntimeError(f"the generator made no sentence of the {self.split!r} split in {self.MAX_TRIES} draws")

    def training_references(self) -> list[tuple[str, ...]]:
        train = GeneratedTaskSet(self.generator, "train", self.task_seed)
        rng = np.random.default_rng(self.task_seed)
        return [train.draw(rng).reference for _ in range(self.LM_SENTENCES)]


def available_presets() -> list[str]:
    """The presets whose data can be read here: all but those of a corpus whose package is missing."""
    return sorted(name for name, p in PRESETS.items() if p.dataset not in CORPORA or find_spec("ua_gec") is not None)


def read_dataset(dataset, unit: str) -> tuple[list[Task], str]:
    """Tasks of a bundled name, a file path, a mapping source -> reference or an iterable of
    ``(source, reference)`` pairs or references, and a name for messages."""
    if isinstance(dataset, str) and dataset in CORPORA:
        pairs = ua_gec_pairs()
        return [replace(_task((src, list(refs), "UA-GEC"), unit), split=split) for src, refs, split in pairs], "UA-GEC"
    if isinstance(dataset, str) and dataset in BUNDLED:
        raw, name = load_pairs(BUNDLED[dataset]), f"the bundled {dataset!r} dataset"
    elif isinstance(dataset, (str, Path)):
        raw, name = load_pairs(dataset), str(dataset)
    elif isinstance(dataset, Mapping):
        raw, name = pairs_from_iterable(dataset.items()), "the dataset mapping"
    elif isinstance(dataset, Iterable) and not isinstance(dataset, (bytes, bytearray)):
        raw, name = pairs_from_iterable(dataset), "the dataset iterable"
    else:
        raise ValueError(
            f"dataset must be a bundled name {sorted(BUNDLED)}, a corpus {list(CORPORA)}, a path, a mapping "
            "source -> reference or an "
            f"iterable of (source, reference) pairs, got {type(dataset).__name__}"
        )
    return [_task(pair, unit) for pair in raw], name


def _task(pair: RawPair, unit: str) -> Task:
    source, references, where = pair
    try:
        refs = tuple(tuple(split_units(reference, unit, what="reference")) for reference in references)
        src_units = None if source is None else tuple(split_units(source, unit, what="source"))
    except ValueError as err:
        raise DatasetError(f"{where}: {err}") from None
    if not all(refs):
        raise DatasetError(f"{where}: the reference is empty")
    return Task(src_units, refs[0], refs[1:])


# Draws in a row that find no new sentence before the generator counts as exhausted.
STALL_DRAWS = 10_000


def generated_tasks(generator: SentenceGenerator, count: int, seed: int) -> list[Task]:
    """A fixed list of ``count`` distinct generated references; ``ValueError`` if the grammar
    makes fewer (found at once from its size, or after ``STALL_DRAWS`` draws without a new one)."""
    most = generator.max_sentences()
    if count > most:
        raise ValueError(f"num_tasks={count} is more than the {most} distinct sentences these generator settings make")
    rng = np.random.default_rng(seed)
    seen: dict[tuple[str, ...], None] = {}
    stalled = 0
    while len(seen) < count:
        before = len(seen)
        seen.setdefault(tuple(generator.sample(rng)), None)
        stalled = 0 if len(seen) > before else stalled + 1
        if stalled == STALL_DRAWS:
            raise ValueError(
                f"num_tasks={count}: the generator found only {len(seen)} distinct sentences "
                f"({STALL_DRAWS} draws in a row found no new one); lower num_tasks or widen vocab_size/sentence_length"
            )
    return [Task(None, r) for r in seen]


def build_task_set(
    preset: Preset,
    dataset,
    split: str,
    unit: str,
    vocab_size: int | None = None,
    sentence_length: tuple[int, int] | None = None,
    num_tasks: int | None = None,
    task_seed: int = 0,
) -> TaskSet:
    """The task set of the environment's arguments: the dataset's (``dataset`` or the preset's),
    else the generator's, an endless stream or a fixed ``num_tasks`` set of ``task_seed``."""
    dataset = preset.dataset if dataset is None else dataset
    if dataset is not None:
        if num_tasks is not None or vocab_size is not None or sentence_length is not None:
            raise ValueError("num_tasks, vocab_size and sentence_length apply to the generator, not to a dataset")
        tasks, name = read_dataset(dataset, unit)
        return FixedTaskSet(tasks, split, name)
    if unit != "word":
        raise ValueError("the sentence generator makes words; pass a dataset to edit characters (unit='char')")
    low, high = check_range("sentence_length", preset.sentence_length if sentence_length is None else sentence_length)
    size = check_int("vocab_size", preset.vocab_size if vocab_size is None else vocab_size)
    generator = SentenceGenerator(size, low, high, preset.punctuation)
    if num_tasks is None:
        return GeneratedTaskSet(generator, split, task_seed)
    tasks = generated_tasks(generator, check_int("num_tasks", num_tasks), task_seed)
    return FixedTaskSet(tasks, split, f"the generated set of num_tasks={num_tasks}")


__all__ = [
    "BUNDLED",
    "CORPORA",
    "PRESETS",
    "SPLITS",
    "DatasetError",
    "FixedTaskSet",
    "GeneratedTaskSet",
    "Preset",
    "SentenceGenerator",
    "Task",
    "TaskSet",
    "available_presets",
    "build_task_set",
    "check_split",
    "generated_tasks",
    "get_preset",
    "in_split",
    "read_dataset",
]
