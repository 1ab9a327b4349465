"""Named difficulty presets: the defaults a ``preset=`` name stands for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Preset:
    """Task defaults. ``dataset=None`` means the procedural generator."""

    vocab_size: int = 30
    sentence_length: tuple[int, int] = (3, 6)
    corruptions: tuple[int, int] = (1, 2)
    num_distractors: int = 3
    punctuation: bool = False
    dataset: str | None = None
    noise: str = "random"
    families: dict[str, Any] | None = None
    """corruption families of ``noise="families"`` (see :mod:`textedit_env.tasks.families`)"""
    observe_reference: bool = True
    edit_vocabulary: int | None = None
    """with the reference hidden: the edit vocabulary's size (None: every word fixes need)"""


PRESETS: dict[str, Preset] = {
    # A handful of distinct sentences: small enough for tabular Q-learning.
    "tiny": Preset(vocab_size=8, sentence_length=(3, 4), corruptions=(1, 1), num_distractors=2),
    # The default of TextEdit-v0: SB3's DQN and PPO make visible progress within minutes.
    "easy": Preset(vocab_size=30, sentence_length=(3, 6), corruptions=(1, 2), num_distractors=3),
    "medium": Preset(vocab_size=100, sentence_length=(5, 9), corruptions=(1, 3), num_distractors=4, punctuation=True),
    "hard": Preset(vocab_size=400, sentence_length=(7, 13), corruptions=(2, 4), num_distractors=6, punctuation=True),
    # The bundled real-English sentences, corrupted by the noise model.
    "english": Preset(corruptions=(1, 3), num_distractors=4, dataset="english"),
    # Longer bundled sentences (15-30 words) and more corruptions: misalignments of any width.
    "english-long": Preset(corruptions=(1, 4), num_distractors=4, dataset="english-long"),
    # Hidden-reference correction: the agent sees the text (and its source), never the reference,
    # and must learn the corruption families to undo them; the generator's endless sentences make
    # them learnable (behaviour cloning from the oracle learns fix-easy and fix-medium).
    "fix-easy": Preset(
        vocab_size=30,
        sentence_length=(3, 6),
        corruptions=(1, 1),
        noise="families",
        families={"article": {"ops": ["double"]}, "agreement": 1.0, "swap": 1.0},
        observe_reference=False,
    ),
    "fix-medium": Preset(
        vocab_size=100,
        sentence_length=(5, 9),
        corruptions=(1, 2),
        punctuation=True,
        noise="families",
        families={"article": 1.0, "agreement": 1.0, "confusion": 1.0, "swap": 1.0},
        observe_reference=False,
    ),
    "fix-hard": Preset(
        vocab_size=400,
        sentence_length=(7, 13),
        corruptions=(2, 3),
        punctuation=True,
        noise="families",
        families={
            "article": 1.0,
            "agreement": 1.0,
            "confusion": {"sets": "all"},
            "swap": {"distance": 2},
            "misspelling": 1.0,
        },
        observe_reference=False,
    ),
    # Real errors and their corrections by annotators (UA-GEC, Ukrainian; pip install 'textedit-env[gec]').
    "fix-ua": Preset(dataset="ua-gec", observe_reference=False, edit_vocabulary=1000),
}


def get_preset(name: str) -> Preset:
    if not isinstance(name, str) or name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; expected one of {sorted(PRESETS)}")
    return PRESETS[name]
