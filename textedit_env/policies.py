"""Baseline policies that need nothing but the environment.

A policy maps ``(env, observation, info)`` to an action id; it reads the state from the env itself.

============  =====================================================================  ============
baseline      what it does                                                           privileged
============  =====================================================================  ============
``oracle``    the first edit of a minimal edit script to the reference; then stop    yes
``greedy``    one-step look-ahead on the reward (``action_rewards()``)               yes
``stop``      stop at once: the source as it is (the no-edit baseline)               no
``fluency``   one-step look-ahead on fluency under an n-gram model of the training   no
              split, the only knowledge of English it has
``random``    uniform over the valid actions                                         no
============  =====================================================================  ============

The privileged ones read the reference; with the reference hidden they are upper bounds and
teachers, not competitors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from textedit_env.lm import UNK, FluencyScorer, NGramLM
from textedit_env.metrics.base import Edit
from textedit_env.oracle import oracle_action

Policy = Callable[[gym.Env, Any, dict], int]


def oracle_policy(env: gym.Env, obs: Any, info: dict) -> int:
    """The first edit of a minimal edit script to the reference; stop at the reference."""
    return oracle_action(env)


def greedy_policy(env: gym.Env, obs: Any, info: dict) -> int:
    """One-step look-ahead: the valid action with the highest reward; stop when none improves."""
    rewards = np.where(env.unwrapped.action_masks(), env.unwrapped.action_rewards(), -np.inf)
    best = int(np.argmax(rewards))
    return best if rewards[best] > 0 else env.unwrapped.encode_action("stop")


def random_policy(seed: int) -> Policy:
    """A uniformly random choice among the valid actions (stop included)."""
    rng = np.random.default_rng(seed)
    return lambda env, obs, info: int(rng.choice(np.flatnonzero(env.unwrapped.action_masks())))


def stop_policy(env: gym.Env, obs: Any, info: dict) -> int:
    """Stop at once: the source is the answer."""
    return 0


class FluencyGreedy:
    """One-step look-ahead on an n-gram language model, without the reference, in the manner of
    language-model-based error correction (Bryant & Briscoe, 2018): of the edits among the words of
    the edit vocabulary (the correction words; with the reference observed, the candidates), deleting
    one, inserting one or replacing one by another, the valid edit that raises the text's
    log-probability most, if by more than ``threshold`` nats, else stop. Other words are never
    touched: a content word the model has not seen would always be the most probable thing to delete.
    The default threshold, 4 nats, did best of 2, 4, 6 and 8 on the training split of fix-easy and
    fix-medium.

    The model is the environment's (``lm=``) or, by default, a trigram Kneser-Ney model of its
    training split's references, fit once per environment. Inserts and replaces try the
    ``proposals`` words the model finds most likely after the left context."""

    def __init__(self, proposals: int = 10, threshold: float = 4.0, order: int = 3):
        self.proposals, self.threshold, self.order = proposals, threshold, order
        self._models: dict[int, NGramLM] = {}

    def model(self, base: gym.Env) -> NGramLM:
        if base.lm is not None:
            return base.lm
        key = id(base)
        if key not in self._models:
            self._models[key] = NGramLM(order=self.order).fit(base.task_set.training_references())
        return self._models[key]

    def __call__(self, env: gym.Env, obs: Any, info: dict) -> int:
        base = env.unwrapped
        lm, text = self.model(base), base.text_units
        words = base.edit_words if not base.observe_reference else base.candidates
        vocabulary = set(words)
        scorer = FluencyScorer(lm)
        scorer.set_hypothesis(text)
        edits = [Edit("delete", p) for p, unit in enumerate(text) if unit in vocabulary]
        index = np.array([lm._index.get(word, lm._index[UNK]) for word in words], dtype=np.intp)
        for p in range(len(text) + 1):
            likely = lm._distribution(lm._context(text[:p]))[index]
            top = [words[k] for k in np.argsort(-likely, kind="stable")[: self.proposals]]
            edits += [Edit("insert", p, word) for word in top]
            if p < len(text) and text[p] in vocabulary:
                edits += [Edit("replace", p, word) for word in top if word != text[p]]
        mask = base.action_masks()
        actions = [base.encode_action(*edit) for edit in edits]
        scored = [(value, i) for i, value in enumerate(scorer.preview_logprobs(edits)) if mask[actions[i]]]
        best, i = max(scored, default=(-np.inf, -1), key=lambda pair: (pair[0], -pair[1]))
        return actions[i] if best > scorer.logprob + self.threshold else base.encode_action("stop")


BASELINES: dict[str, Callable[[int], Policy]] = {
    "oracle": lambda seed: oracle_policy,
    "greedy": lambda seed: greedy_policy,
    "stop": lambda seed: stop_policy,
    "fluency": lambda seed: FluencyGreedy(),
    "random": random_policy,
}
"""Each baseline by name, built from a seed (only the random one uses it)."""
PRIVILEGED = frozenset({"oracle", "greedy"})
"""the baselines that read the reference"""
