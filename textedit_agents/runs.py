"""Durable training runs: a run directory owned by one run, training state saved atomically at
intervals and when the run is interrupted, and resumed from there.

A resumable agent (``RESUMABLE = True`` in its module) turns everything its training loop needs
into plain data, ``state_dict(state)`` (tensors, numbers, strings, lists and dicts: networks,
optimizer, replay buffer, random generators' states, step counters) and back,
``restore(data)``. Its environments are not pickled: an :class:`EpisodeRecorder` notes how each
one's current episode began (its random generator's state before the reset, or the reset's seed)
and the actions since, and :func:`replay` rebuilds it by playing them again. The state file is
written with ``torch.save`` and read with ``torch.load(weights_only=True)``, which builds nothing
but those types: a crafted file cannot run code. It names its format, version and algorithm, so a
state of another algorithm or version is a one-line error.

Saves happen every ``interval`` steps and when SIGINT or SIGTERM asks the run to stop, and then
the model trained so far is saved too, so ``textedit eval`` works on an interrupted run. An
interrupted run resumed with the same seed ends with the same model as an uninterrupted one.

The run directory is the run's own: ``--overwrite`` removes only the files a run writes, and only
from a directory that holds a run; a symlink inside it is refused rather than followed, and its
lock and log are opened with ``O_NOFOLLOW``.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import gymnasium as gym
import numpy as np

from textedit_agents.storage import MANIFEST, RunDirectoryError, atomic_write, open_no_follow, write_json

LOCK = ".lock"
STATE = "training_state.pt"
STATE_FORMAT, STATE_VERSION = "textedit-training-state", 1
RUN_FILES = frozenset(
    {MANIFEST, STATE, LOCK, "config.json", "episodes.csv", "eval.json", "model.pt", "qtable.json", "training.json"}
)
RUN_DIRECTORIES = frozenset({"tensorboard"})
"""what a run writes in its directory: all that --overwrite may remove"""


class RunInterrupted(Exception):
    """Training stopped on SIGINT/SIGTERM after saving its state and its model at ``step``."""

    def __init__(self, step: int):
        super().__init__(f"interrupted at step {step}")
        self.step = step


class RunLock:
    """An exclusive lock on a run directory, held while a run trains in it; the kernel releases it
    when the process dies, so a crashed run never leaves a stale lock."""

    def __init__(self, run_dir: Path):
        run_dir.mkdir(parents=True, exist_ok=True)
        self._fd = open_no_follow(run_dir / LOCK, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(self._fd, 64, 0).decode(errors="replace").strip() or "another process"
            os.close(self._fd)
            raise RunDirectoryError(f"{str(run_dir)!r} is in use by another run (pid {owner})") from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, str(os.getpid()).encode(), 0)

    def release(self) -> None:
        os.close(self._fd)


def claim(run_dir: Path, resume: bool, overwrite: bool) -> RunLock:
    """Lock ``run_dir`` for a new run: refuse one that holds files unless ``resume`` (keep them
    and continue) or ``overwrite`` (delete a previous run's files: only those, and only if the
    directory holds a run and nothing else) says what to do. A symlink in it is refused."""
    if resume and overwrite:
        raise RunDirectoryError("--resume and --overwrite exclude each other")
    if run_dir.exists() and not run_dir.is_dir():
        raise RunDirectoryError(f"{str(run_dir)!r} exists and is not a directory")
    if resume and not (run_dir / STATE).is_file():
        raise RunDirectoryError(f"{str(run_dir)!r} holds no training state to resume ({STATE})")
    entries = [p for p in run_dir.iterdir() if p.name != LOCK] if run_dir.is_dir() else []
    links = [p.name for p in entries if p.is_symlink()]
    if links:
        raise RunDirectoryError(
            f"{str(run_dir)!r} holds symlinks ({', '.join(sorted(links))}): a run does not follow them"
        )
    if entries and not (resume or overwrite):
        raise RunDirectoryError(
            f"{str(run_dir)!r} already holds files: pass --resume to continue its run or --overwrite to replace it"
        )
    if overwrite and entries:
        foreign = sorted(
            p.name for p in entries if not (p.name in RUN_FILES or (p.name in RUN_DIRECTORIES and p.is_dir()))
        )
        if foreign or not any(p.name in (MANIFEST, STATE, "config.json") for p in entries):
            raise RunDirectoryError(
                f"--overwrite replaces a run, and {str(run_dir)!r} holds "
                + (f"files that are not a run's ({', '.join(foreign[:5])})" if foreign else "no run")
                + ": choose another --out"
            )
    try:
        lock = RunLock(run_dir)
    except OSError as err:
        raise RunDirectoryError(f"cannot write to {str(run_dir)!r}: {err.strerror or err}") from None
    if overwrite:
        for path in entries:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    return lock


# ------------------------------------------------------------------ environments as replayable records
def generator_state(rng: np.random.Generator) -> dict:
    """A numpy generator's state as plain data (its bit generator's ``state`` dict)."""
    return rng.bit_generator.state


def generator_from(state: dict) -> np.random.Generator:
    """The numpy generator of a :func:`generator_state`."""
    if state.get("bit_generator") != "PCG64":
        raise ValueError(f"expected a PCG64 generator state, got {state.get('bit_generator')!r}")
    rng = np.random.Generator(np.random.PCG64())
    rng.bit_generator.state = state
    return rng


class EpisodeRecorder(gym.Wrapper):
    """Notes how the current episode began (the reset's seed, or the environment's random generator's
    state before the reset) and the actions since: :attr:`record`, from which :func:`replay` rebuilds
    the environment's state. The outermost wrapper, so that it sees every reset and action."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.record: dict[str, Any] = {}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        rng = None if seed is not None else generator_state(self.unwrapped.np_random)
        self.record = {"seed": seed, "rng": rng, "options": options, "actions": []}
        return self.env.reset(seed=seed, options=options)

    def step(self, action):
        self.record["actions"].append(int(action))
        return self.env.step(action)


