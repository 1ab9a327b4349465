"""Do the agents stop, and without detours? Writes benchmarks/results/stopping.md (and stopping.jsonl).

    python -m benchmarks.stopping                                  # every cell (resumable: done cells are kept)
    python -m benchmarks.stopping --agents dqn --rewards chrf      # some cells
    python -m benchmarks.stopping --agents dqn --set step_cost=0   # other arguments (a row of their own)
    python -m benchmarks.stopping --report                         # only rebuild the .md
    python -m benchmarks.stopping --quick --out /tmp/stopping      # a small end-to-end check

Each agent trains with its default arguments (its default budget; Q-learning with ``--set
state_key=alignment``, the key that transfers to unseen sentences) on the train split of each task,
once per reward (BLEU, ROUGE-L, chrF), and is evaluated greedily on 200 episodes of the test split
(sentences it never saw) with the measures solve rate alone hides (:func:`textedit_agents.evaluation.evaluate`):
``stop_rate`` (started at the reference, it stops at once), ``excess_steps`` (solved steps over the
oracle's on the same episodes), ``detour_rate`` (solved episodes with an edit undone or redone) and
the share of episodes cut by the time limit. ``sb3-dqn``, ``sb3-ppo``, ``sb3-a2c`` and
``sb3-maskable-ppo`` are stable-baselines3's DQN, PPO, A2C and sb3-contrib's MaskablePPO with the
package's policies (:mod:`textedit_agents.sb3`) at SB3's default settings (a discount of 0.99; DQN's
buffer cut to 50,000 transitions to fit in memory) for the comparison's 50,000 steps, reading the
action gains (``--set action_gains=false``: without them; other ``--set`` keys are the algorithm's
keyword arguments). The tasks are the bundled presets and a user's file
(``benchmarks/data/docs_long.txt``: 200 documentation sentences of 10-30 words, written for this
benchmark; no agent trained on it before this).
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import os
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.records import append, machine, read_results, versions
from textedit_agents.env_util import make_env
from textedit_agents.evaluation import evaluate
from textedit_agents.registry import agent_module

RESULTS = Path(__file__).parent / "results"
DOCS_FILE = Path(__file__).parent / "data" / "docs_long.txt"
TASKS: dict[str, dict] = {
    "easy": {"preset": "easy"},
    "medium": {"preset": "medium"},
    "english": {"preset": "english"},
    "english-long": {"preset": "english-long"},
    "docs-file": {"dataset": str(DOCS_FILE), "corruptions": [1, 4], "num_distractors": 4},
}
REWARDS = ("bleu", "rougeL", "chrf")
AGENTS = ("dqn", "bc", "qlearning", "lm", "sb3-dqn", "sb3-ppo", "sb3-a2c", "sb3-maskable-ppo")
EVAL_SEED = 1000
EPISODES = 200
TARGETS = {
    "stop_rate": (">=", 0.95),
    "excess_steps": ("<=", 1.2),
    "truncated_rate": ("<=", 0.02),
    "solve_rate": (">=", 0.95),
}
"""issue 22's targets for DQN at its default budget"""
PRINTED = ("solve_rate", "top_score_rate", "stop_rate", "excess_steps", "detour_rate", "truncated_rate")
"""the measures printed as each run ends"""
QUICK = {
    "tasks": ("easy",),
    "rewards": ("bleu",),
    "agents": ("dqn", "bc", "sb3-dqn", "sb3-maskable-ppo"),
    "args": {"steps": 300, "pretrain_episodes": 20},
    "episodes": 5,
}


SB3_AGENTS = {"sb3-dqn": "dqn", "sb3-ppo": "ppo", "sb3-a2c": "a2c", "sb3-maskable-ppo": "ppo_mask"}
"""the stopping agents that are SB3 algorithms (rl-baselines3-zoo's names) with the package's policies"""
SB3_CHANGES = {"dqn": {"buffer_size": 50_000}}
"""what an SB3 agent changes of its algorithm's defaults: DQN's 1,000,000-transition buffer of Dict
observations would not fit in memory"""


def trained_sb3(algo: str, env_kwargs: dict, seed: int, overrides: dict):
    """An SB3 algorithm (a zoo name) with the package's policy for it (:func:`textedit_agents.sb3.recommended`)
    at SB3's defaults, reading the action gains unless ``overrides["action_gains"]`` is false; as a
    policy of the unwrapped env (it adds the gains itself). MaskablePPO acts with the env's action masks."""
    from sb3_contrib import MaskablePPO

    from benchmarks.compare import Args as ComparisonArgs
    from benchmarks.trainers import learn_quietly, predictor
    from textedit_agents.sb3 import recommended
    from textedit_env.wrappers import ActionGains
    from textedit_env.wrappers.action_gains import gain_arrays

    package = recommended(algo)  # its algorithm and policy only: the settings stay SB3's defaults
    gains = overrides.get("action_gains", True)
    own = {k: v for k, v in overrides.items() if k in inspect.signature(package.algo).parameters}
    env = make_env(env_kwargs)
    model = package.algo(
        package.policy, ActionGains(env) if gains else env, seed=seed, device="cpu", **SB3_CHANGES.get(algo, {}), **own
    )
    learn_quietly(model, overrides.get("steps", ComparisonArgs().steps))  # the comparison's budget
    act = predictor(model, masked=package.algo is MaskablePPO)
    return (lambda env, obs, info: act(env, {**obs, **gain_arrays(env)}, info)) if gains else act


