"""Units of editing: words (split on whitespace) or single characters.

The environment edits a text as a list of units. With ``unit="word"`` a text is split on
whitespace and joined with one space; with ``unit="char"`` every character is a unit and
units are joined with nothing, so unsegmented scripts (Chinese, Japanese) can be edited.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

UNITS = ("word", "char")


def check_unit_kind(unit: str) -> str:
    if unit not in UNITS:
        raise ValueError(f"unit={unit!r} is not supported; expected one of {UNITS}")
    return unit


def _control_character(text: str) -> str | None:
    """The first control character of ``text`` (category Cc, other than whitespace), if any."""
    for ch in text:
        if unicodedata.category(ch) == "Cc" and not ch.isspace():
            return ch
    return None


def split_units(text: str, unit: str, *, what: str = "text") -> list[str]:
    """Split ``text`` into units; control characters are rejected with a clear error."""
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a string, got {type(text).__name__}")
    bad = _control_character(text)
    if bad is not None:
        raise ValueError(f"{what} contains the control character {bad!r}: {text!r}")
    if unit == "word":
        return text.split()
    # Newlines and tabs would be invisible edits; character units keep plain spaces only.
    return [" " if ch.isspace() else ch for ch in text.strip()]


def check_word(word: str, unit: str) -> str:
    """Validate one unit supplied by a caller (an action's word, a candidate)."""
    if not isinstance(word, str):
        raise TypeError(f"a word must be a string, got {type(word).__name__}")
    if word == "":
        raise ValueError("a word must not be empty")
    bad = _control_character(word)
    if bad is not None:
        raise ValueError(f"word {word!r} contains the control character {bad!r}")
    if unit == "word" and any(ch.isspace() for ch in word):
        raise ValueError(f"word {word!r} contains whitespace; a word unit is one whitespace-free token")
    if unit == "char" and len(word) != 1:
        raise ValueError(f"{word!r} is not a single character (unit='char')")
    return word


def unique_in_order(units: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(units))
