"""Vocabulary: the integer ids that observations use for units."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1


class Vocabulary:
    """Maps units to ids. Id 0 pads arrays; id 1 stands for any unit outside the vocabulary."""

    def __init__(self, units: Iterable[str]):
        self.itos: list[str] = [PAD, UNK]
        self.stoi: dict[str, int] = {PAD: PAD_ID, UNK: UNK_ID}
        for unit in units:
            if unit not in self.stoi:
                self.stoi[unit] = len(self.itos)
                self.itos.append(unit)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, unit: str) -> bool:
        return unit in self.stoi

    def id(self, unit: str) -> int:
        return self.stoi.get(unit, UNK_ID)

    def encode(self, units: Sequence[str], length: int) -> np.ndarray:
        """Ids of ``units`` padded with ``PAD_ID`` to ``length`` (a new array every call)."""
        ids = np.zeros(length, dtype=np.int64)
        ids[: len(units)] = [self.stoi.get(u, UNK_ID) for u in units]
        return ids
