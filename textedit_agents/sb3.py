"""Stable-Baselines3 policies built on the network of the package's own agents.

SB3's ``MultiInputPolicy`` flattens the observation into one vector and maps it through an MLP
to one output per action id: it cannot tell which word an action writes where, and learns
almost nothing on TextEdit-v0. These policies read the observation the way ``textedit_agents.dqn``
does, with :class:`textedit_agents.networks.EditNetwork` (alignment features, per-position state, one
score per action of the env's layout), so that a comparison of algorithms compares algorithms:

==============================  =======================================  =====================
policy                          for                                      scores
==============================  =======================================  =====================
:class:`TextEditDQNPolicy`      ``stable_baselines3.DQN``                Q-values
:class:`TextEditQRDQNPolicy`    ``sb3_contrib.QRDQN``                    quantiles of Q
:class:`TextEditActorCriticPolicy`  ``PPO``, ``A2C``                     logits, and a value head
:class:`MaskableTextEditPolicy` ``sb3_contrib.MaskablePPO``              logits, and a value head
==============================  =======================================  =====================

They are used through SB3's public API, and saved and loaded with SB3's ``save``/``load``::

    from stable_baselines3 import DQN
    from textedit_agents.sb3 import TextEditDQNPolicy

    model = DQN(TextEditDQNPolicy, "textedit_env:TextEdit-v0", policy_kwargs={"dim": 32})

``policy_kwargs`` takes the network's arguments: ``encoder`` ("none", "gru", "lstm",
"transformer"), ``dim``, ``layers``, ``heads``, and with the reference hidden ``spelling``
(``env.unwrapped.vocabulary.itos``: the network then reads the words' letters too). The valid
actions of a state follow from its observation, and the policies use that: an invalid action (a
no-op in the environment) gets a logit of -1e8, and a Q-value (every quantile) one below the
lowest valid action's, held fixed (no gradient), so that greedy actions and SB3's bootstrap
maximum range over valid actions only. SB3's DQN and QR-DQN still explore uniformly over all
action ids (their algorithms have no masks); such samples carry no gradient. Requires ``pip
install textedit-env[sb3]``.

With the reference observed, wrap the env in :class:`textedit_env.wrappers.ActionGains` and every
policy here builds its scores on what each action pays now and how far the score can still rise,
as the package's DQN does (:class:`textedit_agents.networks.GainValues`, at the env's own reward
scale and no step cost): the value policies (:class:`TextEditDQNPolicy`, :class:`TextEditQRDQNPolicy`)
take them as their Q-values, the actor-critic ones as logits over a learned temperature (first
:data:`GAIN_TEMPERATURE`). An edit that pays beats stopping and at the top score no edit does, for
any weights, so the policy stops where it should and looks one step ahead from the start, and SB3's
default discount of 0.99 no longer unlearns it (``docs/libraries.md``)::

    model = DQN(TextEditDQNPolicy, ActionGains(gym.make("TextEdit-v0")), buffer_size=50_000)
    model = PPO(TextEditActorCriticPolicy, ActionGains(gym.make("TextEdit-v0")))

sb3-contrib's ``RecurrentPPO("MultiInputLstmPolicy", env)`` fails on the ``Dict`` observation with
``TypeError: input_size should be of type int, got: int64``: SB3 2.x sizes a ``MultiDiscrete``
space as ``sum(nvec)``, a numpy integer, and ``nn.LSTM`` accepts only a Python ``int``. Pass
:class:`CombinedExtractor` (SB3's, with a Python ``int`` size), or give the recurrent policy
one vector (``MlpLstmPolicy`` on :class:`textedit_env.wrappers.FlatObservation`)::

    RecurrentPPO("MultiInputLstmPolicy", env, policy_kwargs={"features_extractor_class": CombinedExtractor})
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml
from gymnasium import spaces
from sb3_contrib import QRDQN, MaskablePPO
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from sb3_contrib.qrdqn.policies import QRDQNPolicy
from stable_baselines3 import A2C, DQN, PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import ActorCriticPolicy, BasePolicy
from stable_baselines3.common.torch_layers import CombinedExtractor as SB3CombinedExtractor
from stable_baselines3.dqn.policies import DQNPolicy
from torch import nn

from textedit_agents.networks import EditNetwork, GainValues, mlp
from textedit_env.wrappers.action_gains import GAINS

INVALID_LOGIT = -1e8
"""sb3-contrib's masked-logit value"""
SB3_GAIN_VALUES = GainValues(scale=1.0, step_cost=0.0, gamma=1.0)
"""how the value policies build Q on the action gains: SB3 learns from the env's rewards as they are,
and a discount of 1 bounds the value after an edit for any discount the algorithm is given (stop pays
the env's step penalty or nothing, at most 0, so the discounted value after an edit lies between
what stopping pays and the headroom left)"""
GAIN_TEMPERATURE = 0.01
"""the actor-critic policies' first temperature over those Q-values: a gain of 0.05 (a word of a
short sentence's BLEU) makes an action e^5 times likelier, so the untrained policy plays nearly
one-step look-ahead and still samples between edits that pay alike"""


