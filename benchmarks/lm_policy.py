"""Benchmark of the language-model policy (:mod:`agents.lm`); writes benchmarks/results/lm_policy.md and .json.

    python -m benchmarks.lm_policy                          # easy (about 15 min on 2 cores)
    python -m benchmarks.lm_policy --tasks easy medium-rougeL
    python -m benchmarks.lm_policy --tasks                  # no task: only rebuild lm_policy.md from lm_policy.json
    python -m benchmarks.lm_policy --quick --out /tmp/lm    # a small end-to-end check

Per task: ``agents.lm.train`` with its default arguments, and a greedy evaluation on the test split
(sentences never seen in training) of the model after supervised pretraining (taken through the
training's step-0 checkpoint) and after RL fine-tuning, beside the oracle and a random agent on the
same episodes; with each, the share of the policy's commands that were invalid.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch

from agents import lm
from agents.common import Checkpoints, evaluate_with_baselines
from benchmarks.records import machine, versions

RESULTS = Path(__file__).parent / "results"
TASKS = {
    "easy": {"preset": "easy"},
    "easy-weak": {"preset": "easy"},
    "medium-rougeL": {"preset": "medium", "reward": "rougeL"},
}
ARGS = {"easy-weak": {"pretrain_episodes": 4_000, "pretrain_epochs": 4}}
"""arguments that differ from the defaults, per task: easy-weak asks what RL adds to a weakly pretrained model"""
EVAL_SEED = 1000  # reset seeds 1000 + i, as in agents.md
METRICS = ("solve_rate", "mean_return", "mean_final_bleu", "mean_final_rougeL", "mean_steps")


def evaluation(agent: lm.Agent, env_kwargs: dict, episodes: int) -> dict:
    """Test-split evaluation beside the oracle and random, and the agent's share of invalid commands."""
    agent.commands = agent.invalid_commands = 0
    result = evaluate_with_baselines(env_kwargs, agent, episodes, EVAL_SEED, agent.eval_split())
    return {**result, "invalid_rate": agent.invalid_rate, "commands": agent.commands}


def task_run(task: str, args: lm.Args, episodes: int) -> dict:
    env_kwargs = TASKS[task]
    pretrained: dict = {}
    eval_seconds = 0.0

    def after_pretraining(step: int, agent: lm.Agent) -> None:
        nonlocal eval_seconds
        start = time.perf_counter()
        pretrained.update(evaluation(agent, env_kwargs, episodes))
        eval_seconds += time.perf_counter() - start

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        agent = lm.train(args, env_kwargs, Path(out), progress=False, checkpoints=Checkpoints([0], after_pretraining))
    train_seconds = time.perf_counter() - start - eval_seconds
    fine_tuned = evaluation(agent, env_kwargs, episodes)
    print(
        f"{task}: pretrained {pretrained['solve_rate']:.3f}, fine-tuned {fine_tuned['solve_rate']:.3f}, "
        f"{train_seconds / 60:.1f} min",
        flush=True,
    )
    return {
        "task": task,
        "env_kwargs": env_kwargs,
        "args": asdict(args),
        "train_seconds": train_seconds,
        "pretrained": pretrained,
        "fine_tuned": fine_tuned,
    }


def invalid_count(result: dict) -> int:
    return round(result["invalid_rate"] * result["commands"])


