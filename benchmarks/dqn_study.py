"""Benchmark of DQN (and tabular Q-learning) beside SB3; writes benchmarks/results/dqn_study.md and dqn_study.json.

    python -m benchmarks.dqn_study                         # every section (about 40 min on 2 cores)
    python -m benchmarks.dqn_study --sections speed tasks  # some sections; the others keep their committed results
    python -m benchmarks.dqn_study --sections              # no section: only rebuild the .md from the .json
    python -m benchmarks.dqn_study --quick --out /tmp/dqn  # a small end-to-end check

Sections (from the repository root):

* ``speed``: DQN's training throughput against SB3 DQN's (``MultiInputPolicy``) on the same
  environment with the same step budget and one torch thread each, run in alternating rounds in
  this process so that both see the same machine load; reported as the ratio per round, and the
  test solve rate each reached with that budget (sample efficiency).
* ``tasks``: DQN with its default arguments on every task of the comparison suite and on a user's
  file of long documentation sentences, several seeds, evaluated on the test split beside the
  greedy one-step look-ahead and the oracle on the same episodes; also whether it stops at once
  when the text already is the reference.
* ``ablations``: one change at a time from DQN's defaults on the long bundled sentences, at a
  budget small enough for the changes to show.
* ``qlearning``: tabular Q-learning on a handful of fixed pairs (exact states), and its keys that
  transfer against exact states and DQN on the test split of tiny and easy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import DQN

from benchmarks.records import versions
from benchmarks.suite import SUITE
from benchmarks.trainers import TRAIN_EPISODE_STEPS, learn_quietly
from textedit_agents import dqn, qlearning
from textedit_agents.env_util import make_env
from textedit_agents.evaluation import evaluate
from textedit_env.oracle import edit_distance
from textedit_env.policies import greedy_policy, oracle_policy
from textedit_env.rollout import rollout

RESULTS = Path(__file__).parent / "results"
DOCS_FILE = Path(__file__).parent / "data" / "docs_long.txt"
# A user's own data: 200 documentation sentences of 10-30 words (written for this benchmark), as
# a text file with one reference a line, corrupted like english-long.
TASKS: dict[str, dict] = {name: task.env_kwargs for name, task in SUITE.items()}
TASKS["docs-file-bleu"] = {"dataset": str(DOCS_FILE), "corruptions": [1, 4], "num_distractors": 4}
SPEED_TASKS = ("english-bleu", "english-long-bleu")
ABLATION_TASK = "english-long-bleu"
ABLATIONS: dict[str, dict] = {
    "defaults": {},
    "gamma 0.9": {"gamma": 0.9},
    "3-step returns": {"n_step": 3},
    "learning rate 1e-3 -> 1e-4": {"end_lr": 1e-4},
    "more target lag (tau 0.01)": {"tau": 0.01},
    "less target lag (tau 0.2)": {"tau": 0.2},
    "2x updates (train_frequency 4)": {"train_frequency": 4},
    "no episodes started at the reference": {"reference_starts": 0.0},
    "dim 64": {"dim": 64},
    "GRU encoder": {"encoder": "gru"},
    "LSTM encoder": {"encoder": "lstm"},
    "Transformer encoder": {"encoder": "transformer"},
}
PAIRS = [
    ("the cat sees dog", "the cat sees a dog"),
    ("a dog likes the big cat", "a dog likes the cat"),
    ("the red bird sings", "the small bird sings"),
    ("my friend the house", "my friend sees the house"),
    ("cat the sleeps", "the cat sleeps"),
    ("a boy reads book", "a boy reads a good book"),
]
# A step penalty makes the fewest edits the optimal path: without it every path to the reference
# has the same undiscounted return (the final score minus the initial score).
QLEARNING_KWARGS = {"dataset": PAIRS, "split": "all", "step_penalty": 0.01}
QLEARNING_EPISODE_STEPS = (
    4  # the tasks need at most 2 edits: short training episodes keep exploring near the start states
)
EVAL_SEED = 1000

SETTINGS = {
    "full": {
        "speed_steps": 10_000,
        "speed_rounds": 3,
        "task_steps": 50_000,
        "seeds": 3,
        "episodes": 200,
        "ablation_steps": 6_000,
        "ablation_seeds": 5,
        "ablation_episodes": 100,
        "qlearning_steps": 150_000,
        "transfer_steps": 20_000,
    },
    "quick": {
        "speed_steps": 1_200,
        "speed_rounds": 1,
        "task_steps": 1_200,
        "seeds": 1,
        "episodes": 10,
        "ablation_steps": 1_200,
        "ablation_seeds": 1,
        "ablation_episodes": 5,
        "qlearning_steps": 2_000,
        "transfer_steps": 600,
    },
}
QUICK_TASKS = ("tiny-bleu",)
QUICK_ABLATIONS = ("defaults", "3-step returns")


# ----------------------------------------------------------------------------- runs
def timed_dqn(env_kwargs: dict, args: dqn.Args) -> tuple[dqn.Agent, float]:
    """Train on the train split; the agent and its training wall time."""
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        agent = dqn.train(args, env_kwargs, Path(out), progress=False)
        return agent, time.perf_counter() - start


def task_run(task: str, seed: int, steps: int, episodes: int) -> dict:
    """DQN with its default arguments on one task and seed, evaluated on the test split."""
    env_kwargs = TASKS[task]
    agent, seconds = timed_dqn(env_kwargs, dqn.Args(steps=steps, seed=seed))
    result = evaluate(make_env(env_kwargs, "test"), agent, episodes, EVAL_SEED)
    return {
        "task": task,
        "seed": seed,
        "train_seconds": seconds,
        "steps_per_second": steps / seconds,
        **result,
    }


def baselines(task: str, episodes: int) -> dict:
    """The greedy look-ahead and the oracle on the episodes the agents are evaluated on."""
    env = make_env(TASKS[task], "test")
    return {
        name: evaluate(env, policy, episodes, EVAL_SEED)
        for name, policy in (("greedy", greedy_policy), ("oracle", oracle_policy))
    }


def ablation_run(variant: str, seed: int, steps: int, episodes: int) -> dict:
    env_kwargs = TASKS[ABLATION_TASK]
    agent, seconds = timed_dqn(env_kwargs, dqn.Args(steps=steps, seed=seed, **ABLATIONS[variant]))
    result = evaluate(make_env(env_kwargs, "test"), agent, episodes, EVAL_SEED)
    return {"variant": variant, "seed": seed, "steps_per_second": steps / seconds, **result}


def speed_round(task: str, steps: int, seed: int, episodes: int) -> dict:
    """SB3 DQN, then ours, on the same environment and budget; training steps/s and test solve rate of each."""
    torch.set_num_threads(1)
    env_kwargs = TASKS[task]
    args = dqn.Args(steps=steps, seed=seed)
    env = gym.make("TextEdit-v0", max_episode_steps=TRAIN_EPISODE_STEPS, **env_kwargs)
    # SB3's defaults (train_freq 4, batch 32, ...) but the same buffer and warm-up as ours: its 1M
    # default buffer would allocate gigabytes of observations.
    model = DQN(
        "MultiInputPolicy",
        env,
        seed=seed,
        device="cpu",
        buffer_size=args.buffer_size,
        learning_starts=args.learning_starts,
    )
    start = time.perf_counter()
    learn_quietly(model, steps)
    sb3_rate = steps / (time.perf_counter() - start)
    agent, seconds = timed_dqn(env_kwargs, args)
    test = make_env(env_kwargs, "test")
    sb3_solve = evaluate(test, lambda e, obs, info: int(model.predict(obs, deterministic=True)[0]), episodes, EVAL_SEED)
    return {
        "task": task,
        "seed": seed,
        "steps": steps,
        "sb3_steps_per_second": sb3_rate,
        "dqn_steps_per_second": steps / seconds,
        "ratio": steps / seconds / sb3_rate,
        "sb3_solve_rate": sb3_solve["solve_rate"],
        "dqn_solve_rate": evaluate(test, agent, episodes, EVAL_SEED)["solve_rate"],
    }


def qlearning_run(steps: int, episodes: int) -> dict:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        agent = qlearning.train(
            qlearning.Args(steps=steps),
            {**QLEARNING_KWARGS, "max_episode_steps": QLEARNING_EPISODE_STEPS},
            Path(out),
            progress=False,
        )
        seconds = time.perf_counter() - start
    env = make_env(QLEARNING_KWARGS)
    result, oracle = evaluate(env, agent, episodes, 0), evaluate(env, oracle_policy, episodes, 0)
    hits = 0
    for i in range(episodes):  # solved in exactly the edit distance between source and reference
        obs, info = env.reset(seed=i)
        distance = edit_distance(env.unwrapped.text_units, env.unwrapped.reference_units)
        steps = list(rollout(env, agent, obs, info))
        hits += steps[-1].info["solved"] and len(steps) == distance
    return {
        "steps": steps,
        "train_seconds": seconds,
        "states": len(agent.table.q),
        "agent": result,
        "oracle": oracle,
        "oracle_edits_rate": hits / episodes,
    }


TRANSFER_TASKS = ("tiny-bleu", "easy-bleu")
TRANSFER_AGENTS = ("qlearning exact", "qlearning alignment", "dqn")


def transfer_run(task: str, agent_name: str, seed: int, steps: int, episodes: int) -> dict:
    """One agent trained on a task's train split, evaluated on its test split (and on the train split)."""
    torch.set_num_threads(1)
    env_kwargs = TASKS[task]
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        if agent_name == "dqn":
            agent = dqn.train(dqn.Args(steps=steps, seed=seed), env_kwargs, Path(out), progress=False)
        else:
            args = qlearning.Args(steps=steps, seed=seed, state_key=agent_name.split()[1])
            agent = qlearning.train(
                args, {**env_kwargs, "max_episode_steps": TRAIN_EPISODE_STEPS}, Path(out), progress=False
            )
    seconds = time.perf_counter() - start
    agent.evaluation_notes("test")  # resets what an agent counts over an evaluation
    test = evaluate(make_env(env_kwargs, "test"), agent, episodes, EVAL_SEED)
    extras, _ = agent.evaluation_extras()
    coverage = extras["states_in_table"] / extras["states_met"] if "states_met" in extras else None
    train = evaluate(make_env(env_kwargs, "train"), agent, episodes, EVAL_SEED)
    return {
        "task": task,
        "agent": agent_name,
        "seed": seed,
        "train_seconds": seconds,
        "test_solve_rate": test["solve_rate"],
        "test_coverage": coverage,
        "train_solve_rate": train["solve_rate"],
        "states": extras.get("table_states"),
    }


