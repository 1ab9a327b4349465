"""Reading (source, reference) pairs from files and iterables, with errors that say where.

Formats, chosen by the file's extension:

- ``.jsonl``: one JSON object a line with a ``reference`` (a string, or a list of strings: several
  correct texts) and an optional ``source`` string (missing or null: the source is made by the
  noise model);
- ``.tsv``: tab-separated columns, the source then one reference or more (an empty source column
  is allowed and means the empty text);
- anything else (``.txt``...): one reference a line; sources come from the noise model.

Blank lines are skipped. A source of ``None`` means "make one from the (first) reference".
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

# (source or None, references (one or more), where it came from: "file:line" or "dataset item i")
RawPair = tuple["str | None", "list[str]", str]


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
    return None, [line], where


def _parse_tsv(line: str, where: str) -> RawPair:
    fields = line.split("\t")
    if len(fields) < 2:
        raise DatasetError(
            f"{where}: expected 2 or more tab-separated columns (source, reference, ...), found {len(fields)}"
        )
    return fields[0], _references(fields[1:], where), where


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
    return source, _references(record["reference"], where, '"reference"'), where


def _references(value: object, where: str, name: str = "the reference") -> list[str]:
    """One reference string, or a non-empty list of them, as a list; none may be blank."""
    references = [value] if isinstance(value, str) else value
    if not isinstance(references, (list, tuple)) or not references or not all(isinstance(r, str) for r in references):
        raise DatasetError(f"{where}: {name} must be a string or a non-empty list of strings, got {value!r}")
    for i, reference in enumerate(references):
        if not reference.strip():
            raise DatasetError(f"{where}: the reference is empty" + (f" (reference {i + 1})" if i else ""))
    return list(references)


def pairs_from_iterable(items: Iterable) -> list[RawPair]:
    """Validate an iterable of ``(source, reference)`` pairs (or plain reference strings); a
    reference may be a list of strings (several correct texts)."""
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
        pairs.append((source, _references(reference, where), where))
    if not pairs:
        raise DatasetError("the dataset iterable has no tasks")
    return pairs
