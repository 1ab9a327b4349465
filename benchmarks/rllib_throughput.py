"""Environment steps per second of the RLlib PPO agent with 1 and 2 env runners, and a projection to a cluster.

    python -m benchmarks.rllib_throughput [--runners 1 2] [--presets easy english] [--rounds 8]
                                          [--out benchmarks/results/rllib_throughput.md]

Needs ``ray[rllib]`` (its own environment, as ``.ci/rllib`` makes). For each preset it starts one
local Ray instance (a CPU for each runner of each configuration and one for each learner) and
builds :mod:`textedit_agents.rllib_ppo`'s PPO with its default Args once per number of env runners; after
a warm-up iteration each, the configurations take turns, one PPO iteration each per round
(``Algorithm.train``: sampling, the episodes sent to the learner, its update, the weights sent
back), so that a burst of load on a shared machine hits all of them. Per configuration, over the
rounds: env steps over wall time (*training*); the learner's update, timed around
``LearnerGroup.update`` (*learner per step*); the rest of each iteration is sampling, steps over
that time (*sampling*, and per runner). In one process without Ray, the runners' environment
alone (random valid edits) for comparison. PPO samples and learns in turn, so ``R`` runners are
projected to ``1 / (1 / (R * per-runner rate) + learner time per step)``. Writes a Markdown report
with the command, the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from functools import wraps
from importlib.metadata import version
from pathlib import Path

import numpy as np
import torch

from benchmarks.throughput import machine_description, steps_per_second
from textedit_agents import rllib_ppo

PROJECTED_RUNNERS = (1, 2, 4, 8, 16, 32, 64)


class TimedPPO:
    """A built PPO algorithm whose iterations and learner updates are timed."""

    def __init__(self, runners: int, env_kwargs: dict, seed: int):
        self.runners = runners
        self.algo = rllib_ppo.build_config(rllib_ppo.Args(num_env_runners=runners, seed=seed), env_kwargs).build_algo()
        self.steps = self.seconds = self.learner_seconds = 0.0
        update = self.algo.learner_group.update

        @wraps(update)
        def timed_update(*args, **kwargs):
            start = time.perf_counter()
            try:
                return update(*args, **kwargs)
            finally:
                self.learner_seconds += time.perf_counter() - start

        self.algo.learner_group.update = timed_update
        self.sampled = self._sampled(self.algo.train())  # warm-up: connectors and tensors built once
        self.learner_seconds = 0.0

    @staticmethod
    def _sampled(result: dict) -> int:
        return int(result[rllib_ppo.ENV_RUNNER_RESULTS][rllib_ppo.NUM_ENV_STEPS_SAMPLED_LIFETIME])

    def iteration(self) -> None:
        start = time.perf_counter()
        sampled = self._sampled(self.algo.train())
        self.seconds += time.perf_counter() - start
        self.steps, self.sampled = self.steps + sampled - self.sampled, sampled

    def row(self) -> dict[str, float]:
        sampling = self.steps / (self.seconds - self.learner_seconds)
        return {
            "runners": self.runners,
            "training": self.steps / self.seconds,
            "sampling": sampling,
            "per_runner": sampling / self.runners,
            "learner_us_per_step": 1e6 * self.learner_seconds / self.steps,
        }


def measure(env_kwargs: dict, args: argparse.Namespace) -> list[dict[str, float]]:
    """One row per number of env runners, the configurations taking turns on one local Ray instance."""
    cpus = sum(runners + 1 for runners in args.runners)
    rllib_ppo.ray.init(address="local", num_cpus=cpus, include_dashboard=False, configure_logging=False)
    try:
        rllib_ppo.register_env(rllib_ppo.ENV_NAME, rllib_ppo.make_training_env)
        configs = [TimedPPO(runners, env_kwargs, args.seed) for runners in sorted(args.runners)]
        try:
            for _ in range(args.rounds):
                for config in configs:
                    config.iteration()
        finally:
            for config in configs:
                config.algo.stop()
    finally:
        rllib_ppo.ray.shutdown()
    return [config.row() for config in configs]


def single_process_rate(env_kwargs: dict, steps: int, seed: int) -> float:
    """Steps per second of the runners' environment alone, random valid edits, no Ray and no policy."""
    env = rllib_ppo.make_training_env(rllib_ppo.env_config(rllib_ppo.Args(), env_kwargs))
    env.reset(seed=seed)
    return steps_per_second(env, steps, np.random.default_rng(seed), masked=True)


def projection(row: dict[str, float]) -> list[tuple[int, float, float]]:
    """(runners, sampling, training) env steps per second projected from one measured row."""
    learner = row["learner_us_per_step"] / 1e6
    return [(r, r * row["per_runner"], 1 / (1 / (r * row["per_runner"]) + learner)) for r in PROJECTED_RUNNERS]