def parallel(jobs: list[tuple[Callable, tuple]], workers: int) -> list[Any]:
    if workers == 1:
        return [f(*a) for f, a in jobs]
    # forkserver: workers must not inherit torch's thread pools from this process.
    with ProcessPoolExecutor(workers, mp_context=get_context("forkserver")) as pool:
        return [future.result() for future in [pool.submit(f, *a) for f, a in jobs]]


# ----------------------------------------------------------------------------- report
def mean_of_solved(runs: list[dict]) -> float:
    """Mean episode length over the solved episodes of all runs (NaN when none was solved)."""
    steps = [(r["mean_solved_steps"], r["solve_rate"]) for r in runs if r["solve_rate"] > 0]
    return float(np.average([s for s, _ in steps], weights=[w for _, w in steps])) if steps else float("nan")


def mean_sd(values: list[float], digits: int = 3) -> str:
    return f"{np.mean(values):.{digits}f} ± {np.std(values, ddof=1) if len(values) > 1 else 0.0:.{digits}f}"


def speed_section(rows: list[dict], config: dict) -> list[str]:
    lines = [
        "## Speed: DQN against SB3 DQN, side by side",
        "",
        f'Each round trains SB3 `DQN("MultiInputPolicy")` (its defaults: `train_freq=4`, `batch_size=32`; '
        f"with our buffer size and warm-up) and then `textedit_agents.dqn` with its defaults "
        f"for {config['speed_steps']:,} "
        f"environment steps each on the same environment (training episodes cut at {TRAIN_EPISODE_STEPS} steps), "
        "one torch thread each, in one process, so both see the same machine load. Solve rate: greedy "
        f"evaluation on {config['episodes']} test episodes after that budget.",
        "",
        "| task | round | SB3 DQN steps/s | DQN steps/s | ratio | SB3 DQN solve rate | DQN solve rate |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['task']} | {r['seed']} | {r['sb3_steps_per_second']:.0f} | {r['dqn_steps_per_second']:.0f} | "
            f"{r['ratio']:.2f}x | {r['sb3_solve_rate']:.3f} | {r['dqn_solve_rate']:.3f} |"
        )
    lines += [""]
    for task in dict.fromkeys(r["task"] for r in rows):
        ratios = [r["ratio"] for r in rows if r["task"] == task]
        lines.append(f"- {task}: median ratio {np.median(ratios):.2f}x (range {min(ratios):.2f}-{max(ratios):.2f}x).")
    return lines + [""]


