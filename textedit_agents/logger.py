"""A training run's log: per-episode CSV rows, optional TensorBoard scalars and a progress bar."""

from __future__ import annotations

import csv
import os
from collections import deque
from pathlib import Path

import numpy as np

from textedit_agents.storage import atomic_write, open_no_follow, write_json


def truncate_log(path: Path, step: int) -> None:
    """Drop the rows of a run's CSV log (first column: step) written after ``step``: a resumed run
    writes them again."""
    if not path.exists():
        return
    header, *rows = path.read_text().splitlines(keepends=True) or [""]
    kept = [row for row in rows if row.strip() and int(row.split(",", 1)[0]) <= step]
    atomic_write(path, lambda tmp: tmp.write_text(header + "".join(kept)))


class RunLogger:
    """Per-episode CSV rows, optional TensorBoard scalars and a tqdm bar with recent return and solve rate."""

    COLUMNS = ("step", "episode_return", "episode_length", "solved", "final_score")

    def __init__(
        self,
        out_dir: Path,
        total_steps: int,
        config: dict,
        progress: bool = True,
        *,
        window: int = 100,
        start_step: int = 0,
        learning_starts: int = 0,
    ):
        """``start_step``: a resumed run's step (the log keeps the rows up to it and goes on);
        ``learning_starts``: the bar's rate and ETA count from there, since the steps before the
        first update run many times faster."""
        out_dir.mkdir(parents=True, exist_ok=True)
        write_json(out_dir / "config.json", config)
        log = out_dir / "episodes.csv"
        if start_step:
            truncate_log(log, start_step)
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if start_step else os.O_TRUNC)
        # line-buffered: readable while training
        self._file = os.fdopen(open_no_follow(log, flags), "a" if start_step else "w", newline="", buffering=1)
        self._csv = csv.writer(self._file)
        if not start_step:
            self._csv.writerow(self.COLUMNS)
        from tqdm import tqdm  # only training needs it (the [agents] extra)

        self._tb = _tensorboard_writer(out_dir)
        self._bar = tqdm(
            total=total_steps, initial=start_step, unit="step", disable=not progress, dynamic_ncols=True, smoothing=0
        )
        self._restart_rate_at = learning_starts if learning_starts > start_step else None
        self._returns: deque[float] = deque(maxlen=window)
        self._solved: deque[bool] = deque(maxlen=window)

    def episode(self, step: int, episode_return: float, length: int, solved: bool, final_score: float) -> None:
        self._csv.writerow((step, f"{episode_return:.6f}", length, int(solved), f"{final_score:.6f}"))
        self._returns.append(episode_return)
        self._solved.append(solved)
        self.scalars(
            step,
            {
                "episode/return": episode_return,
                "episode/length": length,
                "episode/solved": float(solved),
                "episode/final_score": final_score,
            },
        )

    def scalars(self, step: int, values: dict[str, float]) -> None:
        if self._tb is not None:
            for name, value in values.items():
                self._tb.add_scalar(name, value, step)

    def advance(self, steps: int) -> None:
        self._bar.update(steps)
        if self._restart_rate_at is not None and self._bar.n >= self._restart_rate_at:
            # smoothing=0: tqdm's rate is (n - initial) / (now - start_t); restart both here
            self._bar.initial, self._bar.start_t, self._restart_rate_at = self._bar.n, self._bar._time(), None
        if self._returns:
            self._bar.set_postfix(
                ret=f"{np.mean(self._returns):.3f}", solved=f"{np.mean(self._solved):.2f}", refresh=False
            )

    def __enter__(self) -> RunLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._bar.close()
        self._file.close()
        if self._tb is not None:
            self._tb.close()


def _tensorboard_writer(out_dir: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional
        return None
    return SummaryWriter(str(out_dir / "tensorboard"))
