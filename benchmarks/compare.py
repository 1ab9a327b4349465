"""Compare RL algorithms on the TextEdit task suite, reported the way the field reports results.

    python -m benchmarks.compare                          # the full suite, 3 seeds (from the repository root)
    python -m benchmarks.compare --quick --out /tmp/cmp   # a small end-to-end check
    python -m benchmarks.compare --presets easy-bleu --algorithms dqn sb3-ppo --seeds 5 --workers 2
    python -m benchmarks.compare --scaling                # also measure steps/s with 1 and 2 processes

Every algorithm trains on the ``train`` split of a suite task with the same number of environment
steps, then acts greedily (deterministically) on the same ``test``-split episodes (reset seeds
``eval_seed + i``). Per run: solve rate, mean return, return as a fraction of the oracle's, steps
per episode against the oracle's, wall time and environment steps per second. Across seeds: the
interquartile mean (IQM) with a 95% stratified-bootstrap confidence interval (Agarwal et al. 2021,
"Deep RL at the edge of the statistical precipice"), and mean and standard deviation.

Writes ``compare.md`` (tables, command, machine, versions), ``compare.json`` (every run) and
``learning_curves.png`` into ``--out``. Third-party algorithms see the environment only through
the public API (``make_vec_env("textedit_env:TextEdit-v0", env_kwargs=...)``), as a user would.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from importlib.metadata import version
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable, Sequence

import gymnasium as gym
import matplotlib
import numpy as np
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
from sb3_contrib import MaskablePPO  # noqa: E402
from stable_baselines3 import DQN, PPO  # noqa: E402
from stable_baselines3.common.callbacks import BaseCallback  # noqa: E402
from stable_baselines3.common.env_util import make_vec_env  # noqa: E402
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv  # noqa: E402

from agents import dqn, qlearning  # noqa: E402
from agents.common import Policy, evaluate, make_env, oracle_policy, random_policy  # noqa: E402

RESULTS = Path(__file__).parent / "results"
PUBLIC_ID = "textedit_env:TextEdit-v0"
# Training episodes are cut at 10 steps for every learner (the oracle needs at most a few edits):
# long exploratory episodes only drift away from the reference. Evaluation keeps the env's 50.
TRAIN_EPISODE_STEPS = 10
CURVE_BINS = 20


# ----------------------------------------------------------------------------- the task suite
@dataclass(frozen=True)
class SuiteTask:
    env_kwargs: dict[str, Any]
    steps: int
    """environment steps of training, the same for every algorithm"""
    description: str


SUITE: dict[str, SuiteTask] = {
    "tiny-bleu": SuiteTask({"preset": "tiny"}, 10_000,
                           "3-4 words, 8-word vocabulary (9 training references), 1 corruption"),
    "easy-bleu": SuiteTask({"preset": "easy"}, 20_000, "3-6 words, 30-word vocabulary, 1-2 corruptions"),
    "medium-bleu": SuiteTask({"preset": "medium"}, 15_000,
                             "5-9 words and punctuation, 100-word vocabulary, 1-3 corruptions"),
    "medium-rougeL": SuiteTask({"preset": "medium", "reward": "rougeL"}, 15_000,
                               "as medium-bleu, paid in ROUGE-L F1"),
    "english-bleu": SuiteTask({"preset": "english"}, 15_000,
                              "bundled real English sentences (6-12 words), 1-3 corruptions"),
}


# ----------------------------------------------------------------------------- algorithms
@dataclass
class Trained:
    policy: Policy
    env_steps: int = 0
    episodes: list[tuple[int, bool, float]] = field(default_factory=list)
    """training episodes as (environment step at their end, solved, return)"""
    config: dict = field(default_factory=dict)
    """the hyperparameters used, recorded in compare.json"""


# A trainer: (training env kwargs, steps, seed, number of envs, scratch dir) -> Trained.
Trainer = Callable[[dict, int, int, int, Path], Trained]


def greedy_policy(env: gym.Env, obs: Any, info: dict) -> int:
    """One-step look-ahead: the valid action with the highest reward; stop when none improves."""
    rewards = np.where(env.unwrapped.action_masks(), env.unwrapped.action_rewards(), -np.inf)
    best = int(np.argmax(rewards))
    return best if rewards[best] > 0 else env.unwrapped.encode_action("stop")


def baseline(policy_of_seed: Callable[[int], Policy]) -> Trainer:
    return lambda env_kwargs, steps, seed, num_envs, out: Trained(policy_of_seed(seed))


def logged_episodes(out: Path) -> list[tuple[int, bool, float]]:
    """Training episodes from the episodes.csv that the package's agents write."""
    rows = np.genfromtxt(out / "episodes.csv", delimiter=",", names=True, ndmin=1)
    return [(int(r["step"]), bool(r["solved"]), float(r["episode_return"])) for r in rows]


