"""Generalization across levels (Procgen's protocol) on a hidden-reference track.

    python -m benchmarks.levels                      # fix-medium, 200 levels, BC (budget) and DQN, 3 seeds
    python -m benchmarks.levels --quick --out /tmp/levels

Each learner trains on ``num_levels=N`` levels of the task (levels 0..N-1: N fixed tasks and
sources), and, for comparison, on unlimited levels (``num_levels=0``). It is evaluated greedily on
the training levels and on unseen ones (levels from ``UNSEEN_START`` on), as the normalized return:
the share of the way from stopping at once to the privileged oracle's final score on the same
episodes. The gap between the two is what the N levels left unlearned about the task.
Writes ``benchmarks/results/levels.md`` and ``levels.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from benchmarks.records import machine, versions
from benchmarks.suite import ALGORITHMS
from textedit_agents.env_util import make_env
from textedit_agents.evaluation import evaluate
from textedit_agents.training import Checkpoints
from textedit_env.policies import oracle_policy, stop_policy

RESULTS = Path(__file__).parent / "results"
UNSEEN_START = 1_000_000
"""the first level of the unseen ones: far from any training level"""
EVAL_SEED = 10_000


@dataclass(frozen=True)
class Setting:
    task: str = "fix-medium"
    levels: int = 200
    steps: int = 50_000
    seeds: int = 3
    episodes: int = 200
    learners: tuple[str, ...] = ("bc-budget", "dqn")


def normalized(env_kwargs: dict, policy, episodes: int) -> dict:
    """The policy's normalized return on ``env_kwargs``'s test-split episodes (and its raw scores)."""
    env = make_env(env_kwargs)
    result = evaluate(env, policy, episodes, EVAL_SEED)
    oracle = evaluate(env, oracle_policy, episodes, EVAL_SEED)["mean_final_score"]
    initial = evaluate(env, stop_policy, episodes, EVAL_SEED)["mean_final_score"]
    return {
        "normalized": (result["mean_final_score"] - initial) / (oracle - initial),
        "final_score": result["mean_final_score"],
        "no_edit": initial,
        "oracle": oracle,
        "truncated_rate": result["truncated_rate"],
    }


def run(setting: Setting, learner: str, seed: int, levels: int) -> dict:
    """Train on ``levels`` levels (0: unlimited) of the task's train split; evaluate on training and unseen levels."""
    torch.set_num_threads(1)
    base = {"preset": setting.task, "split": "train"}
    train_kwargs = {**base, "num_levels": levels} if levels else base
    start = time.perf_counter()
    trained = ALGORITHMS[learner].trainer(train_kwargs, setting.steps, seed, Checkpoints([], lambda *_: None))
    seconds = time.perf_counter() - start
    unseen = {**base, "num_levels": 10 * setting.episodes, "start_level": UNSEEN_START}
    record = {"learner": learner, "seed": seed, "levels": levels, "train_seconds": seconds}
    if levels:
        record["training_levels"] = normalized(train_kwargs, trained.policy, setting.episodes)
    record["unseen_levels"] = normalized(unseen, trained.policy, setting.episodes)
    return record


def report(data: dict) -> str:
    setting = Setting(**{**data["setting"], "learners": tuple(data["setting"]["learners"])})
    lines = [
        "# Generalization across levels",
        "",
        f"Produced by `python -m benchmarks.levels` on {data['machine']}; {data['versions']}.",
        "",
        f"Task `{setting.task}` (train split). Each learner trains for {setting.steps:,} environment steps on "
        f"`num_levels={setting.levels}` (levels 0-{setting.levels - 1}, each a fixed task and source) or on "
        f"unlimited levels, {setting.seeds} seeds, and is evaluated greedily on {setting.episodes} episodes of its "
        f"training levels and of unseen levels (from {UNSEEN_START:,} on). Normalized return: the share of the way "
        "from stopping at once to the privileged oracle's final score on the same episodes (mean over seeds, with "
        "the seeds' range).",
        "",
        "| learner | trained on | training levels | unseen levels | gap | cut (unseen) |",
        "|---|---|---|---|---|---|",
    ]
    for learner in setting.learners:
        for levels in (setting.levels, 0):
            runs = [r for r in data["runs"] if r["learner"] == learner and r["levels"] == levels]
            if not runs:
                continue
            unseen = [r["unseen_levels"]["normalized"] for r in runs]
            seen = [r["training_levels"]["normalized"] for r in runs] if levels else None
            cut = np.mean([r["unseen_levels"]["truncated_rate"] for r in runs])
            where = f"{levels} levels" if levels else "unlimited levels"
            seen_text = f"{np.mean(seen):.3f} ({min(seen):.3f} to {max(seen):.3f})" if seen else "-"
            gap = f"{np.mean(seen) - np.mean(unseen):+.3f}" if seen else "-"
            lines.append(
                f"| {learner} | {where} | {seen_text} | {np.mean(unseen):.3f} ({min(unseen):.3f} to "
                f"{max(unseen):.3f}) | {gap} | {cut:.3f} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small end-to-end check")
    parser.add_argument("--out", type=Path, default=RESULTS)
    options = parser.parse_args(argv)
    setting = Setting(levels=5, steps=300, seeds=1, episodes=10, learners=("dqn",)) if options.quick else Setting()
    runs = []
    for learner in setting.learners:
        for seed in range(setting.seeds):
            for levels in (setting.levels, 0):
                runs.append(run(setting, learner, seed, levels))
                print(json.dumps(runs[-1]), flush=True)
    data = {"setting": asdict(setting), "runs": runs, "machine": machine(), "versions": versions()}
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / "levels.json").write_text(json.dumps(data, indent=1) + "\n")
    path = options.out / "levels.md"
    path.write_text(report(data))
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()
