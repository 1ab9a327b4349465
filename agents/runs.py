"""Durable training runs: a run directory owned by one run, training state saved atomically at
intervals and when the run is interrupted, and resumed from there.

A resumable agent (``RESUMABLE = True`` in its module) keeps everything its training loop needs in
one picklable object (networks, optimizer, replay buffer, random generators, environments, step
counter) and hands it to :meth:`Durability.save` every ``interval`` steps and when SIGINT or
SIGTERM asks the run to stop; ``--resume`` unpickles it and the loop goes on, so an interrupted
run with the same seed ends with the same model as an uninterrupted one.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import shutil
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from agents.common import atomic_write

LOCK = ".lock"
STATE = "training_state.pkl"


class RunDirectoryError(Exception):
    """The run directory cannot be used as asked (in use, exists, nothing to resume)."""


class RunInterrupted(Exception):
    """Training stopped on SIGINT/SIGTERM after saving its state at ``step``."""

    def __init__(self, step: int):
        super().__init__(f"interrupted at step {step}")
        self.step = step


class RunLock:
    """An exclusive lock on a run directory, held while a run trains in it; the kernel releases it
    when the process dies, so a crashed run never leaves a stale lock."""

    def __init__(self, run_dir: Path):
        run_dir.mkdir(parents=True, exist_ok=True)
        self._file = open(run_dir / LOCK, "a+")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.seek(0)
            owner = self._file.read().strip() or "another process"
            self._file.close()
            raise RunDirectoryError(f"{str(run_dir)!r} is in use by another run (pid {owner})") from None
        self._file.truncate(0)
        self._file.write(str(os.getpid()))
        self._file.flush()

    def release(self) -> None:
        self._file.close()


def claim(run_dir: Path, resume: bool, overwrite: bool) -> RunLock:
    """Lock ``run_dir`` for a new run: refuse one that holds files unless ``resume`` (keep them
    and continue) or ``overwrite`` (delete them) says what to do."""
    if resume and overwrite:
        raise RunDirectoryError("--resume and --overwrite exclude each other")
    if run_dir.exists() and not run_dir.is_dir():
        raise RunDirectoryError(f"{str(run_dir)!r} exists and is not a directory")
    if resume and not (run_dir / STATE).exists():
        raise RunDirectoryError(f"{str(run_dir)!r} holds no training state to resume ({STATE})")
    try:
        lock = RunLock(run_dir)
    except OSError as err:
        raise RunDirectoryError(f"cannot write to {str(run_dir)!r}: {err.strerror or err}") from None
    others = [p for p in run_dir.iterdir() if p.name != LOCK]
    if others and not (resume or overwrite):
        lock.release()
        raise RunDirectoryError(
            f"{str(run_dir)!r} already holds a run: pass --resume to continue it or --overwrite to replace it"
        )
    if overwrite:
        for path in others:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    return lock


@dataclass
class Durability:
    """How a resumable training loop saves its state: every ``interval`` environment steps and when
    asked to stop. The loop calls :meth:`reached` after each step it takes."""

    run_dir: Path
    interval: int = 10_000
    resume: bool = False
    stop_requested: bool = field(default=False, init=False)
    _next: int = field(default=0, init=False)
    """the step of the next save"""

    def __post_init__(self) -> None:
        self._next = self.interval

    def load(self) -> Any:
        """The saved training state (``resume``)."""
        with open(self.run_dir / STATE, "rb") as f:
            state = pickle.load(f)
        self._next = state.step + self.interval
        return state

    def reached(self, state: Any) -> None:
        """Save at the interval; on a stop request save and raise :class:`RunInterrupted`."""
        if self.stop_requested or state.step >= self._next:
            self.save(state)
            self._next = state.step + self.interval
        if self.stop_requested:
            raise RunInterrupted(state.step)

    def save(self, state: Any) -> None:
        atomic_write(self.run_dir / STATE, lambda tmp: tmp.write_bytes(pickle.dumps(state, pickle.HIGHEST_PROTOCOL)))

    def finished(self) -> None:
        """The run completed: its final model is saved, the training state is no longer needed."""
        (self.run_dir / STATE).unlink(missing_ok=True)


def resume_or_start(durability: Durability | None, args: Any, start: Callable[[], Any]) -> Any:
    """A training loop's state: the saved one when resuming (its ``args.steps`` set to the new total
    ``args.steps``; every other argument stays the saved run's), else ``start()``."""
    if durability is None or not durability.resume:
        return start()
    state = durability.load()
    state.args.steps = args.steps
    return state


class StopOnSignal:
    """While active, SIGINT and SIGTERM set ``durability.stop_requested`` (the loop saves and stops
    at its next step); a second signal stops at once."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, durability: Durability):
        self.durability = durability
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.durability.stop_requested:
            raise KeyboardInterrupt
        self.durability.stop_requested = True

    def __enter__(self) -> StopOnSignal:
        for sig in self.SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
