"""Checks of constructor arguments: each names the argument and says what it must be."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def check_choice(name: str, value: Any, allowed: tuple) -> Any:
    """``value`` if it is one of ``allowed`` (compared by type too: ``True`` is not ``1``)."""
    if not any(type(value) is type(a) and value == a for a in allowed):
        raise ValueError(f"{name}={value!r} is not supported; expected one of {allowed}")
    return value


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_int(name: str, value: Any, minimum: int = 1) -> int:
    """An integer (not a bool, not a float) ``>= minimum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_range(name: str, value: Any, minimum: int = 1) -> tuple[int, int]:
    """An integer n (meaning n..n) or an inclusive ``(low, high)`` pair of integers ``>= minimum``."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        value = (value, value)
    if not (isinstance(value, (tuple, list)) and len(value) == 2):
        raise ValueError(f"{name} must be an integer or a (low, high) pair of integers, got {value!r}")
    low, high = (check_int(f"{name} {side}", v, minimum) for side, v in zip(("low", "high"), value))
    if high < low:
        raise ValueError(f"{name} range {tuple(value)!r} has high < low")
    return low, high


def check_penalty(name: str, value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)
