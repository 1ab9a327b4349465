"""Files of a run directory: atomic writes, strict JSON, the manifest that names the agent a
directory holds, and opening without following symlinks."""

from __future__ import annotations

import dataclasses
import errno
import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

MANIFEST = "agent.json"
"""The file of a run directory that says which agent it holds (read by ``textedit eval``)."""


_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it over ``path``: a crash
    mid-write leaves the previous file, never a broken one."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes it private; the final file gets the usual permissions
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def strict_json(data: Any) -> Any:
    """``data`` with every NaN or infinite float replaced by None: JSON has no such numbers."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {key: strict_json(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [strict_json(value) for value in data]
    return data


def write_json(path: Path, data: Any) -> None:
    """``data`` as indented, strict JSON (non-finite numbers as null), written atomically."""
    text = json.dumps(strict_json(data), indent=2, allow_nan=False)
    atomic_write(path, lambda tmp: tmp.write_text(text + "\n"))


def run_config(algo: str, args: Any, env_kwargs: dict, **extra: Any) -> dict:
    """What a run is: the algorithm, its Args dataclass and its env kwargs (and ``extra``); the
    manifest of a trained agent and a training run's ``config.json``."""
    return {"algo": algo, "args": dataclasses.asdict(args), "env_kwargs": env_kwargs, **extra}


def write_manifest(out_dir: Path, algo: str, args: Any, env_kwargs: dict, **extra: Any) -> None:
    """Record which agent (``algo``, its Args dataclass, its env kwargs) a run directory holds; every
    agent's ``save`` ends with this, after its own files are written."""
    write_json(Path(out_dir) / MANIFEST, run_config(algo, args, env_kwargs, **extra))


def read_manifest(out_dir: Path, algo: str | None = None) -> dict:
    """The manifest of a run directory; ValueError (one line) when it is missing, unreadable, or
    (with ``algo``) names another agent."""
    path = Path(out_dir) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"{str(out_dir)!r} holds no trained agent ({MANIFEST} is missing)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise ValueError(f"{str(path)!r} is not a readable manifest: {type(err).__name__}: {err}") from None
    if not isinstance(manifest, dict) or not {"algo", "args", "env_kwargs"} <= manifest.keys():
        raise ValueError(f"{str(path)!r} is not a manifest written by textedit (needs algo, args, env_kwargs)")
    if algo is not None and manifest["algo"] != algo:
        raise ValueError(f"{str(path)!r} holds a {manifest['algo']!r} agent, not {algo!r}")
    return manifest


class RunDirectoryError(Exception):
    """The run directory cannot be used as asked (in use, exists, a symlink, nothing to resume, unreadable state)."""


def open_no_follow(path: Path, flags: int) -> int:
    """``os.open`` that refuses to follow a symlink at ``path`` (one line: RunDirectoryError)."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW, 0o666)
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise RunDirectoryError(f"{str(path)!r} is a symlink: a run writes only inside its directory") from None
        raise
