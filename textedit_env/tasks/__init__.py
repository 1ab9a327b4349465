"""Task sets: where the (source, reference) pairs of episodes come from.

A task is a reference and, optionally, a fixed source; tasks without a source get one from
the noise model at every reset. Train and test splits are disjoint sets of references: a
reference belongs to the test split when the CRC-32 of its text is 0 modulo 5 (about 20%),
a rule that does not depend on the order or size of the data.
"""

from __future__ import annotations

import zlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from textedit_env.tasks.datasets import DatasetError, RawPair, load_pairs, pairs_from_iterable
from textedit_env.tasks.generator import SentenceGenerator
from textedit_env.tasks.presets import PRESETS, Preset, get_preset
from textedit_env.units import split_units

SPLITS = ("train", "test", "all")
_DATA = Path(__file__).parent / "data"
BUNDLED = {"english": _DATA / "english.txt", "english-long": _DATA / "english_long.txt"}


@dataclass(frozen=True)
class Task:
    source: tuple[str, ...] | None  # None: the noise model makes one at reset
    reference: tuple[str, ...]


def in_split(reference: Sequence[str], split: str) -> bool:
    if split == "all":
        return True
    is_test = zlib.crc32("\x1f".join(reference).encode("utf-8")) % 5 == 0
    return is_test == (split == "test")


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"split={split!r} is not supported; expected one of {SPLITS}")
    return split


class TaskSet(ABC):
    """A distribution over tasks, with what the environment must size its spaces for."""

    vocabulary: list[str]  # every unit the tasks can contain; the noise model draws from it
    max_units: int  # longest reference or fixed source
    max_unique: int  # most distinct units in one reference

    @abstractmethod
    def draw(self, rng: np.random.Generator) -> Task: ...

    @abstractmethod
    def training_references(self) -> list[tuple[str, ...]]:
        """References of the training split, to fit a language model on."""


class FixedTaskSet(TaskSet):
    """A finite list of tasks, drawn uniformly."""

    def __init__(self, all_tasks: Sequence[Task], split: str, name: str):
        """``all_tasks`` of every split: the vocabulary and sizes cover them all, so that train and
        test environments of one dataset share their spaces."""
        self.tasks = [t for t in all_tasks if in_split(t.reference, split)]
        self.total_tasks = len(all_tasks)  # of every split
        if not self.tasks:
            raise DatasetError(
                f"the {split!r} split of {name} is empty ({len(all_tasks)} tasks in all); "
                "pass split='all' to use every task"
            )
        self.vocabulary = list(dict.fromkeys(u for t in all_tasks for u in t.reference + (t.source or ())))
        self.max_units = max(max(len(t.reference), len(t.source or ())) for t in all_tasks)
        self.max_unique = max(len(set(t.reference)) for t in all_tasks)
        self._train = [t.reference for t in all_tasks if in_split(t.reference, "train")]

    def draw(self, rng: np.random.Generator) -> Task:
        return self.tasks[rng.integers(len(self.tasks))]

    def training_references(self) -> list[tuple[str, ...]]:
        return list(self._train)


class GeneratedTaskSet(TaskSet):
    """An endless stream of generated references of one split."""

    MAX_TRIES = 10_000
    LM_SENTENCES = 2_000

    def __init__(self, generator: SentenceGenerator, split: str, task_seed: int):
        self.generator, self.split, self.task_seed = generator, split, task_seed
        self.vocabulary = generator.vocabulary
        self.max_units = generator.max_words
        self.max_unique = generator.max_words

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


def read_dataset(dataset, unit: str) -> tuple[list[Task], str]:
    """Tasks of a bundled name, a file path or an iterable of pairs, and a name for messages."""
    if isinstance(dataset, str) and dataset in BUNDLED:
        raw, name = load_pairs(BUNDLED[dataset]), f"the bundled {dataset!r} dataset"
    elif isinstance(dataset, (str, Path)):
        raw, name = load_pairs(dataset), str(dataset)
    elif isinstance(dataset, Iterable):
        raw, name = pairs_from_iterable(dataset), "the dataset iterable"
    else:
        raise TypeError(f"dataset must be a bundled name {sorted(BUNDLED)}, a path or an iterable of pairs, got {dataset!r}")
    return [_task(pair, unit) for pair in raw], name


def _task(pair: RawPair, unit: str) -> Task:
    source, reference, where = pair
    try:
        ref_units = tuple(split_units(reference, unit, what="reference"))
        src_units = None if source is None else tuple(split_units(source, unit, what="source"))
    except ValueError as err:
        raise DatasetError(f"{where}: {err}") from None
    if not ref_units:
        raise DatasetError(f"{where}: the reference is empty")
    return Task(src_units, ref_units)


def generated_tasks(generator: SentenceGenerator, count: int, seed: int) -> list[Task]:
    """A fixed list of ``count`` distinct generated references (fewer if the grammar runs out)."""
    rng = np.random.default_rng(seed)
    seen: dict[tuple[str, ...], None] = {}
    for _ in range(count * 100):
        seen.setdefault(tuple(generator.sample(rng)), None)
        if len(seen) == count:
            break
    return [Task(None, r) for r in seen]


__all__ = [
    "BUNDLED", "PRESETS", "SPLITS", "DatasetError", "FixedTaskSet", "GeneratedTaskSet", "Preset",
    "SentenceGenerator", "Task", "TaskSet", "check_split", "generated_tasks", "get_preset", "in_split",
    "read_dataset",
]
