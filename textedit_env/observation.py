"""The integer arrays of the ``"ids"`` observation, kept in one buffer that steps edit in place."""

from __future__ import annotations

import numpy as np

from textedit_env.actions import SLOT_FIRST


class ObservationBuffer:
    """One int64 buffer holding every array of the ``"ids"`` observation.

    A step edits the text's arrays in place (:meth:`edit`), and an observation is one copy of
    the buffer cut into views (:meth:`observation`), a new array object on every call. The
    text's ids and slot codes lie side by side, so an edit shifts both with one slice of a
    two-row view.
    """

    def __init__(self, max_length: int, num_candidates: int, second: str = "reference"):
        """``second``: the text shown beside the current one, ``"reference"`` or (with the reference
        hidden) ``"source"``."""
        self.max_length = max_length
        sizes = {"text": max_length, "text_slots": max_length, second: max_length}
        sizes.update({f"{second}_slots": max_length, "candidates": num_candidates, "lengths": 2})
        self.fields: dict[str, slice] = {}
        offset = 0
        for name, size in sizes.items():
            self.fields[name] = slice(offset, offset + size)
            offset += size
        self._buffer = np.zeros(offset, dtype=np.int64)
        self._bind_views()

    def _bind_views(self) -> None:
        buffer, fields = self._buffer, self.fields
        self.text_ids, self.text_slots = buffer[fields["text"]], buffer[fields["text_slots"]]
        self._text_rows = buffer[: 2 * self.max_length].reshape(2, self.max_length)
        self.candidate_ids, self.lengths = buffer[fields["candidates"]], buffer[fields["lengths"]]

    # Pickling and deep copies copy each array on its own: the views are rebuilt on the copy.
    _VIEWS = ("text_ids", "text_slots", "_text_rows", "candidate_ids", "lengths")

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in self._VIEWS}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._bind_views()

    def start(self, arrays: dict[str, np.ndarray]) -> None:
        """Fill every field from ``arrays`` (name -> values of the field's size)."""
        for name, where in self.fields.items():
            self._buffer[where] = arrays[name]

    def edit(self, op: str, position: int, length: int, slot: int | None) -> None:
        """Mirror an edit of a ``length``-unit text in the text's arrays, shifting their tails in
        place; insert and replace write candidate ``slot``."""
        rows = self._text_rows
        if op == "insert":
            rows[:, position + 1 : length + 1] = rows[:, position:length]  # numpy copes with the overlap
            self.lengths[0] = length + 1
        elif op == "delete":
            rows[:, position : length - 1] = rows[:, position + 1 : length]
            rows[:, length - 1] = 0
            self.lengths[0] = length - 1
        if op != "delete":
            self.text_ids[position] = self.candidate_ids[slot]
            self.text_slots[position] = SLOT_FIRST + slot

    def observation(self) -> dict[str, np.ndarray]:
        buffer = self._buffer.copy()
        return {name: buffer[where] for name, where in self.fields.items()}
