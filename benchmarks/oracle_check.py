"""The oracle in random reachable states of every preset: valid actions, solved in exactly the edit distance.

    python -m benchmarks.oracle_check                 # 10,000 states per preset; writes results/oracle_check.md
    python -m benchmarks.oracle_check --states 100 --out /tmp/oracle   # a quick check

Per preset, ``states`` random reachable states: half at ``max_length`` (random valid edits from a reset,
then random inserts until the text is full), half after 0-10 random valid edits from a reset. In each:
whether the oracle's action is valid (the action mask), and whether the oracle then reaches the reference
in exactly the Levenshtein distance. Then oracle episodes from resets, as ``eval``, the comparison and
``textedit collect --policy oracle`` play them: how many of their states are at ``max_length``, the only
states where the oracle may take another action than before insert became excluded there.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

from benchmarks.records import machine, versions
from textedit_env import ENV_ID
from textedit_env.env import TextEditEnv
from textedit_env.oracle import closest, edit_distance, oracle_action
from textedit_env.policies import oracle_policy
from textedit_env.rollout import play_episode, rollout
from textedit_env.tasks import PRESETS

RESULTS = Path(__file__).parent / "results"
MAX_WALK = 10
"""most random edits before a state is taken (before the inserts that fill a full-length one)"""


def random_edit(env: TextEditEnv, rng: np.random.Generator, op: str | None = None) -> bool:
    """Step a random valid edit (of ``op`` only, if given); False when it ended the episode."""
    mask = env.action_masks()
    mask[0] = False  # stop ends the episode: no state after it
    if op is not None:
        start, stop = env.codec.op_ranges[op]
        mask[:start], mask[stop:] = False, False
    _, _, terminated, _, _ = env.step(int(rng.choice(np.flatnonzero(mask))))
    return not terminated


def reachable_state(env: TextEditEnv, rng: np.random.Generator, seed: int, full: bool) -> None:
    """Put ``env`` (unwrapped: no time limit) into a random state an agent can reach from ``reset(seed=seed)``:
    0-10 random valid edits, then with ``full`` random inserts until the text has ``max_length`` units. A walk
    that reaches the reference (which ends the episode) starts again from the next reset seed."""
    while True:
        env.reset(seed=seed)
        walk = int(rng.integers(0, MAX_WALK + 1))
        if all(random_edit(env, rng) for _ in range(walk)) and (
            not full or all(random_edit(env, rng, "insert") for _ in range(env.max_length - len(env.text_units)))
        ):
            return
        seed += 1_000_003


def check_state(env: TextEditEnv) -> tuple[bool, bool]:
    """(the oracle's action is valid, the oracle reaches its target in exactly the edit distance, with
    valid actions only, and stops there)."""
    valid = bool(env.action_masks()[oracle_action(env)])
    target = closest(env.text_units, env.oracle_targets)
    distance = edit_distance(env.text_units, target)
    steps = list(rollout(env, oracle_policy, None, {}, limit=distance + 1))
    stopped = steps[-1].action == 0 or (env.observe_reference and steps[-1].terminated)
    reached = len(steps) == distance + (steps[-1].action == 0) and env.text_units == target
    return valid, stopped and reached and not any(s.info["invalid_action"] for s in steps)


def preset_run(preset: str, states: int, episodes: int, seed: int) -> dict:
    env = TextEditEnv(preset=preset)
    rng = np.random.default_rng(seed)
    invalid = unsolved = full = 0
    start = time.perf_counter()
    for i in range(states):
        reachable_state(env, rng, seed + i, full=i % 2 == 0)
        full += len(env.text_units) == env.max_length
        valid, solved = check_state(env)
        invalid, unsolved = invalid + (not valid), unsolved + (not solved)
    # Oracle episodes from resets: the states they pass through, and how many are at max_length.
    wrapped = gym.make(ENV_ID, preset=preset)
    lengths = [
        len(step.info["text"].split())
        for episode in range(episodes)
        for step in play_episode(wrapped, oracle_policy, seed=seed + episode)[:-1]
    ]
    return {
        "preset": preset,
        "max_length": env.max_length,
        "states": states,
        "states_at_max_length": full,
        "invalid_oracle_actions": invalid,
        "not_solved_in_edit_distance": unsolved,
        "seconds": time.perf_counter() - start,
        "episodes_from_reset": episodes,
        "episode_states": len(lengths) + episodes,
        "episode_states_at_max_length": sum(n == env.max_length for n in lengths),
    }


def report(data: dict) -> str:
    lines = [
        "# The oracle in reachable states",
        "",
        f"Produced by `python -m benchmarks.oracle_check` on {data['machine']}; {data['versions']}.",
        "",
        f"Per preset, {data['states']:,} random reachable states (reset seed {data['seed']}+i): the even-numbered at "
        f"`max_length` (up to {MAX_WALK} random valid edits from a reset, then random valid inserts until the text "
        f"is full), the odd-numbered after 0-{MAX_WALK} random valid edits. Invalid: the oracle's action is not in "
        "the action mask. Not in distance: the oracle does not reach the reference in exactly the Levenshtein "
        "distance from the state (with only valid actions).",
        "",
        f"Episodes: {data['episodes']} oracle episodes from resets (seeds {data['seed']}+i), as `textedit eval`, "
        "the comparison and `textedit collect --policy oracle` play them; their states at `max_length`, the only "
        "states in which the oracle's choice changed when inserts into a full text were excluded.",
        "",
        "| preset | max_length | states | at max_length | invalid | not in distance | seconds "
        "| episode states | at max_length |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in data["runs"]:
        lines.append(
            f"| {run['preset']} | {run['max_length']} | {run['states']:,} | {run['states_at_max_length']:,} | "
            f"{run['invalid_oracle_actions']} | {run['not_solved_in_edit_distance']} | {run['seconds']:.0f} | "
            f"{run['episode_states']:,} | {run['episode_states_at_max_length']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--states", type=int, default=10_000, help="random reachable states per preset")
    parser.add_argument("--episodes", type=int, default=1_000, help="oracle episodes from resets per preset")
    parser.add_argument("--presets", nargs="+", choices=sorted(PRESETS), default=sorted(PRESETS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    options = parser.parse_args(argv)
    runs = []
    for preset in options.presets:
        runs.append(preset_run(preset, options.states, options.episodes, options.seed))
        print(json.dumps(runs[-1]), flush=True)
    data = {
        "machine": machine(),
        "versions": versions(),
        "states": options.states,
        "episodes": options.episodes,
        "seed": options.seed,
        "runs": runs,
    }
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / "oracle_check.json").write_text(json.dumps(data, indent=1) + "\n")
    (options.out / "oracle_check.md").write_text(report(data))
    return data


if __name__ == "__main__":
    main()
