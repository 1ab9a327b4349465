"""What every agent shares: making environments, action masks from observations, greedy
evaluation beside the oracle and a random agent, and run logging (progress bar, CSV, TensorBoard)."""

from __future__ import annotations

import csv
import dataclasses
import errno
import json
import math
import os
import tempfile
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import gymnasium as gym
import numpy as np

from textedit_env import ENV_ID  # importing the package registers TextEdit-v0
from textedit_env.lm import NGramLM
from textedit_env.metrics import library_score
from textedit_env.policies import Policy, oracle_policy, random_policy
from textedit_env.rollout import rollout

MAX_SEED = 2**32 - 1
"""the largest seed every consumer takes (numpy, torch, Minari's int64 episode seeds with room for + i)"""
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


def check_fields(
    args: Any,
    *,
    positive: Sequence[str] = (),
    non_negative: Sequence[str] = (),
    unit_interval: Sequence[str] = (),
    at_most: dict[str, float] | None = None,
) -> None:
    """ValueError naming the first field of an Args dataclass that is not a finite number in its range."""

    def fail(name: str, expected: str) -> NoReturn:
        raise ValueError(f"{name}={getattr(args, name)!r}: expected {expected}")

    for names, test, expected in (
        (positive, lambda v: v > 0, "a positive {kind}"),
        (non_negative, lambda v: v >= 0, "{a_kind} >= 0"),
        (unit_interval, lambda v: 0 <= v <= 1, "{a_kind} between 0 and 1"),
    ):
        for name in names:
            value = getattr(args, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                fail(name, "a finite number")
            if not test(value):
                integer = isinstance(value, int)
                fail(
                    name,
                    expected.format(
                        kind="integer" if integer else "number", a_kind="an integer" if integer else "a number"
                    ),
                )
    for name, limit in {**({"seed": MAX_SEED} if hasattr(args, "seed") else {}), **(at_most or {})}.items():
        if getattr(args, name) > limit:
            fail(name, f"at most {limit}")


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


class TrainingDiverged(ValueError):
    """A loss or value that is not a finite number: training cannot go on (a learning rate too high?)."""


def check_finite(value: float, step: int, what: str) -> None:
    """Stop training with :class:`TrainingDiverged` naming the step when ``value`` is NaN or infinite."""
    if not math.isfinite(value):
        raise TrainingDiverged(
            f"training diverged at step {step:,}: {what} is {value} (a learning rate too high, or rewards too large?)"
        )


class Checkpoints:
    """Calls ``callback(step, policy)`` when a training run reaches each of the given environment
    steps, with its greedy policy at that point (for learning curves); ``policy_now`` builds it."""

    def __init__(self, steps: Sequence[int], callback: Callable[[int, Policy], None]):
        self.pending, self.callback = deque(sorted(steps)), callback

    def reached(self, step: int, policy_now: Callable[[], Policy]) -> None:
        while self.pending and step >= self.pending[0]:
            self.callback(self.pending.popleft(), policy_now())


def make_env(env_kwargs: dict, split: str | None = None, **extra: Any) -> gym.Env:
    """``gym.make("TextEdit-v0", **env_kwargs)``, with the split overridden when given."""
    kwargs = dict(env_kwargs, **extra)
    if split is not None:
        kwargs["split"] = split
    return gym.make(ENV_ID, **kwargs)


def training_split(env_kwargs: dict) -> str:
    """The split an agent trained with these env kwargs was trained on."""
    return env_kwargs.get("split", "train")


def eval_split(env_kwargs: dict) -> str:
    """Evaluate on held-out sentences when training used the train split, else on the training split."""
    split = training_split(env_kwargs)
    return "test" if split == "train" else split


def linear_schedule(start: float, end: float, duration: float, step: int) -> float:
    """From ``start`` to ``end`` over ``duration`` steps, then constant."""
    return start + (end - start) * min(1.0, step / max(duration, 1.0))


def evaluate(
    env: gym.Env,
    policy: Policy,
    episodes: int,
    seed: int,
    lm: NGramLM | None = None,
    on_episode: Callable[[], object] | None = None,
) -> dict[str, float | None]:
    """Run ``episodes`` episodes (episode i resets with seed + i, so runs with the same seed see the
    same tasks) and average solve rate, return, initial and final score (the reward's metric; the
    initial one is what stopping at once scores), steps (over all
    episodes and over the solved ones), the share of episodes cut by the time limit, the share of
    steps whose action was invalid, and the final
    texts' BLEU and ROUGE-L; with ``lm``, also the perplexity of the final texts under it."""
    base = env.unwrapped
    solved, truncations, returns, initial, scores, steps, bleu, rouge, finals = [], [], [], [], [], [], [], [], []
    invalid = 0
    for i in range(episodes):
        obs, info = env.reset(seed=seed + i)
        initial.append(base.outcome()["score"])
        episode = list(rollout(env, policy, obs, info))
        last, outcome = episode[-1], base.outcome()  # the outcome: privileged, what a hidden reference keeps back
        invalid += sum(bool(step.info["invalid_action"]) for step in episode)
        solved.append(outcome["solved"])
        truncations.append(last.truncated and not last.terminated)
        returns.append(sum(step.reward for step in episode))
        scores.append(outcome["score"])
        steps.append(len(episode))
        text, references = base.text_units, base.references
        bleu.append(library_score("bleu", text, *references, unit=base.unit, tokenize=base.tokenize))
        rouge.append(library_score("rougeL", text, *references, unit=base.unit, use_stemmer=base.use_stemmer))
        finals.append(text)
        if on_episode is not None:
            on_episode()
    solved_steps = [n for n, s in zip(steps, solved) if s]
    result = {
        "solve_rate": float(np.mean(solved)),
        "mean_return": float(np.mean(returns)),
        "mean_initial_score": float(np.mean(initial)),
        "mean_final_score": float(np.mean(scores)),
        "mean_steps": float(np.mean(steps)),
        "mean_solved_steps": float(np.mean(solved_steps)) if solved_steps else None,  # JSON null when none was solved
        "truncated_rate": float(np.mean(truncations)),
        "invalid_action_rate": invalid / max(sum(steps), 1),
        "mean_final_bleu": float(np.mean(bleu)),
        "mean_final_rougeL": float(np.mean(rouge)),
    }
    if lm is not None:
        result["final_perplexity"] = lm.perplexity(finals)
    return result


def evaluate_with_baselines(
    env_kwargs: dict, policy: Policy, episodes: int, seed: int, split: str, progress: bool = False
) -> dict:
    """The agent's evaluation plus the oracle's and a random agent's on the same episodes; the
    perplexity of final texts is under a trigram model of the task set's training split. With
    ``progress``, a bar over the episodes of the three."""
    env = make_env(env_kwargs, split)
    lm = NGramLM(order=3).fit(env.unwrapped.task_set.training_references())
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=3 * episodes, unit="episode", desc="evaluating", dynamic_ncols=True, leave=False)
    tick = bar.update if bar is not None else None
    result = {"split": split, "episodes": episodes, "seed": seed, **evaluate(env, policy, episodes, seed, lm, tick)}
    for name, baseline in (("oracle", oracle_policy), ("random", random_policy(seed))):
        for key, value in evaluate(env, baseline, episodes, seed, lm, tick).items():
            result[f"{name}_{key}"] = value
    if bar is not None:
        bar.close()
    return result


TABLE_COLUMNS = {
    "solve_rate": "solve_rate",
    "mean_return": "return",
    "mean_final_score": "final_score",
    "mean_final_bleu": "final_bleu",
    "mean_final_rougeL": "final_rougeL",
    "final_perplexity": "perplexity",
    "mean_steps": "steps",
    "invalid_action_rate": "invalid",
}
"""result key -> column label of :func:`format_table`"""


def format_table(result: dict) -> str:
    """The agent, random and oracle side by side."""
    trained = result.get("trained_split")
    where = (
        ""
        if trained is None
        else ", the split it trained on"
        if trained == result["split"]
        else f" (held out: it trained on {trained!r})"
    )
    lines = [
        f"{result['episodes']} episodes of the {result['split']!r} split{where} (seed {result['seed']})",
        f"{'':8}" + "".join(f"{label:>13}" for label in TABLE_COLUMNS.values()),
    ]
    for name, prefix in (("agent", ""), ("random", "random_"), ("oracle", "oracle_")):
        lines.append(f"{name:8}" + "".join(f"{result[prefix + key]:>13.3f}" for key in TABLE_COLUMNS))
    return "\n".join(lines)


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