def gain_values_for(observation_space: spaces.Dict) -> GainValues | None:
    """:data:`SB3_GAIN_VALUES` where the observation carries the action gains (``ActionGains``)."""
    return SB3_GAIN_VALUES if GAINS in observation_space.spaces else None


def floor_invalid(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Scores (B, n) or (B, n, q) with every invalid action one below the batch item's lowest valid score, detached."""
    valid = mask if scores.dim() == 2 else mask[..., None].expand_as(scores)
    lowest = scores.detach().masked_fill(~valid, torch.inf).flatten(1).amin(1)
    floor = (lowest - 1.0).view(-1, *([1] * (scores.dim() - 1)))
    return torch.where(valid, scores, floor)


class CombinedExtractor(SB3CombinedExtractor):
    """SB3's extractor of ``Dict`` observations with ``features_dim`` a Python ``int``, as ``nn.LSTM`` requires."""

    def __init__(self, observation_space: spaces.Dict, **kwargs: Any):
        super().__init__(observation_space, **kwargs)
        self._features_dim = int(self._features_dim)


class EditScores(BasePolicy):
    """A ``q_net`` (Q-values, (B, n)) or ``quantile_net`` ((B, n_quantiles, n)) for SB3's DQN and QR-DQN."""

    def __init__(
        self,
        observation_space: spaces.Dict,
        action_space: spaces.Discrete,
        network_kwargs: dict,
        n_quantiles: int | None = None,
    ):
        super().__init__(observation_space, action_space)
        self.network_kwargs, self.n_quantiles = network_kwargs, n_quantiles
        self.network = EditNetwork.for_space(
            observation_space,
            outputs=n_quantiles or 1,
            gain_values=gain_values_for(observation_space),
            **network_kwargs,
        )

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        features = self.network.features(obs)
        scores = floor_invalid(self.network.scores(features, obs), features["mask"])
        return scores if self.n_quantiles is None else scores.transpose(1, 2)  # QR-DQN's (B, n_quantiles, n)

    def _predict(self, observation: dict[str, torch.Tensor], deterministic: bool = True) -> torch.Tensor:
        q = self(observation)
        return (q if self.n_quantiles is None else q.mean(dim=1)).argmax(dim=1).reshape(-1)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        return {
            **super()._get_constructor_parameters(),
            "network_kwargs": self.network_kwargs,
            "n_quantiles": self.n_quantiles,
        }


class _SharedNetwork:
    """Takes the network's arguments from ``policy_kwargs`` before SB3's own, and saves them with the policy."""

    def __init__(
        self,
        observation_space: spaces.Dict,
        action_space: spaces.Discrete,
        lr_schedule,
        encoder: str = "none",
        dim: int = 32,
        layers: int = 1,
        heads: int = 4,
        spelling: list[str] | None = None,
        **kwargs,
    ):
        self.network_kwargs = {"encoder": encoder, "dim": dim, "layers": layers, "heads": heads, "spelling": spelling}
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        return {**super()._get_constructor_parameters(), **self.network_kwargs}


class TextEditDQNPolicy(_SharedNetwork, DQNPolicy):
    """Q-values of the shared network for ``stable_baselines3.DQN``."""

    def make_q_net(self) -> EditScores:
        return EditScores(self.observation_space, self.action_space, self.network_kwargs).to(self.device)


class TextEditQRDQNPolicy(_SharedNetwork, QRDQNPolicy):
    """Quantiles of Q from the shared network (``n_quantiles`` outputs per action) for ``sb3_contrib.QRDQN``."""

    def make_quantile_net(self) -> EditScores:
        return EditScores(self.observation_space, self.action_space, self.network_kwargs, self.n_quantiles).to(
            self.device
        )


class _SharedNetworkActorCritic(_SharedNetwork):
    """What the actor-critic policies share: logits of the shared network (invalid actions at
    -1e8) and a value head on its state summary, in place of SB3's extractor and MLPs. With the
    action gains in the observation the logits are the gain-built Q-values (:data:`SB3_GAIN_VALUES`)
    over a learned temperature (first :data:`GAIN_TEMPERATURE`): a softmax policy that prefers
    an edit that pays to stopping, and stopping at the top score to any edit, for any weights."""

    def _build(self, lr_schedule) -> None:
        gain_values = gain_values_for(self.observation_space)
        self.network = EditNetwork.for_space(self.observation_space, gain_values=gain_values, **self.network_kwargs)
        self.log_temperature = None if gain_values is None else nn.Parameter(torch.tensor(math.log(GAIN_TEMPERATURE)))
        self.value_net = mlp(self.network.summary_dim, self.network_kwargs["dim"])
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)

    def _distribution_and_values(self, obs: dict[str, torch.Tensor], action_masks=None):
        features = self.network.features(obs)
        logits, summary = self.network.scores_and_summary(features, obs)
        if self.log_temperature is not None:
            logits = logits / self.log_temperature.exp()
        distribution = self.action_dist.proba_distribution(
            action_logits=logits.masked_fill(~features["mask"], INVALID_LOGIT)
        )
        if action_masks is not None:
            distribution.apply_masking(action_masks)
        return distribution, self.value_net(summary)

    def forward(self, obs, deterministic: bool = False, action_masks=None):
        distribution, values = self._distribution_and_values(obs, action_masks)
        actions = distribution.get_actions(deterministic=deterministic)
        return actions, values, distribution.log_prob(actions)

    def evaluate_actions(self, obs, actions: torch.Tensor, action_masks=None):
        distribution, values = self._distribution_and_values(obs, action_masks)
        return values, distribution.log_prob(actions), distribution.entropy()

    def get_distribution(self, obs, action_masks=None):
        return self._distribution_and_values(obs, action_masks)[0]

    def predict_values(self, obs) -> torch.Tensor:
        return self._distribution_and_values(obs)[1]


