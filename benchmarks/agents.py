"""Benchmark of the reference agents; writes benchmarks/results/agents.md.

    python -m benchmarks.agents [--dqn-steps N] [--episodes N] [--skip-dqn]   (from the repository root)

* Q-learning on small fixed task sets: solve rate, and whether it uses the oracle's number of edits.
* DQN on the default TextEdit-v0: solve rate on the test split (sentences never seen in training).
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import torch

from agents import dqn, qlearning
from agents.common import evaluate, evaluate_with_baselines, make_env, oracle_policy
from textedit_env.oracle import edit_distance

RESULTS = Path(__file__).parent / "results" / "agents.md"
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
QLEARNING_TASKS = {
    "6 fixed pairs (`dataset=PAIRS, split='all', step_penalty=0.01`)": {"dataset": PAIRS, "split": "all", "step_penalty": 0.01},
}
QLEARNING_STEPS = 150_000
TRAIN_EPISODE_STEPS = 4  # the tasks need at most 2 edits: short training episodes keep exploring near the start states


def edits_match_oracle(env_kwargs: dict, agent, episodes: int, seed: int) -> float:
    """Share of episodes solved in exactly the edit distance between source and reference."""
    env, hits = make_env(env_kwargs), 0
    for i in range(episodes):
        obs, info = env.reset(seed=seed + i)
        distance, steps, done = edit_distance(env.unwrapped.text_units, env.unwrapped.reference_units), 0, False
        while not done:
            obs, _, terminated, truncated, info = env.step(agent(env, obs, info))
            steps, done = steps + 1, terminated or truncated
        hits += info["solved"] and steps == distance
    return hits / episodes


def bench_qlearning(episodes: int) -> list[str]:
    lines = ["## Q-learning (tabular)", "",
             f"`qlearning.Args(steps={QLEARNING_STEPS})` (other arguments at their defaults: {qlearning.Args(steps=QLEARNING_STEPS)}), training episodes cut at "
             f"{TRAIN_EPISODE_STEPS} steps (`max_episode_steps`), greedy evaluation on {episodes} episodes.", "",
             "| task set | train s | states | solve rate | mean steps | oracle steps | solved with oracle's #edits |",
             "|---|---|---|---|---|---|---|"]
    for name, kwargs in QLEARNING_TASKS.items():
        with tempfile.TemporaryDirectory() as out:
            start = time.time()
            agent = qlearning.train(qlearning.Args(steps=QLEARNING_STEPS), {**kwargs, "max_episode_steps": TRAIN_EPISODE_STEPS},
                                    Path(out), progress=False)
            seconds = time.time() - start
        env = make_env(kwargs)
        result, oracle = evaluate(env, agent, episodes, 0), evaluate(env, oracle_policy, episodes, 0)
        match = edits_match_oracle(kwargs, agent, episodes, 0)
        lines.append(f"| {name} | {seconds:.0f} | {len(agent.table.q)} | {result['solve_rate']:.3f} | "
                     f"{result['mean_steps']:.3f} | {oracle['mean_steps']:.3f} | {match:.3f} |")
        print(lines[-1], flush=True)
    return lines + [""]


def bench_dqn(steps: int, episodes: int) -> list[str]:
    args = dqn.Args(steps=steps)
    with tempfile.TemporaryDirectory() as out:
        start = time.time()
        agent = dqn.train(args, {}, Path(out), progress=False)
        seconds = time.time() - start
    result = evaluate_with_baselines({}, agent, episodes, 1000, "test")
    rows = [("DQN", ""), ("random (masked)", "random_"), ("oracle", "oracle_")]
    lines = ["## DQN on the default `TextEdit-v0` (no env kwargs, no reward shaping)", "",
             f"`dqn.Args(steps={steps})` (other arguments at their defaults: {args}), trained in "
             f"{seconds / 60:.1f} min; greedy evaluation on {episodes} episodes of the **test split** "
             "(references never seen in training), seeds 1000+.", "",
             "| agent | solve rate | mean return | mean final score | mean steps |", "|---|---|---|---|---|"]
    for name, prefix in rows:
        lines.append(f"| {name} | {result[prefix + 'solve_rate']:.3f} | {result[prefix + 'mean_return']:.3f} | "
                     f"{result[prefix + 'mean_final_score']:.3f} | {result[prefix + 'mean_steps']:.2f} |")
    print("\n".join(lines[-3:]), flush=True)
    return lines + [""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dqn-steps", type=int, default=dqn.Args().steps)
    parser.add_argument("--episodes", type=int, default=500)
    parser.add_argument("--skip-dqn", action="store_true")
    options = parser.parse_args()
    torch.set_num_threads(1)
    lines = ["# Reference agents", "",
             f"Produced by `python -m benchmarks.agents` on {platform.processor() or platform.machine()}, "
             f"torch {torch.__version__}, one thread.", ""]
    lines += bench_qlearning(options.episodes)
    if not options.skip_dqn:
        lines += bench_dqn(options.dqn_steps, options.episodes)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
