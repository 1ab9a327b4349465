"""Checks shared by every agent's Args dataclass, and the arguments of the shared network."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, NoReturn, get_args

MAX_SEED = 2**32 - 1
"""the largest seed every consumer takes (numpy, torch, Minari's int64 episode seeds with room for + i)"""


def check_fields(
    args: Any,
    *,
    positive: Sequence[str] = (),
    non_negative: Sequence[str] = (),
    unit_interval: Sequence[str] = (),
    at_most: dict[str, float] | None = None,
) -> None:
    """ValueError naming the first field of an Args dataclass that is not a finite number in its range."""

    def fail(name: str, expected: str) -> NoReturn:
        raise ValueError(f"{name}={getattr(args, name)!r}: expected {expected}")

    for names, test, expected in (
        (positive, lambda v: v > 0, "a positive {kind}"),
        (non_negative, lambda v: v >= 0, "{a_kind} >= 0"),
        (unit_interval, lambda v: 0 <= v <= 1, "{a_kind} between 0 and 1"),
    ):
        for name in names:
            value = getattr(args, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                fail(name, "a finite number")
            if not test(value):
                integer = isinstance(value, int)
                fail(
                    name,
                    expected.format(
                        kind="integer" if integer else "number", a_kind="an integer" if integer else "a number"
                    ),
                )
    for name, limit in {**({"seed": MAX_SEED} if hasattr(args, "seed") else {}), **(at_most or {})}.items():
        if getattr(args, name) > limit:
            fail(name, f"at most {limit}")


Encoder = Literal["none", "gru", "lstm", "transformer"]
ENCODERS: tuple[str, ...] = get_args(Encoder)


@dataclass
class NetworkArgs:
    """The arguments of the shared network (:class:`textedit_agents.networks.EditNetwork`), the base
    of the Args of every agent that trains it."""

    encoder: Encoder = "none"
    """the sequence encoder along the text (none: the alignment features carry the context)"""
    dim: int = 32
    """network width"""
    layers: int = 1
    """encoder layers"""
    heads: int = 4
    """attention heads of the transformer encoder"""
    device: str = "cpu"
    """torch device (cpu, cuda) of the network that learns"""

    def __post_init__(self) -> None:
        check_fields(self, positive=("dim", "layers", "heads"))
        if self.encoder == "transformer" and self.dim % self.heads:
            raise ValueError(f"dim={self.dim} must be a multiple of heads={self.heads} for the transformer encoder")