def tasks_section(rows: list[dict], bases: dict, config: dict, defaults: str) -> list[str]:
    lines = [
        "## DQN on every task",
        "",
        f"`dqn.Args(steps={config['task_steps']})`, other arguments at their defaults when it ran ({defaults}); "
        f"{config['seeds']} seeds per task; greedy evaluation on the same {config['episodes']} test-split episodes "
        f"(sentences never seen in training; reset seeds {EVAL_SEED}+i, at most 50 steps) as the greedy one-step "
        "look-ahead (`textedit_env.policies.greedy_policy`) and the oracle. Solved steps: mean episode length over the "
        "solved episodes. Cut: share of episodes that ran to the time limit. Stops: share of episodes started "
        "at the reference in which the agent stops at once.",
        "",
        "| task | DQN solve rate (mean ± sd) | min | greedy | oracle | DQN solved steps | oracle steps | ratio | "
        "cut | stops | train s | steps/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for task in dict.fromkeys(r["task"] for r in rows):
        runs = [r for r in rows if r["task"] == task]
        greedy, oracle = bases[task]["greedy"], bases[task]["oracle"]
        solved_steps = mean_of_solved(runs)
        lines.append(
            f"| {task} | {mean_sd([r['solve_rate'] for r in runs])} | {min(r['solve_rate'] for r in runs):.3f} | "
            f"{greedy['solve_rate']:.3f} | {oracle['solve_rate']:.3f} | {solved_steps:.2f} | "
            f"{oracle['mean_steps']:.2f} | "
            f"{solved_steps / oracle['mean_steps']:.2f} | {np.mean([r['truncated_rate'] for r in runs]):.3f} | "
            f"{np.mean([r['stop_rate'] for r in runs]):.2f} | "
            f"{np.mean([r['train_seconds'] for r in runs]):.0f} | "
            f"{np.mean([r['steps_per_second'] for r in runs]):.0f} |"
        )
    lines += [
        "",
        "Task environments: "
        + "; ".join(f"{t}: `{_shown(TASKS[t])}`" for t in dict.fromkeys(r["task"] for r in rows))
        + ".",
    ]
    return lines + [""]


def ablations_section(rows: list[dict], config: dict) -> list[str]:
    lines = [
        "## Ablations",
        "",
        f"One change at a time from the defaults, on {ABLATION_TASK} (`{TASKS[ABLATION_TASK]}`) with "
        f"{config['ablation_steps']:,} training steps (a budget at which the defaults are not yet at their best), "
        f"{config['ablation_seeds']} seeds, {config['ablation_episodes']} test episodes each.",
        "",
        "| variant | arguments | solve rate (mean ± sd) | min | solved steps | cut | steps/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for variant in dict.fromkeys(r["variant"] for r in rows):
        runs = [r for r in rows if r["variant"] == variant]
        lines.append(
            f"| {variant} | `{ABLATIONS[variant]}` | {mean_sd([r['solve_rate'] for r in runs])} | "
            f"{min(r['solve_rate'] for r in runs):.3f} | {mean_of_solved(runs):.2f} | "
            f"{np.mean([r['truncated_rate'] for r in runs]):.3f} | "
            f"{np.mean([r['steps_per_second'] for r in runs]):.0f} |"
        )
    return lines + [""]


def qlearning_section(row: dict, transfer: list[dict], config: dict) -> list[str]:
    agent, oracle = row["agent"], row["oracle"]
    lines = [
        "## Q-learning (tabular)",
        "",
        f"`qlearning.Args(steps={row['steps']})` (other arguments at their defaults: "
        f"{qlearning.Args(steps=row['steps'])}) "
        f"on 6 fixed pairs (`dataset=PAIRS, split='all', step_penalty=0.01`), training episodes cut at "
        f"{QLEARNING_EPISODE_STEPS} steps, greedy evaluation on {config['episodes']} episodes.",
        "",
        "| train s | states | solve rate | mean steps | oracle steps | solved with the oracle's number of edits |",
        "|---|---|---|---|---|---|",
        f"| {row['train_seconds']:.0f} | {row['states']} | {agent['solve_rate']:.3f} | {agent['mean_steps']:.3f} | "
        f"{oracle['mean_steps']:.3f} | {row['oracle_edits_rate']:.3f} |",
        "",
        "### State keys that transfer",
        "",
        f"Each agent trains for {config['transfer_steps']:,} steps on the train split ({config['seeds']} "
        f"seeds), and is "
        f"evaluated on {config['episodes']} episodes of the test split (sentences it never saw) and of the "
        f"train split. "
        'Exact: `state_key="exact"`, (text, reference) states; alignment: `state_key="alignment"`, keys from the '
        "observation's alignment features (the same update rule); DQN: `textedit_agents.dqn` with its defaults. "
        "Coverage: share "
        "of the test states met that were in the table.",
        "",
        "| task | agent | test solve rate (mean ± sd) | test coverage | train solve rate | table states | train s |",
        "|---|---|---|---|---|---|---|",
    ]
    for task in dict.fromkeys(r["task"] for r in transfer):
        for name in TRANSFER_AGENTS:
            runs = [r for r in transfer if r["task"] == task and r["agent"] == name]
            if not runs:
                continue
            coverage = (
                f"{np.mean([r['test_coverage'] for r in runs]):.3f}" if runs[0]["test_coverage"] is not None else "-"
            )
            states = f"{np.mean([r['states'] for r in runs]):.0f}" if runs[0]["states"] is not None else "-"
            lines.append(
                f"| {task} | {name} | {mean_sd([r['test_solve_rate'] for r in runs])} | {coverage} | "
                f"{np.mean([r['train_solve_rate'] for r in runs]):.3f} | {states} | "
                f"{np.mean([r['train_seconds'] for r in runs]):.0f} |"
            )
    return lines + [""]


def _shown(env_kwargs: dict) -> dict:
    """Env kwargs as the report shows them: the data file relative to the repository."""
    if "dataset" in env_kwargs and Path(str(env_kwargs["dataset"])).is_absolute():
        return {**env_kwargs, "dataset": str(Path(env_kwargs["dataset"]).relative_to(Path(__file__).parents[1]))}
    return env_kwargs


SECTIONS = ("speed", "tasks", "ablations", "qlearning", "transfer")
PARALLEL_SECTIONS = ("tasks", "ablations", "transfer")  # the others run one thing at a time


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sections",
        nargs="*",
        choices=SECTIONS,
        default=list(SECTIONS),
        help="the sections to run (none: only rebuild dqn_study.md from dqn_study.json)",
    )
    parser.add_argument("--workers", type=int, default=2, help="training runs in parallel (tasks, ablations, transfer)")
    parser.add_argument("--quick", action="store_true", help="a small end-to-end check (tiny budgets)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    options = parser.parse_args(argv)
    torch.set_num_threads(1)
    config = SETTINGS["quick" if options.quick else "full"]
    tasks = QUICK_TASKS if options.quick else tuple(TASKS)
    variants = QUICK_ABLATIONS if options.quick else tuple(ABLATIONS)
    speed_tasks = QUICK_TASKS if options.quick else SPEED_TASKS
    transfer_tasks = QUICK_TASKS if options.quick else TRANSFER_TASKS
    data_path = options.out / "dqn_study.json"
    # Sections not rerun keep their previous results.
    data = json.loads(data_path.read_text()) if data_path.exists() else {}
    data.update(config=config, machine=f"{platform.machine()} {platform.system()}", versions=versions())
    runs: dict[str, Callable[[], Any]] = {
        "speed": lambda: [
            speed_round(t, config["speed_steps"], r, config["episodes"])
            for t in speed_tasks
            for r in range(config["speed_rounds"])
        ],
        "tasks": lambda: parallel(
            [
                (task_run, (t, s, config["task_steps"], config["episodes"]))
                for t in tasks
                for s in range(config["seeds"])
            ],
            options.workers,
        ),
        "ablations": lambda: parallel(
            [
                (ablation_run, (v, s, config["ablation_steps"], config["ablation_episodes"]))
                for v in variants
                for s in range(config["ablation_seeds"])
            ],
            options.workers,
        ),
        "qlearning": lambda: qlearning_run(config["qlearning_steps"], config["episodes"]),
        "transfer": lambda: parallel(
            [
                (transfer_run, (t, a, s, config["transfer_steps"], config["episodes"]))
                for t in transfer_tasks
                for a in TRANSFER_AGENTS
                for s in range(config["seeds"])
            ],
            options.workers,
        ),
    }
    for section in options.sections:
        start = time.perf_counter()
        data[section] = runs[section]()
        if section == "tasks":
            data["baselines"] = {t: baselines(t, config["episodes"]) for t in tasks}
            data["dqn_defaults"] = str(dqn.Args())
        data.setdefault("minutes", {})[section] = (time.perf_counter() - start) / 60
        if section in PARALLEL_SECTIONS:
            data.setdefault("workers", {})[section] = options.workers
        print(f"{section}: {data['minutes'][section]:.1f} min", flush=True)

    lines = [
        "# Reference agents",
        "",
        f"Produced by `python -m benchmarks.dqn_study` on {data['machine']} ({len(os.sched_getaffinity(0))} cores), "
        "one torch thread per run; runs at a time: "
        + ", ".join(f"{k} {v}" for k, v in data.get("workers", {}).items())
        + f"; {data['versions']}. "
        "Minutes per section: " + ", ".join(f"{k} {v:.1f}" for k, v in data["minutes"].items()) + ".",
        "",
    ]
    if "speed" in data:
        lines += speed_section(data["speed"], data["config"])
    if "tasks" in data:
        lines += tasks_section(data["tasks"], data["baselines"], data["config"], data["dqn_defaults"])
    if "ablations" in data:
        lines += ablations_section(data["ablations"], data["config"])
    if "qlearning" in data:
        lines += qlearning_section(data["qlearning"], data.get("transfer", []), data["config"])
    options.out.mkdir(parents=True, exist_ok=True)
    data_path.write_text(json.dumps(data, indent=1) + "\n")
    md = options.out / "dqn_study.md"
    md.write_text("\n".join(lines))
    print(f"wrote {md}")
    return md


if __name__ == "__main__":
    main()
