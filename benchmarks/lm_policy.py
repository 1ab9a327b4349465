"""Benchmark of the language-model policy (:mod:`textedit_agents.lm_policy`); writes results/lm_policy.md, .json.

    python -m benchmarks.lm_policy                          # easy (about 8 min on 2 cores)
    python -m benchmarks.lm_policy --tasks easy easy-weak --seeds 0 1 2
    python -m benchmarks.lm_policy --tasks                  # no task: only rebuild lm_policy.md from lm_policy.json
    python -m benchmarks.lm_policy --quick --out /tmp/lm    # a small end-to-end check

Per task: ``textedit_agents.lm_policy.train`` with its default arguments, and a greedy evaluation on the test split
(sentences never seen in training) of the model after supervised pretraining (taken through the
training's step-0 checkpoint) and after RL fine-tuning, beside the oracle and a random agent on the
same episodes; with each, the share of the policy's commands that were invalid, and the wall-clock time
of each stage of the training.
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

from benchmarks.records import machine, versions
from textedit_agents import lm_policy
from textedit_agents.evaluation import evaluate_with_baselines
from textedit_agents.training import Checkpoints

RESULTS = Path(__file__).parent / "results"
TASKS = {
    "easy": {"preset": "easy"},
    "easy-weak": {"preset": "easy"},
    "medium-rougeL": {"preset": "medium", "reward": "rougeL"},
}
ARGS = {"easy-weak": {"pretrain_episodes": 4_000, "pretrain_epochs": 4}}
"""arguments that differ from the defaults, per task: easy-weak asks what RL adds to a weakly pretrained model"""
EVAL_SEED = 1000  # reset seeds 1000 + i, as in dqn_study.md
METRICS = ("solve_rate", "mean_return", "mean_final_bleu", "mean_final_rougeL", "mean_steps")


def evaluation(agent: lm_policy.Agent, env_kwargs: dict, episodes: int) -> dict:
    """Test-split evaluation beside the oracle and random, and the agent's share of invalid commands."""
    agent.commands = agent.invalid_commands = 0
    result = evaluate_with_baselines(env_kwargs, agent, episodes, EVAL_SEED, agent.eval_split())
    return {**result, "invalid_rate": agent.invalid_rate, "commands": agent.commands}


def task_run(task: str, args: lm_policy.Args, episodes: int) -> dict:
    env_kwargs = TASKS[task]
    pretrained: dict = {}
    pretrain_seconds = 0.0

    def after_pretraining(step: int, agent: lm_policy.Agent) -> None:
        # The step-0 checkpoint: pretraining is done, the RL stage starts after this evaluation.
        nonlocal pretrain_seconds
        pretrain_seconds = time.perf_counter() - start
        pretrained.update(evaluation(agent, env_kwargs, episodes))
        pretrained["seconds"] = time.perf_counter() - start - pretrain_seconds

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        agent = lm_policy.train(
            args, env_kwargs, Path(out), progress=False, checkpoints=Checkpoints([0], after_pretraining)
        )
    rl_seconds = time.perf_counter() - start - pretrain_seconds - pretrained.pop("seconds")
    fine_tuned = evaluation(agent, env_kwargs, episodes)
    print(
        f"{task} seed {args.seed}: pretrained {pretrained['solve_rate']:.3f}, fine-tuned "
        f"{fine_tuned['solve_rate']:.3f}, {pretrain_seconds / 60:.1f} + {rl_seconds / 60:.1f} min",
        flush=True,
    )
    return {
        "task": task,
        "seed": args.seed,
        "env_kwargs": env_kwargs,
        "args": asdict(args),
        "pretrain_seconds": pretrain_seconds,
        "rl_seconds": rl_seconds,
        "train_seconds": pretrain_seconds + rl_seconds,
        "pretrained": pretrained,
        "fine_tuned": fine_tuned,
    }


def without_seed(args: dict) -> dict:
    return {name: value for name, value in args.items() if name != "seed"}


def invalid_count(result: dict) -> int:
    return round(result["invalid_rate"] * result["commands"])