def replay(env: EpisodeRecorder, record: dict) -> tuple[Any, dict]:
    """Bring a freshly built ``env`` to the state of ``record`` (:attr:`EpisodeRecorder.record`): the
    same reset, then the same actions. Returns the last observation and info."""
    if record["seed"] is None:
        env.unwrapped.np_random = generator_from(record["rng"])
    obs, info = env.reset(seed=record["seed"], options=record["options"])
    for action in record["actions"]:
        obs, _, _, _, info = env.step(action)
    return obs, info


# ------------------------------------------------------------------ the state file
@dataclass
class Durability:
    """How a resumable training loop saves its state: every ``interval`` environment steps and when
    asked to stop. ``steps``: with ``resume``, the run's new total (None: the saved run's own)."""

    run_dir: Path
    algo: str
    interval: int = 10_000
    resume: bool = False
    steps: int | None = None
    stop_requested: bool = field(default=False, init=False)
    _next: int = field(default=0, init=False)
    """the step of the next save"""
    _loaded: dict | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self._next = self.interval

    def load(self) -> dict:
        """The saved training state's data (``resume``), read once; RunDirectoryError (one line) when
        the file is unreadable, of another algorithm or of another version."""
        if self._loaded is None:
            self._loaded = self._read()
        return self._loaded

    def _read(self) -> dict:
        import torch

        path = self.run_dir / STATE
        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # noqa: BLE001  truncated, empty, foreign: whatever the unpickler says
            message = " ".join(str(err).split())[:200]
            raise RunDirectoryError(f"{str(path)!r} is not a readable training state: {message}") from None
        if not isinstance(data, dict) or data.get("format") != STATE_FORMAT or "state" not in data:
            raise RunDirectoryError(f"{str(path)!r} is not a training state written by textedit")
        if data.get("version") != STATE_VERSION:
            raise RunDirectoryError(
                f"{str(path)!r} is a version-{data.get('version')} training state; this textedit reads version "
                f"{STATE_VERSION}"
            )
        if data.get("algo") != self.algo:
            raise RunDirectoryError(f"{str(path)!r} holds a {data.get('algo')!r} training state, not {self.algo!r}")
        self._next = data["state"]["step"] + self.interval
        return data["state"]

    def reached(self, step: int, state: Callable[[], dict], model: Callable[[], Any]) -> None:
        """Save ``state()`` at the interval; on a stop request save it and the ``model()`` trained so
        far, then raise :class:`RunInterrupted`."""
        if self.stop_requested or step >= self._next:
            self.save(state())
            self._next = step + self.interval
        if self.stop_requested:
            model().save(self.run_dir)
            manifest = json.loads((self.run_dir / MANIFEST).read_text())
            write_json(self.run_dir / MANIFEST, {**manifest, "interrupted_at_step": step})
            raise RunInterrupted(step)

    def save(self, state: dict) -> None:
        import torch

        data = {"format": STATE_FORMAT, "version": STATE_VERSION, "algo": self.algo, "state": state}
        atomic_write(self.run_dir / STATE, lambda tmp: torch.save(data, tmp))

    def finished(self) -> None:
        """The run completed: its final model is saved, the training state is no longer needed."""
        (self.run_dir / STATE).unlink(missing_ok=True)


def resume_or_start(
    durability: Durability | None, start: Callable[[], Any], restore: Callable[[dict, int | None], Any]
) -> Any:
    """A training loop's state: ``restore(saved data, new total steps or None)`` when resuming, else ``start()``."""
    if durability is None or not durability.resume:
        return start()
    return restore(durability.load(), durability.steps)


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
