"""Rendering: the current text against the reference, with the remaining edits marked.

Marks follow one minimal alignment: ``[-x]`` a unit to delete, ``[+y]`` a unit to insert,
``[x>y]`` a unit to replace. ``human`` mode colours them (red, green, yellow) for a terminal.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from textedit_env.metrics.base import join_units
from textedit_env.oracle import alignment

_COLOURS = {"delete": "\033[31m", "insert": "\033[32m", "replace": "\033[33m"}
_RESET = "\033[0m"


def marked_text(text: Sequence[str], reference: Sequence[str], unit: str, colour: bool = False) -> str:
    parts = []
    for op, have, want in alignment(text, reference):
        mark = {"keep": have, "delete": f"[-{have}]", "insert": f"[+{want}]", "replace": f"[{have}>{want}]"}[op]
        parts.append(f"{_COLOURS[op]}{mark}{_RESET}" if colour and op != "keep" else mark)
    return join_units(parts, unit)


def render_text(
    text: Sequence[str], reference: Sequence[str] | None, unit: str, status: str, colour: bool = False
) -> str:
    """The reference, the text, its remaining edits and ``status``; without a reference (hidden), the
    text and ``status``."""
    if reference is None:
        return f"text:      {join_units(text, unit)}\n{status}\n"
    return (
        f"reference: {join_units(reference, unit)}\n"
        f"text:      {join_units(text, unit)}\n"
        f"edits:     {marked_text(text, reference, unit, colour)}\n"
        f"{status}\n"
    )


class FrameRenderer:
    """Draws the ``ansi`` text on a fixed-size RGB canvas (Pillow's built-in font), for videos."""

    CHAR_W, LINE_H, MARGIN = 7, 14, 8

    def __init__(self, columns: int, rows: int):
        self.columns, self.rows = columns, rows
        self.shape = (rows * self.LINE_H + 2 * self.MARGIN, columns * self.CHAR_W + 2 * self.MARGIN, 3)
        self.bytes = self.shape[0] * self.shape[1] * self.shape[2]

    def __call__(self, text: str) -> np.ndarray:
        try:  # imported here: only rgb_array needs Pillow
            from PIL import Image, ImageDraw, ImageFont
        except ModuleNotFoundError:
            raise ModuleNotFoundError(
                "render_mode='rgb_array' draws with Pillow, which is not installed: pip install 'textedit-env[render]'"
            ) from None

        image = Image.new("RGB", (self.shape[1], self.shape[0]), (255, 255, 255))
        draw = ImageDraw.Draw(image)
        font = ImageFont.load_default()
        lines = [chunk for line in text.splitlines() for chunk in _wrap(line, self.columns)][: self.rows]
        for row, line in enumerate(lines):
            draw.text((self.MARGIN, self.MARGIN + row * self.LINE_H), line, fill=(0, 0, 0), font=font)
        return np.asarray(image, dtype=np.uint8).copy()


def _wrap(line: str, columns: int) -> list[str]:
    return [line[i : i + columns] for i in range(0, max(len(line), 1), columns)]
