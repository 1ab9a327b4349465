"""Greedy evaluation of an agent beside the oracle and a random agent on the same episodes, and
the table ``textedit`` prints."""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np

from textedit_agents.env_util import make_env
from textedit_env.lm import NGramLM
from textedit_env.metrics import library_score
from textedit_env.oracle import edit_distance
from textedit_env.policies import Policy, oracle_policy, random_policy
from textedit_env.rollout import rollout
from textedit_env.wrappers import StartAtReference

TOP_SCORE = 1.0 - 1e-9
"""a final score at least this is the top score (a reference scores 1 against itself, up to rounding)"""


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
    initial one is what stopping at once scores), steps (over all episodes and over the solved
    ones), the share of episodes cut by the time limit, the share of steps whose action was
    invalid, and the final texts' BLEU and ROUGE-L; with ``lm``, also the perplexity of the final
    texts under it.

    Solve rate alone hides detours and missed stops (an episode ends when its text reaches the
    reference), and asks more than a reward can pay for: ROUGE ignores punctuation, so a text that
    differs from its reference only there has the top score unsolved. So four more:

    * ``top_score_rate``: the share of episodes that end at the metric's top score (1, the
      reference's own), solved or not;

    * ``excess_steps``: the solved episodes' mean steps over the oracle's on the same episodes
      (its steps are the edit distance to the closest reference, plus the stop where one is needed:
      with the reference hidden, or when nothing needs editing); 1 is no step wasted;
    * ``detour_rate``: the share of solved episodes that made more edits than the edit distance
      from their source to the reference they reached: an edit later undone or redone;
    * ``stop_rate``: the share of ``episodes`` more episodes, started at their reference
      (:class:`~textedit_env.wrappers.StartAtReference`, reset with seed + i), whose first action
      is to stop. These run after the others, so they change nothing above."""
    base = env.unwrapped
    solved, truncations, returns, initial, scores, steps, bleu, rouge, finals = [], [], [], [], [], [], [], [], []
    minimal_steps, detours = [], []
    invalid = 0
    for i in range(episodes):
        obs, info = env.reset(seed=seed + i)
        initial.append(base.outcome()["score"])
        source, references = list(base.text_units), base.references
        episode = list(rollout(env, policy, obs, info))
        last, outcome = episode[-1], base.outcome()  # the outcome: privileged, what a hidden reference keeps back
        invalid += sum(bool(step.info["invalid_action"]) for step in episode)
        solved.append(outcome["solved"])
        truncations.append(last.truncated and not last.terminated)
        returns.append(sum(step.reward for step in episode))
        scores.append(outcome["score"])
        steps.append(len(episode))
        text = base.text_units
        bleu.append(library_score("bleu", text, *references, unit=base.unit, tokenize=base.tokenize))
        rouge.append(library_score("rougeL", text, *references, unit=base.unit, use_stemmer=base.use_stemmer))
        finals.append(text)
        distance = min(edit_distance(source, reference) for reference in references)
        minimal_steps.append(distance + (not base.observe_reference or distance == 0))
        if outcome["solved"]:
            edits = sum(
                base.decode_action(step.action)[0] != "stop" and not step.info["invalid_action"] for step in episode
            )
            detours.append(edits > edit_distance(source, text))
        if on_episode is not None:
            on_episode()
    solved_steps = [n for n, s in zip(steps, solved) if s]
    oracle_steps = [n for n, s in zip(minimal_steps, solved) if s]
    result = {
        "solve_rate": float(np.mean(solved)),
        "mean_return": float(np.mean(returns)),
        "mean_initial_score": float(np.mean(initial)),
        "mean_final_score": float(np.mean(scores)),
        "top_score_rate": float(np.mean(np.asarray(scores) >= TOP_SCORE)),
        "mean_steps": float(np.mean(steps)),
        "mean_solved_steps": float(np.mean(solved_steps)) if solved_steps else None,  # JSON null when none was solved
        "excess_steps": float(np.mean(solved_steps) / np.mean(oracle_steps)) if solved_steps else None,
        "detour_rate": float(np.mean(detours)) if detours else None,
        "stop_rate": stop_rate(env, policy, episodes, seed),
        "truncated_rate": float(np.mean(truncations)),
        "invalid_action_rate": invalid / max(sum(steps), 1),
        "mean_final_bleu": float(np.mean(bleu)),
        "mean_final_rougeL": float(np.mean(rouge)),
    }
    if lm is not None:
        result["final_perplexity"] = lm.perplexity(finals)
    return result


def stop_rate(env: gym.Env, policy: Policy, episodes: int, seed: int) -> float:
    """The share of ``episodes`` episodes started at their reference (reset with seed + i) in which
    ``policy``'s first action is to stop, the only action that keeps the score."""
    at_reference = StartAtReference(env, share=1.0)
    stops = 0
    for i in range(episodes):
        obs, info = at_reference.reset(seed=seed + i)
        stops += env.unwrapped.decode_action(policy(at_reference, obs, info))[0] == "stop"
    return stops / max(episodes, 1)


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
    "mean_final_score": "final",
    "top_score_rate": "top_score",
    "stop_rate": "stop_rate",
    "excess_steps": "excess",
    "detour_rate": "detours",
    "truncated_rate": "truncated",
    "mean_steps": "steps",
    "invalid_action_rate": "invalid",
    "final_perplexity": "perplexity",
}
"""result key -> column label of :func:`format_table`"""
WIDTH = 11


def cell(value: float | None) -> str:
    return f"{'-':>{WIDTH}}" if value is None else f"{value:>{WIDTH}.3f}"


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
        f"{'':8}" + "".join(f"{label:>{WIDTH}}" for label in TABLE_COLUMNS.values()),
    ]
    for name, prefix in (("agent", ""), ("random", "random_"), ("oracle", "oracle_")):
        lines.append(f"{name:8}" + "".join(cell(result[prefix + key]) for key in TABLE_COLUMNS))
    return "\n".join(lines)