class TextEditActorCriticPolicy(_SharedNetworkActorCritic, ActorCriticPolicy):
    """Logits of the shared network and a value head for ``PPO`` and ``A2C``."""


class MaskableTextEditPolicy(_SharedNetworkActorCritic, MaskableActorCriticPolicy):
    """Logits of the shared network and a value head for ``sb3_contrib.MaskablePPO`` (its masks apply too)."""


__all__ = [
    "TextEditDQNPolicy",
    "TextEditQRDQNPolicy",
    "TextEditActorCriticPolicy",
    "MaskableTextEditPolicy",
    "EditScores",
    "CombinedExtractor",
]


# ----------------------------------------------------------------------------- recommended settings
HYPERPARAMS = Path(__file__).with_name("sb3_hyperparams.yml")
"""the recommended settings, in rl-baselines3-zoo's format"""
ALGORITHMS: dict[str, type[BaseAlgorithm]] = {
    "dqn": DQN,
    "qrdqn": QRDQN,
    "a2c": A2C,
    "ppo": PPO,
    "ppo_mask": MaskablePPO,
}
"""rl-baselines3-zoo's algorithm names"""
ZOO_KEYS = frozenset({"policy", "n_timesteps", "env_wrapper"})
"""keys of a zoo entry that are not the algorithm's keyword arguments"""


@dataclass(frozen=True)
class Recommended:
    """Settings at which an SB3 algorithm learns with the package's policy (``HYPERPARAMS``)."""

    algo: type[BaseAlgorithm]
    policy: type[BasePolicy]
    n_timesteps: int
    max_episode_steps: int
    """the time limit of training episodes (pass it in the env kwargs; evaluation keeps the env's)"""
    kwargs: dict[str, Any]
    """the algorithm's keyword arguments (gamma, buffer sizes, policy_kwargs...)"""


def recommended(algo: str, env_id: str = "TextEdit-v0") -> Recommended:
    """The recommended settings of an algorithm (a zoo name: dqn, qrdqn, a2c, ppo, ppo_mask)."""
    entries = yaml.safe_load(HYPERPARAMS.read_text())
    if algo not in entries or env_id not in entries[algo]:
        raise ValueError(f"no recommended settings for {algo!r} on {env_id!r} in {HYPERPARAMS.name}")
    entry = entries[algo][env_id]
    module, _, name = entry["policy"].rpartition(".")
    (wrapper,) = entry["env_wrapper"]
    return Recommended(
        algo=ALGORITHMS[algo],
        policy=getattr(importlib.import_module(module), name),
        n_timesteps=int(entry["n_timesteps"]),
        max_episode_steps=wrapper["gymnasium.wrappers.TimeLimit"]["max_episode_steps"],
        kwargs={key: value for key, value in entry.items() if key not in ZOO_KEYS},
    )
