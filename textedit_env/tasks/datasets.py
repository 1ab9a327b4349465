"""Reading (source, reference) pairs from files and iterables, with errors that say where.

Formats, chosen by the file's extension:

- ``.jsonl``: one JSON object a line with a ``reference`` string and an optional ``source``
  string (missing or null: the source is made by the noise model);
- ``.tsv``: two tab-separated columns, source then reference (an empty source column is
  allowed and means the empty text);
- anything else (``.txt``...): one reference a line; sources come from the noise model.

Blank lines are skipped. A source of ``None`` means "make one from the reference".
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

# (source or None, reference, where it came from: "file:line" or "dataset item i")
RawPair = tuple["str | None", str, str]


class DatasetError(ValueError):
    """A data file or iterable that cannot be read as tasks."""


def load_pairs(path: str | os.PathLike) -> list[RawPair]:
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"dataset file not found: {path}")
    if not path.is_file():
        raise DatasetError(f"dataset path is not a file: {path}")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DatasetError(f"{path}:{line}: not valid UTF-8 ({err.reason} at byte {err.start})") from None
    suffix = path.suffix.lower()
    parse = _parse_jsonl if suffix == ".jsonl" else _parse_tsv if suffix == ".tsv" else _parse_reference
    pairs = []
    # split("\n"), not splitlines(): the latter also breaks at \x1c, \x85, \u2028... and would
    # misnumber lines (and cut a text) that contain them.
    for number, line in enumerate(text.lstrip("\ufeff").split("\n"), start=1):
        line = line.removesuffix("\r")
        if line.strip():
            pairs.append(parse(line, f"{path}:{number}"))
    if not pairs:
        raise DatasetError(f"{path}: the dataset file has no tasks (it is empty or blank)")
    return pairs


def _parse_reference(line: str, where: str) -> RawPair:
    return None, line, where


def _parse_tsv(line: str, where: str) -> RawPair:
    fields = line.split("\t")
    if len(fields) != 2:
        raise DatasetError(f"{where}: expected 2 tab-separated columns (source, reference), found {len(fields)}")
    return fields[0], _reference(fields[1], where), where


def _parse_jsonl(line: str, where: str) -> RawPair:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        raise DatasetError(f"{where}: not valid JSON ({err.msg})") from None
    if not isinstance(record, dict) or "reference" not in record:
        raise DatasetError(f'{where}: expected an object with a "reference" field')
    source = record.get("source")
    if source is not None and not isinstance(source, str):
        raise DatasetError(f'{where}: "source" must be a string or null')
    if not isinstance(record["reference"], str):
        raise DatasetError(f'{where}: "reference" must be a string')
    return source, _reference(record["reference"], where), where


def _reference(text: str, where: str) -> str:
    if not text.strip():
        raise DatasetError(f"{where}: the reference is empty")
    return text


def pairs_from_iterable(items: Iterable) -> list[RawPair]:
    """Validate an iterable of ``(source, reference)`` pairs (or plain reference strings)."""
    pairs = []
    for i, item in enumerate(items):
        where = f"dataset item {i}"
        if isinstance(item, str):
            item = (None, item)
        if not (isinstance(item, (tuple, list)) and len(item) == 2):
            raise DatasetError(f"{where}: expected a (source, reference) pair, got {item!r}")
        source, reference = item
        if source is not None and not isinstance(source, str):
            raise DatasetError(f"{where}: the source must be a string or None, got {type(source).__name__}")
        if not isinstance(reference, str):
            raise DatasetError(f"{where}: the reference must be a string, got {type(reference).__name__}")
        pairs.append((source, _reference(reference, where), where))
    if not pairs:
        raise DatasetError("the dataset iterable has no tasks")
    return pairs