def report(
    args: argparse.Namespace, results: dict[str, tuple[float, list[dict], tuple[float, float]]], seconds: float
) -> str:
    defaults = rllib_ppo.Args()
    lines = [
        "# Throughput: RLlib PPO (`textedit_agents.rllib_ppo`) with 1 and 2 env runners",
        "",
        f"Command: `{' '.join(['python -m benchmarks.rllib_throughput', *args.argv])}`",
        f"Machine: {os.cpu_count()} CPU cores, {machine_description()}; ray {version('ray')}, torch {version('torch')}",
        f"Run time: {seconds:.0f} s",
        "",
        f"PPO with the agent's default Args: {defaults.num_envs_per_env_runner} environments per runner, "
        f"{defaults.train_batch_size} steps per iteration, {defaults.num_epochs} epochs of "
        f"{defaults.minibatch_size}-step minibatches, one learner in the driver on one torch thread; training "
        f"episodes cut at {defaults.train_episode_steps} steps. One local Ray instance per preset holds every "
        f"configuration; after a warm-up iteration each, they take turns, one iteration each per round, "
        f"{args.rounds} rounds.",
        "",
        "- *training*: env steps over the wall time of the iterations (sampling, episodes to the learner, its "
        "update, weights back to the runners)",
        "- *learner per step*: the time in `LearnerGroup.update` (GAE and the PPO epochs) per sampled step",
        "- *sampling*: env steps over the rest of the iterations' time (the runners stepping their "
        "environments with the policy acting, the episodes sent to the driver); *per runner*: that over the runners",
        "- *environment alone*: the runners' environment (mask in the observation) in one process without Ray "
        "and without a policy, random valid edits",
        "- *load*: the machine's 1-minute load average before and after the preset's measurement (other "
        "processes share its cores)",
        "",
        "| preset | env runners | training (steps/s) | sampling (steps/s) | per runner | learner per step (us) "
        "| environment alone (steps/s) | load |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for preset, (alone, rows, load) in results.items():
        for row in rows:
            lines.append(
                f"| {preset} | {row['runners']} | {row['training']:,.0f} | {row['sampling']:,.0f} | "
                f"{row['per_runner']:,.0f} | {row['learner_us_per_step']:,.0f} | {alone:,.0f} | "
                f"{load[0]:.1f} / {load[1]:.1f} |"
            )
    loads = [load for _, _, pair in results.values() for load in pair]
    if max(loads) > os.cpu_count():
        lines += [
            "",
            f"The load average reached {max(loads):.1f} on {os.cpu_count()} cores: the runners competed with "
            "other processes for the cores, so runners beyond the first show contention here, not scaling.",
        ]
    lines += [
        "",
        "## Projection to a cluster",
        "",
        f"From the {args.project_from}-runner row of each preset: its per-runner sampling rate (each runner on a core "
        "of its own, as fast as these) and its learner time per step (one learner, as here): "
        "`1 / (1 / (R * per-runner rate) + learner time per step)`. Sampling grows with the runners; training "
        "tends to the learner's limit, `1 / learner time per step`, unless the learner is scaled too "
        "(`num_learners`, a GPU learner: not measured here).",
        "",
        "| preset | env runners | sampling (steps/s) | training (steps/s) |",
        "|---|---:|---:|---:|",
    ]
    for preset, (_, rows, _) in results.items():
        row = next(row for row in rows if row["runners"] == args.project_from)
        for runners, sampling, training in projection(row):
            lines.append(f"| {preset} | {runners} | {sampling:,.0f} | {training:,.0f} |")
        lines.append(f"| {preset} | limit | | {1e6 / row['learner_us_per_step']:,.0f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runners", type=int, nargs="+", default=[1, 2], help="numbers of env runners to measure")
    parser.add_argument("--presets", nargs="+", default=["easy", "english"], help="TextEdit-v0 presets")
    parser.add_argument("--rounds", type=int, default=8, help="PPO iterations of each configuration, taking turns")
    parser.add_argument(
        "--project-from",
        type=int,
        default=1,
        help="the measured number of runners the projection starts from (one of --runners)",
    )
    parser.add_argument("--env-steps", type=int, default=20_000, help="steps of the environment-alone measurement")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "rllib_throughput.md")
    args = parser.parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else argv
    if min(args.runners) < 1 or min(args.rounds, args.env_steps) < 1:
        parser.error("--runners, --rounds and --env-steps must be positive")
    if args.project_from not in args.runners:
        parser.error(f"--project-from {args.project_from} is not one of --runners {args.runners}")
    torch.set_num_threads(1)
    start, results = time.time(), {}
    for preset in args.presets:
        env_kwargs = {"preset": preset}
        alone = single_process_rate(env_kwargs, args.env_steps, args.seed)
        load_before = os.getloadavg()[0]
        rows = measure(env_kwargs, args)
        results[preset] = (alone, rows, (load_before, os.getloadavg()[0]))
    text = report(args, results, time.time() - start)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