def report(data: dict) -> list[str]:
    lines = [
        "# Language-model policy",
        "",
        f"Produced by `python -m benchmarks.lm_policy` on {data['machine']}, one torch thread, "
        f"shared with other jobs; {data['versions']}.",
        "",
        "`agents.lm` with its default arguments (per task below), trained on the train split; greedy "
        f"evaluation on {data['episodes']} test-split episodes (sentences never seen in training; reset seeds "
        f"{EVAL_SEED}+i, at most 50 steps), the same episodes for every row. Pretrained: after supervised "
        "pretraining on oracle demonstrations only; fine-tuned: after the RL stage as well. Invalid: share of "
        "the policy's commands that did not parse or were not allowed in their state (invalid / all commands): an "
        "invalid command changes nothing, so a greedy policy repeats it to the time limit and one such episode "
        "adds about 50 to the count. Train min: wall-clock minutes of `lm.train` (both stages, evaluations "
        "excluded) on a machine shared with other jobs.",
        "",
        "| task | policy | solve rate | mean return | final BLEU | final ROUGE-L | steps | invalid | train min |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in data["runs"]:
        minutes = f"{run['train_seconds'] / 60:.1f}"
        rows = [("pretrained", run["pretrained"], ""), ("fine-tuned", run["fine_tuned"], minutes)]
        for name, result, train_min in rows:
            invalid = f"{result['invalid_rate']:.3f} ({invalid_count(result)}/{result['commands']})"
            lines.append(
                f"| {run['task']} | {name} | "
                + " | ".join(f"{result[k]:.3f}" for k in METRICS)
                + f" | {invalid} | {train_min} |"
            )
        for name in ("oracle", "random"):
            baseline = run["fine_tuned"]
            lines.append(
                f"| {run['task']} | {name} | "
                + " | ".join(f"{baseline[f'{name}_{k}']:.3f}" for k in METRICS)
                + " | | |"
            )
    lines += [
        "",
        "What the RL stage changed (its reward: the discounted return of a sampled command followed by the "
        "oracle's edits, from stepping a copy of the env; see `agents/lm.py`):",
        "",
    ]
    for run in data["runs"]:
        before, after = run["pretrained"], run["fine_tuned"]
        p, n = (before["solve_rate"] + after["solve_rate"]) / 2, before["episodes"]
        lines.append(
            f"- {run['task']}: solve rate {after['solve_rate'] - before['solve_rate']:+.3f}, mean return "
            f"{after['mean_return'] - before['mean_return']:+.3f}, invalid commands "
            f"{invalid_count(after) - invalid_count(before):+d}; the standard error of one solve rate near "
            f"{p:.2f} over {n} episodes is {math.sqrt(p * (1 - p) / n):.3f}."
        )
    lines += [
        "",
        "Task environments and arguments: "
        + "; ".join(f"{run['task']}: `{run['env_kwargs']}`, `lm.Args({run['args']})`" for run in data["runs"])
        + ".",
        "",
        "DQN on the same tasks and test episodes: `benchmarks/results/agents.md` (section *DQN on every task*).",
        "",
    ]
    return lines


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tasks",
        nargs="*",
        choices=sorted(TASKS),
        default=["easy"],
        help="tasks to run (none: only rebuild lm_policy.md from lm_policy.json)",
    )
    parser.add_argument("--episodes", type=int, default=200, help="test episodes per evaluation")
    parser.add_argument("--quick", action="store_true", help="a small end-to-end check (tiny budgets)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    options = parser.parse_args(argv)
    torch.set_num_threads(1)
    args = replace(lm.Args(), steps=32, pretrain_episodes=50, pretrain_epochs=1) if options.quick else lm.Args()
    episodes = 10 if options.quick else options.episodes
    data_path = options.out / "lm_policy.json"
    # Tasks not rerun keep their previous results.
    data = json.loads(data_path.read_text()) if data_path.exists() else {"runs": []}
    runs = {run["task"]: run for run in data["runs"]}
    for task in options.tasks:
        runs[task] = task_run(task, replace(args, **ARGS.get(task, {})), episodes)
    data.update(runs=[runs[t] for t in TASKS if t in runs], machine=machine(), versions=versions(), episodes=episodes)
    options.out.mkdir(parents=True, exist_ok=True)
    data_path.write_text(json.dumps(data, indent=1) + "\n")
    md = options.out / "lm_policy.md"
    md.write_text("\n".join(report(data)))
    print(f"wrote {md}")
    return md


if __name__ == "__main__":
    main()