def trained_agent(agent: str, env_kwargs: dict, seed: int, overrides: dict, out: Path):
    """``agent`` trained as a user would with its defaults (and ``overrides``): DQN and the LM policy on
    the task, BC on ``textedit collect``'s default 300 oracle episodes of it, the SB3 agents as
    :func:`trained_sb3`."""
    if agent in SB3_AGENTS:
        return trained_sb3(SB3_AGENTS[agent], env_kwargs, seed, overrides)
    module = agent_module(agent)
    args = module.Args(seed=seed, **{k: v for k, v in overrides.items() if hasattr(module.Args, k)})
    if agent != "bc":
        return module.train(args, env_kwargs, out, progress=False)
    from textedit_env.collect import collect

    os.environ["MINARI_DATASETS_PATH"] = str(out / "datasets")  # a temporary directory of this run's own
    collect("oracle", 300, env_kwargs, "textedit/demonstrations-v0", seed=seed * 300)
    return module.train(dataclasses.replace(args, dataset="textedit/demonstrations-v0"), {}, out, progress=False)


def run(agent: str, task: str, reward: str, seed: int, episodes: int, overrides: dict) -> dict:
    """Train ``agent`` on the task with that reward; its evaluation on the test split."""
    torch.set_num_threads(1)
    env_kwargs = {**TASKS[task], "reward": reward}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        trained = trained_agent(agent, env_kwargs, seed, overrides, Path(out))
    seconds = time.perf_counter() - start
    result = evaluate(make_env(env_kwargs, "test"), trained, episodes, EVAL_SEED)
    return {
        "agent": agent,
        "overrides": overrides,
        "task": task,
        "reward": reward,
        "seed": seed,
        "train_seconds": seconds,
        **result,
    }


def label(record: dict) -> str:
    """The agent, with the arguments that differ from its defaults."""
    overrides = record.get("overrides") or {}
    return record["agent"] + "".join(f", {key}={value}" for key, value in sorted(overrides.items()))


def cell(value: float | None, target: tuple[str, float] | None = None) -> str:
    if value is None:
        return "-"
    text = f"{value:.3f}"
    if target is not None:
        op, bound = target
        missed = value < bound if op == ">=" else value > bound
        text = f"**{text}**" if missed else text
    return text


def meets_targets(record: dict, solve: str = "solve_rate") -> bool:
    """Every target met, with ``solve`` (solve_rate or top_score_rate) read for the solve rate's."""
    values = {**record, "solve_rate": record.get(solve)}
    return all(
        values[key] is not None and (values[key] >= bound if op == ">=" else values[key] <= bound)
        for key, (op, bound) in TARGETS.items()
    )


def top_score_count(group: list[dict]) -> str:
    """How many runs meet every target with the top-score rate for the solve rate; - when no run of the
    group measured it (recorded before it was)."""
    measured = [r for r in group if r.get("top_score_rate") is not None]
    return f"{sum(meets_targets(r, 'top_score_rate') for r in measured)} of {len(measured)}" if measured else "-"