def report(data: dict) -> list[str]:
    lines = [
        "# Language-model policy",
        "",
        f"Produced by `python -m benchmarks.lm_policy` on {data['machine']}, one torch thread, "
        f"shared with other jobs; {data['versions']}.",
        "",
        "`textedit_agents.lm_policy` with the arguments listed below the table (its defaults when the run was "
        "recorded; the seed as given), trained on the train split; "
        f"greedy evaluation on {data['episodes']} test-split episodes (sentences never seen in training; reset "
        f"seeds {EVAL_SEED}+i, at most 50 steps), the same episodes for every row. Pretrained: after supervised "
        "pretraining on oracle demonstrations only; fine-tuned: after the RL stage as well. Invalid: share of "
        "the policy's commands that did not parse or were not allowed in their state (invalid / all commands): an "
        "invalid command changes nothing, so a greedy policy repeats it to the time limit and one such episode "
        "adds about 50 to the count. Pretrain min and RL min: wall-clock minutes of the two stages of "
        "`lm_policy.train` "
        "(demonstrations and supervised pretraining; RL fine-tuning and saving), evaluations excluded, on a "
        "machine shared with other jobs.",
        "",
        "| task | seed | policy | solve rate | mean return | final BLEU | final ROUGE-L | steps | invalid "
        "| pretrain min | RL min |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    shown_baselines = set()
    for run in data["runs"]:
        rows = [
            ("pretrained", run["pretrained"], f"{run['pretrain_seconds'] / 60:.1f}", ""),
            ("fine-tuned", run["fine_tuned"], "", f"{run['rl_seconds'] / 60:.1f}"),
        ]
        for name, result, pretrain_min, rl_min in rows:
            invalid = f"{result['invalid_rate']:.3f} ({invalid_count(result)}/{result['commands']})"
            lines.append(
                f"| {run['task']} | {run['seed']} | {name} | "
                + " | ".join(f"{result[k]:.3f}" for k in METRICS)
                + f" | {invalid} | {pretrain_min} | {rl_min} |"
            )
        if run["task"] in shown_baselines:
            continue  # the same test episodes for every seed
        shown_baselines.add(run["task"])
        for name in ("oracle", "random"):
            baseline = run["fine_tuned"]
            lines.append(
                f"| {run['task']} | | {name} | "
                + " | ".join(f"{baseline[f'{name}_{k}']:.3f}" for k in METRICS)
                + " | | | |"
            )
    lines += [
        "",
        "What the RL stage changed (its reward: the discounted return of a sampled command followed by the "
        "oracle's edits, from stepping a copy of the env; see `textedit_agents/lm_policy.py`):",
        "",
    ]
    for run in data["runs"]:
        before, after = run["pretrained"], run["fine_tuned"]
        p, n = (before["solve_rate"] + after["solve_rate"]) / 2, before["episodes"]
        lines.append(
            f"- {run['task']}, seed {run['seed']}: solve rate {after['solve_rate'] - before['solve_rate']:+.3f}, "
            f"mean return {after['mean_return'] - before['mean_return']:+.3f}, invalid commands "
            f"{invalid_count(after) - invalid_count(before):+d}; the standard error of one solve rate near "
            f"{p:.2f} over {n} episodes is {math.sqrt(p * (1 - p) / n):.3f}."
        )
    arguments = {run["task"]: run for run in data["runs"]}.values()  # per task; only the seed differs
    lines += [
        "",
        "Task environments and arguments (the seed aside): "
        + "; ".join(f"{r['task']}: `{r['env_kwargs']}`, `lm_policy.Args({without_seed(r['args'])})`" for r in arguments)
        + ".",
        "",
        "DQN on the same tasks and test episodes: `benchmarks/results/dqn_study.md` (section *DQN on every task*).",
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
    parser.add_argument("--seeds", nargs="+", type=int, default=[0], help="training seeds of each task")
    parser.add_argument("--episodes", type=int, default=200, help="test episodes per evaluation")
    parser.add_argument("--quick", action="store_true", help="a small end-to-end check (tiny budgets)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    options = parser.parse_args(argv)
    torch.set_num_threads(1)
    args = (
        replace(lm_policy.Args(), steps=32, pretrain_episodes=50, pretrain_epochs=1)
        if options.quick
        else lm_policy.Args()
    )
    episodes = 10 if options.quick else options.episodes
    data_path = options.out / "lm_policy.json"
    # Runs not redone keep their previous results; a run is a (task, seed).
    data = json.loads(data_path.read_text()) if data_path.exists() else {"runs": []}
    runs = {(run["task"], run["seed"]): run for run in data["runs"]}
    for task in options.tasks:
        for seed in options.seeds:
            runs[task, seed] = task_run(task, replace(args, seed=seed, **ARGS.get(task, {})), episodes)
    order = sorted(runs, key=lambda key: (list(TASKS).index(key[0]), key[1]))
    data.update(runs=[runs[key] for key in order], machine=machine(), versions=versions(), episodes=episodes)
    options.out.mkdir(parents=True, exist_ok=True)
    data_path.write_text(json.dumps(data, indent=1) + "\n")
    md = options.out / "lm_policy.md"
    md.write_text("\n".join(report(data)))
    print(f"wrote {md}")
    return md


if __name__ == "__main__":
    main()
