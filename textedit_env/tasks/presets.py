"""Named difficulty presets: the defaults a ``preset=`` name stands for."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    """Task defaults. ``dataset=None`` means the procedural generator."""

    vocab_size: int = 30
    sentence_length: tuple[int, int] = (3, 6)
    corruptions: tuple[int, int] = (1, 2)
    num_distractors: int = 3
    punctuation: bool = False
    dataset: str | None = None


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
}


def get_preset(name: str) -> Preset:
    if not isinstance(name, str) or name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; expected one of {sorted(PRESETS)}")
    return PRESETS[name]