def summary(records: list[dict]) -> list[str]:
    """One line per agent and arguments: its runs' means, worst cells and how many runs meet every target."""
    by: dict[str, list[dict]] = {}
    for r in sorted(records, key=lambda r: (AGENTS.index(r["agent"]), label(r))):
        by.setdefault(label(r), []).append(r)
    lines = [
        "## Summary",
        "",
        "Per agent and arguments, over its runs (cells x seeds): the mean, and the worst run, of each measure.",
        "",
        "| agent | runs | seeds | solve_rate mean (min) | mean_final_score | stop_rate min | excess_steps mean (max) "
        "| truncated max | runs meeting every target | the same, top score for solve |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, group in by.items():
        solve = [r["solve_rate"] for r in group]
        excess = [r["excess_steps"] for r in group if r["excess_steps"] is not None]
        final = sum(r["mean_final_score"] for r in group) / len(group)
        # excess_steps is None for a run that solved nothing
        excess_cell = f"{sum(excess) / len(excess):.3f} ({max(excess):.3f})" if excess else "-"
        lines.append(
            f"| {name} | {len(group)} | {len({r['seed'] for r in group})} | {sum(solve) / len(solve):.3f} "
            f"({min(solve):.3f}) | {final:.4f} | {min(r['stop_rate'] for r in group):.3f} "
            f"| {excess_cell} | {max(r['truncated_rate'] for r in group):.3f} "
            f"| {sum(map(meets_targets, group))} of {len(group)} | {top_score_count(group)} |"
        )
    return lines


def report(records: list[dict], out: Path) -> Path:
    columns = (
        "solve_rate",
        "mean_final_score",
        "top_score_rate",
        "stop_rate",
        "excess_steps",
        "detour_rate",
        "truncated_rate",
        "mean_steps",
    )
    lines = [
        "# Stopping and detours",
        "",
        "Produced by `python -m benchmarks.stopping` (see its docstring for what is measured); "
        f"{records[0]['machine'] if records else ''}; {records[0]['versions'] if records else ''}.",
        f"Each agent with its default arguments (or those named beside it), trained on the train split, evaluated "
        f"on {EPISODES} test episodes "
        f"(reset seeds {EVAL_SEED}+i). In bold: a value that misses issue 22's target "
        "(stop_rate >= 0.95, excess_steps <= 1.2, truncated <= 0.02, solve >= 0.95). mean_final_score: the "
        "reward's metric at the end; top_score_rate: the share of episodes that end at its top score, 1 (ROUGE "
        "ignores punctuation, so a text that differs from the reference only there scores 1 unsolved, and an "
        "agent that pays for its steps rightly leaves it: the last column reads the top-score rate for the solve "
        "rate; - for runs recorded before it was measured).",
        "",
        *summary(records),
        "",
        "## Every run",
        "",
        "| agent | task | reward | seed | " + " | ".join(columns) + " | train s |",
        "|---|---|---|---|" + "---|" * (len(columns) + 1),
    ]
    order = {name: i for i, name in enumerate(AGENTS)}
    tasks = {name: i for i, name in enumerate(TASKS)}
    for r in sorted(
        records, key=lambda r: (order[r["agent"]], label(r), tasks[r["task"]], REWARDS.index(r["reward"]), r["seed"])
    ):
        values = " | ".join(cell(r.get(c), TARGETS.get(c)) for c in columns)
        lines.append(
            f"| {label(r)} | {r['task']} | {r['reward']} | {r['seed']} | {values} | {r['train_seconds']:.0f} |"
        )
    lines += [
        "",
        "Tasks: "
        + "; ".join(f"{name}: `{kwargs}`" for name, kwargs in TASKS.items()).replace(
            str(DOCS_FILE), "benchmarks/data/docs_long.txt"
        )
        + ".",
        "",
    ]
    path = out / "stopping.md"
    path.write_text("\n".join(lines))
    return path


def parsed(value: str) -> object:
    """A --set value: JSON (numbers, true, null), else the string itself."""
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, with ``overrides``: the ``--set`` pairs as a dict (``--set`` may repeat)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", nargs="+", choices=AGENTS, default=list(AGENTS))
    parser.add_argument("--tasks", nargs="+", choices=list(TASKS), default=list(TASKS))
    parser.add_argument("--rewards", nargs="+", choices=REWARDS, default=list(REWARDS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument(
        "--set",
        nargs="+",
        action="extend",  # `--set a=1 --set b=2` keeps both, as `--set a=1 b=2` does
        default=[],
        metavar="KEY=VALUE",
        help="agent arguments other than the defaults (JSON values)",
    )
    parser.add_argument("--report", action="store_true", help="only rebuild stopping.md from stopping.jsonl")
    parser.add_argument("--quick", action="store_true", help="a small end-to-end check (tiny budgets)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    options = parser.parse_args(argv)
    options.overrides = {}
    for item in options.set:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"--set {item!r}: expected KEY=VALUE, e.g. --set attention_layers=1")
        if key in options.overrides:
            parser.error(f"--set {key} is given twice")
        options.overrides[key] = parsed(value)
    return options


def main(argv: list[str] | None = None) -> Path:
    options = parse_args(argv)
    results = options.out / "stopping.jsonl"
    overrides = options.overrides
    episodes = EPISODES
    if options.quick:
        options.agents, options.tasks, options.rewards = QUICK["agents"], QUICK["tasks"], QUICK["rewards"]
        overrides, episodes = {**QUICK["args"], **overrides}, QUICK["episodes"]
    if not options.report:
        done = {(label(r), r["task"], r["reward"], r["seed"]) for r in read_results(results)}
        for agent in options.agents:
            for task in options.tasks:
                for reward in options.rewards:
                    for seed in options.seeds:
                        if (label({"agent": agent, "overrides": overrides}), task, reward, seed) in done:
                            continue
                        record = run(agent, task, reward, seed, episodes, overrides)
                        append(results, {**record, "machine": machine(), "versions": versions()})
                        print(
                            f"{agent} {task} {reward} seed {seed}: "
                            + ", ".join(f"{k} {cell(record[k])}" for k in PRINTED),
                            flush=True,
                        )
    path = report(read_results(results), options.out)
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()
