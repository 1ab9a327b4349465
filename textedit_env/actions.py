"""The flat ``Discrete`` action layout and its validity rules.

With ``L = max_length`` positions and ``K = num_candidates`` word slots, action ids are laid
out as::

    0                                stop
    1 + p                            delete the unit at position p        (0 <= p < L)
    1 + L + p*K + k                  insert candidate k at position p     (0 <= p <= L)
    1 + L + (L+1)*K + p*K + k        replace the unit at p by candidate k (0 <= p < L)

so ``n = 1 + L + (L+1)*K + L*K``. The word of an insert or replace is one of the episode's
*candidates* (the reference's distinct units plus distractors), never the whole vocabulary:
the action space stays the same size however large the corpus is. It is capped at
``MAX_ACTIONS`` ids: a larger space (a 200,000-word reference with as many distinct words, or
``max_length=10**6``) is refused at construction, before masks and reward tables of that size
are ever built.
"""

from __future__ import annotations

import numpy as np

from textedit_env.metrics.base import EDIT_OPS

OPS = (*EDIT_OPS, "stop")
"""the action ops: an edit of the text, or stop"""
STOP_ACTION = 0
"""the stop action's id, the same in every layout"""
# Codes of the ``text_slots`` / ``reference_slots`` observations: 0 pads, 1 is a unit that is no
# candidate, 2 + k is candidate k.
SLOT_OTHER, SLOT_FIRST = 1, 2
# The most action ids an environment may have: a mask is a byte and a reward table 8 bytes per id.
MAX_ACTIONS = 10_000_000


class ActionCodec:
    def __init__(self, max_length: int, num_candidates: int):
        n = 1 + max_length + (2 * max_length + 1) * num_candidates
        if n > MAX_ACTIONS:
            raise ValueError(
                f"the action space would have {n:,} actions (max_length={max_length}, num_candidates="
                f"{num_candidates}), more than MAX_ACTIONS={MAX_ACTIONS:,}; use shorter texts with fewer distinct "
                "units, a smaller max_length or fewer num_distractors"
            )
        self.L, self.K = max_length, num_candidates
        self._insert0 = 1 + max_length
        self._replace0 = self._insert0 + (max_length + 1) * num_candidates
        self.n = self._replace0 + max_length * num_candidates
        # The ids of each operation: [start, stop) per op, in the order of the layout.
        self.op_ranges = {
            "stop": (0, 1),
            "delete": (1, self._insert0),
            "insert": (self._insert0, self._replace0),
            "replace": (self._replace0, self.n),
        }

    def encode(self, op: str, position: int = 0, slot: int | None = None) -> int:
        """Action id of ``op`` at ``position`` writing candidate ``slot``; ValueError if outside the space."""
        if op not in OPS:
            raise ValueError(f"unknown op {op!r}; expected one of {OPS}")
        if op == "stop":
            return 0
        limit = self.L + 1 if op == "insert" else self.L
        if not (isinstance(position, (int, np.integer)) and 0 <= position < limit):
            raise ValueError(f"{op} position {position!r} is outside 0..{limit - 1} (max_length={self.L})")
        if op == "delete":
            return 1 + int(position)
        if slot is None or not 0 <= slot < self.K:
            raise ValueError(f"{op} needs a candidate slot in 0..{self.K - 1}, got {slot!r}")
        base = self._insert0 if op == "insert" else self._replace0
        return base + int(position) * self.K + int(slot)

    def decode(self, action: int) -> tuple[str, int, int | None]:
        """``(op, position, slot)`` of an action id (slot is None for stop and delete)."""
        if action == 0:
            return "stop", 0, None
        if action < self._insert0:
            return "delete", action - 1, None
        if action < self._replace0:
            p, k = divmod(action - self._insert0, self.K)
            return "insert", p, k
        p, k = divmod(action - self._replace0, self.K)
        return "replace", p, k

    def scatter(
        self, stop: float, delete: np.ndarray, insert: np.ndarray, replace: np.ndarray, fill: float
    ) -> np.ndarray:
        """One value per action id from per-op tables: ``delete[p]``, ``insert[p, k]`` and
        ``replace[p, k]`` (as many positions and slots as they have); ``fill`` elsewhere."""
        values = np.full(self.n, fill, dtype=np.float64)
        values[0] = stop
        values[1 : 1 + len(delete)] = delete
        rows, cols = insert.shape
        values[self._insert0 : self._replace0].reshape(self.L + 1, self.K)[:rows, :cols] = insert
        rows, cols = replace.shape
        values[self._replace0 :].reshape(self.L, self.K)[:rows, :cols] = replace
        return values

    def is_valid(
        self, op: str, position: int, slot: int | None, length: int, n_candidates: int, text_slot: int
    ) -> bool:
        """Whether a decoded action changes the text; ``text_slot`` is the slot of the unit at ``position``."""
        if op == "stop":
            return True
        if op == "delete":
            return position < length
        if slot >= n_candidates:
            return False
        if op == "insert":
            return position <= length < self.L
        return position < length and slot != text_slot  # replacing a unit by itself changes nothing

    def mask(self, length: int, n_candidates: int, text_slots: np.ndarray) -> np.ndarray:
        """Boolean mask of the valid actions; ``text_slots[p]`` is the slot of unit p, or -1."""
        mask = np.zeros(self.n, dtype=bool)
        mask[0] = True
        mask[1 : 1 + length] = True
        if length < self.L:
            mask[self._insert0 : self._replace0].reshape(self.L + 1, self.K)[: length + 1, :n_candidates] = True
        replace = mask[self._replace0 :].reshape(self.L, self.K)
        replace[:length, :n_candidates] = True
        slots = np.asarray(text_slots[:length])
        own = np.flatnonzero(slots >= 0)  # replacing a unit by itself changes nothing
        replace[own, slots[own]] = False
        return mask

    def observation_mask(self, obs: dict) -> np.ndarray:
        """The mask of the state an "ids" observation shows: equal to ``env.action_masks()`` then.

        Agents need it for states the environment has left: replayed transitions, or the final
        observation of a vector environment that has already reset.
        """
        slots = np.asarray(obs["text_slots"])
        return self.mask(int(obs["lengths"][0]), int(np.count_nonzero(obs["candidates"])), slots - SLOT_FIRST)
