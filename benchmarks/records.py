"""The comparison's results file: one JSON line per finished run or sitting, appended and synced
as it happens, read back whole (a line cut short by a crash is skipped)."""

from __future__ import annotations

import json
import os
import platform
import sys
from importlib.metadata import version
from pathlib import Path


def read_results(path: Path) -> list[dict]:
    """The records of a results file; a line cut short by a crash mid-write is skipped with a warning."""
    if not path.exists():
        return []
    records = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            print(f"{path}:{number}: skipping a line that is not JSON (an interrupted write?)", file=sys.stderr)
    return records


def append(path: Path, record: dict) -> None:
    """One JSON line, flushed and synced: a finished run survives whatever happens next."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")
        f.flush()
        os.fsync(f.fileno())


def machine() -> str:
    return f"{platform.machine()} {platform.system()}, {len(os.sched_getaffinity(0))} cores"


def versions() -> str:
    packages = ("textedit-env", "gymnasium", "stable-baselines3", "sb3-contrib", "torch", "numpy")
    return ", ".join(f"{p} {version(p)}" for p in packages) + f", Python {platform.python_version()}"