def train_qlearning(env_kwargs: dict, steps: int, seed: int, num_envs: int, out: Path) -> Trained:
    agent = qlearning.train(qlearning.Args(steps=steps, seed=seed), env_kwargs, out, progress=False)
    return Trained(agent, steps, logged_episodes(out), asdict(agent.args))


def train_dqn(env_kwargs: dict, steps: int, seed: int, num_envs: int, out: Path) -> Trained:
    defaults = dqn.Args()
    # The agent steps its own synchronous envs (num_envs is for the SB3 algorithms); only the
    # warm-up is shortened, for tiny budgets.
    args = dqn.Args(steps=steps, seed=seed, train_episode_steps=TRAIN_EPISODE_STEPS,
                    learning_starts=min(defaults.learning_starts, steps // 4))
    agent = dqn.train(args, env_kwargs, out, progress=False)
    return Trained(agent, -(-steps // args.num_envs) * args.num_envs, logged_episodes(out), asdict(args))


class EpisodeRecorder(BaseCallback):
    """Collects SB3's finished training episodes (Monitor's return, the env's ``solved``)."""

    def __init__(self) -> None:
        super().__init__()
        self.episodes: list[tuple[int, bool, float]] = []

    def _on_step(self) -> bool:
        for done, info in zip(self.locals["dones"], self.locals["infos"]):
            if done:
                self.episodes.append((self.num_timesteps, bool(info["solved"]), float(info["episode"]["r"])))
        return True


def sb3_trainer(algo: type, hyperparameters: Callable[[int], dict]) -> Trainer:
    def train(env_kwargs: dict, steps: int, seed: int, num_envs: int, out: Path) -> Trained:
        envs = make_vec_env(PUBLIC_ID, n_envs=num_envs, seed=seed, env_kwargs=env_kwargs,
                            vec_env_cls=SubprocVecEnv if num_envs > 1 else DummyVecEnv)
        config = hyperparameters(steps)
        model = algo("MultiInputPolicy", envs, seed=seed, device="cpu", **config)
        recorder = EpisodeRecorder()
        model.learn(steps, callback=recorder)
        envs.close()
        masked = algo is MaskablePPO

        def policy(env: gym.Env, obs: Any, info: dict) -> int:
            masks = {"action_masks": env.unwrapped.action_masks()} if masked else {}
            return int(model.predict(obs, deterministic=True, **masks)[0])

        return Trained(policy, model.num_timesteps, recorder.episodes, config)

    return train


def sb3_dqn_hyperparameters(steps: int) -> dict:
    # SB3's defaults assume millions of steps (1M buffer, target copied every 10k steps, 10%
    # exploration); scaled here to the budget, as one would for a short run.
    return {"buffer_size": 50_000, "learning_starts": min(1_000, steps // 4),
            "target_update_interval": 500, "exploration_fraction": 0.4}


def ppo_hyperparameters(steps: int) -> dict:
    # Default PPO, with rollouts short enough for tens of updates within the budget.
    n_steps = min(512, steps // 4)
    return {"n_steps": n_steps, "batch_size": min(64, n_steps)}


ALGORITHMS: dict[str, Trainer] = {
    "random": baseline(random_policy),
    "greedy": baseline(lambda seed: greedy_policy),
    "oracle": baseline(lambda seed: oracle_policy),
    "qlearning": train_qlearning,
    "dqn": train_dqn,
    "sb3-dqn": sb3_trainer(DQN, sb3_dqn_hyperparameters),
    "sb3-ppo": sb3_trainer(PPO, ppo_hyperparameters),
    "sb3-maskable-ppo": sb3_trainer(MaskablePPO, ppo_hyperparameters),
}
LEARNERS = ("qlearning", "dqn", "sb3-dqn", "sb3-ppo", "sb3-maskable-ppo")
# Tabular Q-learning cannot generalize: it only runs where the training references are a handful.
QLEARNING_TASKS = ("tiny-bleu",)


# ----------------------------------------------------------------------------- arguments
@dataclass
class Args:
    presets: list[str] = field(default_factory=lambda: list(SUITE))
    algorithms: list[str] = field(default_factory=lambda: list(ALGORITHMS))
    seeds: int = 3
    steps: int | None = None
    """training steps on every task; None: the suite's budget per task"""
    episodes: int = 200
    """test-split evaluation episodes per run"""
    eval_seed: int = 10_000
    num_envs: int = 1
    """parallel training envs of the SB3 algorithms (SubprocVecEnv when > 1)"""
    workers: int = 1
    """runs in parallel, one process each"""
    bootstrap: int = 2_000
    """bootstrap resamples of the confidence intervals"""
    scaling: bool = False
    """also measure environment steps/s with 1 and 2 worker processes"""
    scaling_steps: int = 4_000
    quick: bool = False
    """a small end-to-end check: tiny-bleu, 2 seeds, 200 steps, 10 episodes"""
    out: Path = RESULTS


QUICK = {"presets": ["tiny-bleu"], "seeds": 2, "steps": 200, "episodes": 10, "scaling_steps": 200, "bootstrap": 200}


def parse_args(argv: Sequence[str] | None = None) -> Args:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for f in fields(Args):
        default = getattr(Args(), f.name)
        if isinstance(default, bool):
            parser.add_argument(f"--{f.name.replace('_', '-')}", action="store_true")
        elif isinstance(default, list):
            parser.add_argument(f"--{f.name}", nargs="+", default=default, choices=sorted(SUITE if f.name == "presets" else ALGORITHMS))
        else:
            kind = Path if f.name == "out" else int
            parser.add_argument(f"--{f.name.replace('_', '-')}", type=kind, default=default)
    args = Args(**vars(parser.parse_args(argv)))
    if args.quick:  # explicit flags still win over the quick settings
        given = {a.lstrip("-").split("=")[0].replace("-", "_") for a in (argv if argv is not None else sys.argv[1:])}
        for name, value in QUICK.items():
            if name not in given:
                setattr(args, name, value)
    return args


# ----------------------------------------------------------------------------- runs
@dataclass(frozen=True)
class RunSpec:
    task: str
    algorithm: str
    seed: int


def run(spec: RunSpec, args: Args, oracle: dict) -> dict:
    """Train one algorithm with one seed on one task's train split and evaluate it on the test split."""
    torch.set_num_threads(1)
    task = SUITE[spec.task]
    steps = args.steps or task.steps
    train_kwargs = {**task.env_kwargs, "split": "train", "max_episode_steps": TRAIN_EPISODE_STEPS}
    with tempfile.TemporaryDirectory() as scratch:
        start = time.perf_counter()
        trained = ALGORITHMS[spec.algorithm](train_kwargs, steps, spec.seed, args.num_envs, Path(scratch))
        train_seconds = time.perf_counter() - start
        start = time.perf_counter()
        result = evaluate(make_env(task.env_kwargs, "test"), trained.policy, args.episodes, args.eval_seed)
        eval_seconds = time.perf_counter() - start
    eval_steps = result["mean_steps"] * args.episodes
    learner = trained.env_steps > 0
    return {
        **asdict(spec), **result,
        "return_fraction": result["mean_return"] / oracle["mean_return"],
        "steps_ratio": result["mean_steps"] / oracle["mean_steps"],
        "train_steps": trained.env_steps,
        "wall_seconds": train_seconds + eval_seconds,
        # Training throughput; the baselines, which do not train, report their evaluation's.
        "steps_per_second": trained.env_steps / train_seconds if learner else eval_steps / eval_seconds,
        "config": trained.config,
        "curve": binned_curve(trained.episodes, trained.env_steps) if learner else None,
    }


def binned_curve(episodes: list[tuple[int, bool, float]], steps: int) -> dict[str, list]:
    """Training solve rate and return per bin of environment steps (NaN where no episode ended)."""
    edges = np.linspace(0, steps, CURVE_BINS + 1)
    data = np.array(episodes, dtype=float).reshape(-1, 3)
    which = np.clip(np.searchsorted(edges, data[:, 0], side="left") - 1, 0, CURVE_BINS - 1)

    def per_bin(column: int) -> list[float]:
        return [float(data[which == b, column].mean()) if np.any(which == b) else float("nan") for b in range(CURVE_BINS)]

    return {"steps": edges[1:].tolist(), "solve_rate": per_bin(1), "return": per_bin(2)}


def run_specs(args: Args) -> list[RunSpec]:
    return [RunSpec(task, algorithm, seed) for task in args.presets for algorithm in args.algorithms
            if algorithm != "qlearning" or task in QLEARNING_TASKS for seed in range(args.seeds)]


def oracle_reference(task: str, args: Args) -> dict:
    """The oracle on the evaluation episodes: the scale of return fractions and step ratios."""
    return evaluate(make_env(SUITE[task].env_kwargs, "test"), oracle_policy, args.episodes, args.eval_seed)


def run_all(args: Args) -> tuple[list[dict], dict[str, dict]]:
    oracles = {task: oracle_reference(task, args) for task in args.presets}
    specs = run_specs(args)
    if args.workers == 1:
        results = (run(spec, args, oracles[spec.task]) for spec in specs)
        return [log(spec, r) for spec, r in zip(specs, results)], oracles
    # forkserver: workers must not inherit torch's thread pools or open envs from this process.
    with ProcessPoolExecutor(args.workers, mp_context=get_context("forkserver")) as pool:
        futures = [pool.submit(run, spec, args, oracles[spec.task]) for spec in specs]
        return [log(spec, future.result()) for spec, future in zip(specs, futures)], oracles


def log(spec: RunSpec, record: dict) -> dict:
    print(f"{spec.task:14} {spec.algorithm:17} seed {spec.seed}: solve {record['solve_rate']:.3f}  "
          f"return/oracle {record['return_fraction']:.3f}  {record['wall_seconds']:.0f} s", flush=True)
    return record


# ----------------------------------------------------------------------------- statistics
def iqm(scores: np.ndarray, axis: int = -1) -> np.ndarray:
    """Interquartile mean: the mean of the middle 50% (``scipy.stats.trim_mean(x, 0.25)``, as rliable)."""
    scores = np.sort(np.asarray(scores, dtype=float), axis=axis)
    n = scores.shape[axis]
    cut = int(0.25 * n)
    return np.take(scores, np.arange(cut, n - cut), axis=axis).mean(axis=axis)


def stratified_bootstrap_ci(strata: Sequence[Sequence[float]], statistic: Callable = iqm, resamples: int = 2_000,
                            confidence: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """Point estimate and percentile CI of ``statistic`` over all runs, resampling the runs of each
    stratum (task) with replacement and independently, as rliable does."""
    rng = np.random.default_rng(seed)
    strata = [np.asarray(s, dtype=float) for s in strata]
    samples = np.concatenate([s[rng.integers(len(s), size=(resamples, len(s)))] for s in strata], axis=1)
    estimates = statistic(samples, axis=1)
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(estimates, [tail, 100 - tail])
    return float(statistic(np.concatenate(strata))), float(low), float(high)


def aggregate(records: list[dict], resamples: int) -> dict[str, dict]:
    """Per task and algorithm (key "task/algorithm") and per algorithm over all its tasks ("*/algorithm")."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in records:
        groups.setdefault((r["task"], r["algorithm"]), []).append(r)
    algorithms = list(dict.fromkeys(a for _, a in groups))
    keyed = {f"{t}/{a}": [runs] for (t, a), runs in groups.items()}
    keyed |= {f"*/{a}": [runs for (_, b), runs in groups.items() if b == a] for a in algorithms}
    out = {}
    for key, strata in keyed.items():
        runs = [r for stratum in strata for r in stratum]
        row = {"runs": len(runs)}
        for metric in ("solve_rate", "return_fraction"):
            row[f"{metric}_iqm"] = stratified_bootstrap_ci([[r[metric] for r in s] for s in strata], resamples=resamples)
        for metric in ("solve_rate", "mean_return", "return_fraction", "steps_ratio", "wall_seconds", "steps_per_second", "train_steps"):
            values = np.array([r[metric] for r in runs])
            row[metric] = (float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0)
        out[key] = row
    return out


# ----------------------------------------------------------------------------- scaling
def measure_scaling(steps: int, task: str = "easy-bleu") -> list[dict]:
    """Environment steps/s of the same workload in 1 and 2 worker processes: random valid actions in
    a gymnasium AsyncVectorEnv, and SB3 PPO training on a SubprocVecEnv."""
    kwargs = SUITE[task].env_kwargs
    rows = []
    for n in (1, 2):
        envs = gym.make_vec(PUBLIC_ID, num_envs=n, vectorization_mode="async", **kwargs)
        rng = np.random.default_rng(0)
        envs.reset(seed=0)
        start = time.perf_counter()
        for _ in range(steps // n):
            masks = envs.call("action_masks")
            envs.step(np.array([rng.choice(np.flatnonzero(m)) for m in masks]))
        env_rate = (steps // n) * n / (time.perf_counter() - start)
        envs.close()

        envs = make_vec_env(PUBLIC_ID, n_envs=n, seed=0, env_kwargs=kwargs, vec_env_cls=SubprocVecEnv)
        model = PPO("MultiInputPolicy", envs, seed=0, device="cpu", **ppo_hyperparameters(steps))
        start = time.perf_counter()
        model.learn(steps)
        ppo_rate = model.num_timesteps / (time.perf_counter() - start)
        envs.close()
        rows.append({"processes": n, "env_steps_per_second": env_rate, "ppo_steps_per_second": ppo_rate})
    return rows


# ----------------------------------------------------------------------------- report
ALGORITHM_NOTES = {
    "random": "uniform over the valid actions (stop included)",
    "greedy": "one-step look-ahead: argmax of `action_rewards()` over valid actions, stop when nothing improves",
    "oracle": "`textedit_env.oracle.oracle_action` (minimal edit script; the upper bound)",
    "qlearning": f"`agents.qlearning` with its default `Args` ({qlearning.Args()}) (tiny-bleu only)",
    "dqn": f"`agents.dqn` with its default `Args` ({dqn.Args()}), learning_starts at most a quarter of the budget",
    "sb3-dqn": f"SB3 `DQN`, `MultiInputPolicy`, {sb3_dqn_hyperparameters(20_000)} (at 20k steps)",
    "sb3-ppo": f"SB3 `PPO`, `MultiInputPolicy`, {ppo_hyperparameters(20_000)}",
    "sb3-maskable-ppo": f"sb3-contrib `MaskablePPO`, `MultiInputPolicy`, {ppo_hyperparameters(20_000)}, masks in training and evaluation",
}


def interval(value: tuple[float, float, float]) -> str:
    return f"{value[0]:.3f} [{value[1]:.3f}, {value[2]:.3f}]"


def spread(value: tuple[float, float], digits: int = 3) -> str:
    return f"{value[0]:.{digits}f} ± {value[1]:.{digits}f}"


def versions() -> str:
    packages = ("textedit-env", "gymnasium", "stable-baselines3", "sb3-contrib", "torch", "numpy", "matplotlib")
    return ", ".join(f"{p} {version(p)}" for p in packages) + f", Python {platform.python_version()}"


def report(args: Args, records: list[dict], oracles: dict, stats: dict, scaling: list[dict] | None,
           command: str, seconds: float) -> str:
    learners = [a for a in args.algorithms if a in LEARNERS]
    lines = [
        "# Algorithm comparison on the TextEdit task suite", "",
        f"Produced by `{command}` in {seconds / 60:.1f} min ({args.workers} run(s) at a time) on "
        f"{platform.machine()} {platform.system()}, {len(os.sched_getaffinity(0))} cores, "
        f"one torch thread per run; {versions()}.", "",
        f"Training on the `train` split, {args.seeds} seeds per algorithm and task, the same step budget for "
        f"every algorithm, training episodes cut at {TRAIN_EPISODE_STEPS} steps; greedy/deterministic evaluation "
        f"on the same {args.episodes} `test`-split episodes (reset seeds {args.eval_seed}+i, at most 50 steps). "
        "IQM: interquartile mean over runs, with a 95% stratified-bootstrap confidence interval "
        f"({args.bootstrap} resamples, runs resampled within each task; rliable's method). "
        "Return / oracle: mean test return over the oracle's on the same episodes; steps / oracle: mean "
        "episode length over the oracle's. Steps/s: training environment steps per second of training "
        "wall time (for random, greedy and oracle: of evaluation).", "",
        "## Tasks", "",
        "| task | env kwargs | training steps | description | oracle steps | oracle return |",
        "|---|---|---|---|---|---|",
    ]
    for task in args.presets:
        t, o = SUITE[task], oracles[task]
        lines.append(f"| {task} | `{t.env_kwargs}` | {args.steps or t.steps:,} | {t.description} | "
                     f"{o['mean_steps']:.2f} | {o['mean_return']:.3f} |")
    lines += ["", "## Algorithms", ""] + [f"- **{a}**: {ALGORITHM_NOTES[a]}" for a in args.algorithms]
    lines += ["", "## Results per task", "",
              "| task | algorithm | solve rate IQM [95% CI] | solve rate mean ± sd | return / oracle IQM [95% CI] | "
              "mean return ± sd | steps / oracle | wall s | env steps/s |",
              "|---|---|---|---|---|---|---|---|---|"]
    for task in args.presets:
        for a in args.algorithms:
            s = stats.get(f"{task}/{a}")
            if s is not None:
                lines.append(f"| {task} | {a} | {interval(s['solve_rate_iqm'])} | {spread(s['solve_rate'])} | "
                             f"{interval(s['return_fraction_iqm'])} | {spread(s['mean_return'])} | "
                             f"{s['steps_ratio'][0]:.2f} | {s['wall_seconds'][0]:.0f} | {s['steps_per_second'][0]:.0f} |")
    lines += ["", "## Aggregate over tasks", "",
              "IQM over all runs of an algorithm, bootstrap stratified by task (Q-learning: tiny-bleu only).", "",
              "| algorithm | runs | solve rate IQM [95% CI] | return / oracle IQM [95% CI] |", "|---|---|---|---|"]
    for a in args.algorithms:
        s = stats[f"*/{a}"]
        lines.append(f"| {a} | {s['runs']} | {interval(s['solve_rate_iqm'])} | {interval(s['return_fraction_iqm'])} |")
    lines += ["", "## Learning curves", "",
              f"![learning curves](learning_curves.png): training-episode solve rate and return of {', '.join(learners)} "
              "against environment steps, mean over seeds, band min to max over seeds."]
    if scaling:
        base = scaling[0]
        lines += ["", "## Scale-out: 1 → 2 processes", "",
                  f"{args.scaling_steps:,} steps of easy-bleu per measurement, measured after the comparison.", "",
                  "| processes | AsyncVectorEnv, random valid actions: steps/s | speed-up | SB3 PPO on SubprocVecEnv: steps/s | speed-up |",
                  "|---|---|---|---|---|"]
        for row in scaling:
            lines.append(f"| {row['processes']} | {row['env_steps_per_second']:.0f} | "
                         f"{row['env_steps_per_second'] / base['env_steps_per_second']:.2f}x | "
                         f"{row['ppo_steps_per_second']:.0f} | {row['ppo_steps_per_second'] / base['ppo_steps_per_second']:.2f}x |")
    return "\n".join(lines) + "\n"


def plot(args: Args, records: list[dict], path: Path) -> None:
    learners = [a for a in args.algorithms if a in LEARNERS]
    fig, axes = plt.subplots(2, len(args.presets), figsize=(4 * len(args.presets), 6.5), squeeze=False, sharey="row")
    for col, task in enumerate(args.presets):
        for a in learners:
            curves = [r["curve"] for r in records if r["task"] == task and r["algorithm"] == a]
            if not curves:
                continue
            steps = np.array(curves[0]["steps"])
            for row, metric in enumerate(("solve_rate", "return")):
                values = np.array([c[metric] for c in curves])
                ax = axes[row, col]
                colour = f"C{LEARNERS.index(a)}"  # the same colour for an algorithm in every panel
                ax.plot(steps, np.nanmean(values, axis=0), color=colour, label=a)
                ax.fill_between(steps, np.nanmin(values, axis=0), np.nanmax(values, axis=0), color=colour, alpha=0.2)
        axes[0, col].set_title(task)
        axes[1, col].set_xlabel("environment steps")
    axes[0, 0].set_ylabel("training solve rate")
    axes[1, 0].set_ylabel("training return")
    handles = {h.get_label(): h for ax in axes[0] for h in ax.get_lines()}
    fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=len(handles), fontsize="small")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> Path:
    args = parse_args(argv)
    torch.set_num_threads(1)
    command = "python -m benchmarks.compare " + " ".join(argv if argv is not None else sys.argv[1:])
    start = time.perf_counter()
    records, oracles = run_all(args)
    seconds = time.perf_counter() - start
    scaling = measure_scaling(args.scaling_steps) if args.scaling else None
    stats = aggregate(records, args.bootstrap)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "compare.json").write_text(json.dumps(
        {"command": command, "args": {**asdict(args), "out": str(args.out)}, "oracles": oracles,
         "runs": records, "aggregates": stats, "scaling": scaling}, indent=1) + "\n")
    plot(args, records, args.out / "learning_curves.png")
    md = args.out / "compare.md"
    md.write_text(report(args, records, oracles, stats, scaling, command.strip(), seconds))
    print(f"wrote {md}")
    return md


if __name__ == "__main__":
    main()
