"""A trained :class:`textedit_agents.networks.EditNetwork` as a greedy policy: the one agent class of every
algorithm that trains the shared network (DQN, behaviour cloning, RLlib PPO). Each subclass names
its algorithm and its ``Args`` dataclass; the run directory holds the weights and the manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from textedit_agents.agent import SavedAgent
from textedit_agents.env_util import make_env
from textedit_agents.networks import EditNetwork, GainValues
from textedit_env.metrics.base import Edit
from textedit_env.metrics.splice import edited
from textedit_env.wrappers.action_gains import GAINS, gain_arrays


def network_kwargs(args: Any) -> dict[str, Any]:
    """The network's arguments from an Args dataclass (or a mapping) with encoder, dim, layers, heads."""
    get = args.get if isinstance(args, dict) else lambda name: getattr(args, name)
    return {name: get(name) for name in ("encoder", "dim", "layers", "heads")}


def build_network(env: gym.Env, args: Any) -> EditNetwork:
    """The network of ``args`` for an environment (its "ids" observation space; with the reference
    hidden, its vocabulary's spelling too; with ``args.read_gains``, a field of DQN's arguments,
    Q-values built on the action gains at its scale, step cost and discount)."""
    base = env.unwrapped
    spelling = None if base.observe_reference else base.vocabulary.itos
    gain_values = (
        GainValues(args.reward_scale, args.step_cost, args.gamma) if getattr(args, "read_gains", False) else None
    )
    return EditNetwork.for_space(
        base.observation_space, spelling=spelling, gain_values=gain_values, **network_kwargs(args)
    )


def to_tensors(obs: dict[str, np.ndarray], device: torch.device, keys: tuple[str, ...]) -> dict[str, torch.Tensor]:
    """The arrays ``keys`` of an observation (batch) as tensors."""
    return {k: torch.as_tensor(np.asarray(obs[k]), device=device) for k in keys}


def masked_argmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return scores.masked_fill(~mask, -torch.inf).argmax(dim=1)


class EpisodeTexts:
    """The texts an environment's current episode has had, for :func:`first_unvisited` (a new episode
    begins when the environment's ``resets`` count changes)."""

    def __init__(self) -> None:
        # The env itself, not its id: a new env could take a freed one's id and inherit its texts.
        self._env: gym.Env | None = None
        self._resets = 0
        self._texts: set[tuple[str, ...]] = set()

    def of(self, env: gym.Env) -> set[tuple[str, ...]]:
        base = env.unwrapped
        if base is not self._env or base.resets != self._resets:
            self._env, self._resets, self._texts = base, base.resets, set()
        return self._texts


def first_unvisited(env: gym.Env, scores: np.ndarray, visited: EpisodeTexts) -> int:
    """The valid action of highest score (invalid ones scored -inf) that does not bring back a text of
    the episode; stop when none is left. Adds the current text to the episode's texts."""
    base = env.unwrapped
    text = tuple(base.text_units)
    texts = visited.of(env)
    texts.add(text)
    for action in np.argsort(-scores, kind="stable"):
        if not np.isfinite(scores[action]):
            break
        op, position, word = base.decode_action(int(action))
        if op == "stop" or tuple(edited(text, Edit(op, position, word))) not in texts:
            return int(action)
    return base.encode_action("stop")


def greedy_actions(network: EditNetwork, obs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """The valid action of highest score in each observation of a batch, and the masks of valid actions."""
    features = network.features(obs)
    return masked_argmax(network.scores(features, obs), features["mask"]), features["mask"]


class NetworkAgent(SavedAgent):
    """The network as a greedy policy (``agent(env, obs, info) -> action``): the valid action of
    highest score (a Q-value, a logit) that does not bring back a text the episode has had.

    Returning to an earlier text is a detour (an edit made, then undone) whose rewards cancel out,
    so ruling it out costs an optimal policy nothing and keeps an agent whose scores are a little
    off from going round in circles to the time limit. The agent remembers the texts of the current
    episode (a new one begins when the environment's ``resets`` count changes)."""

    def __init__(self, network: EditNetwork, args: Any, env_kwargs: dict):
        super().__init__(args, env_kwargs)
        self.network = network.eval()
        self.device = next(network.parameters()).device
        self.visited = EpisodeTexts()

    def __call__(self, env: gym.Env, obs: dict, info: dict) -> int:
        return first_unvisited(env, self.action_scores(env, obs), self.visited)

    @torch.no_grad()
    def action_scores(self, env: gym.Env, obs: dict) -> np.ndarray:
        """The network's score of every action in ``obs``, an observation of ``env`` (-inf for the invalid ones)."""
        if GAINS in self.network.keys:
            obs = {**obs, **gain_arrays(env)}
        batch = to_tensors({k: np.asarray(obs[k])[None] for k in self.network.keys}, self.device, self.network.keys)
        features = self.network.features(batch)
        scores = self.network.scores(features, batch)[0].masked_fill(~features["mask"][0], -torch.inf)
        return scores.cpu().numpy()

    def with_env_kwargs(self, env_kwargs: dict) -> NetworkAgent:
        """The same weights in a network built for the environment of ``env_kwargs``: nothing in the
        network is sized by the text length or the candidate slots (a Transformer encoder's
        positions aside), so it acts on longer texts and other candidates. With the reference
        hidden it reads vocabulary ids, which must then mean the same words."""
        env = make_env(env_kwargs).unwrapped
        trained = make_env(self.env_kwargs).unwrapped
        if env.observe_reference != trained.observe_reference:
            raise ValueError(
                f"the agent trained with observe_reference={trained.observe_reference}, "
                f"these env kwargs make observe_reference={env.observe_reference}"
            )
        if not env.observe_reference and env.vocabulary.itos != trained.vocabulary.itos:
            raise ValueError(
                "with the reference hidden the network reads vocabulary ids: these env kwargs make another "
                f"vocabulary ({len(env.vocabulary)} words, {len(trained.vocabulary)} in training)"
            )
        network = build_network(env, self.args).to(self.device)
        saved = self.network.state_dict()
        for name, value in network.state_dict().items():
            if saved[name].shape != value.shape:
                raise ValueError(
                    f"the network's {name} has shape {tuple(saved[name].shape)}, these env kwargs need "
                    f"{tuple(value.shape)} (max_length={env.max_length}; the agent trained with {trained.max_length})"
                )
        network.load_state_dict(saved)
        return type(self)(network, self.args, env_kwargs)

    def write_checkpoint(self, path: Path) -> None:
        torch.save({"state_dict": self.network.state_dict()}, path)

    @classmethod
    def read_checkpoint(cls, path: Path, args: Any, env_kwargs: dict) -> NetworkAgent:
        data = torch.load(path, map_location=args.device, weights_only=True)
        network = build_network(make_env(env_kwargs), args)
        network.load_state_dict(data["state_dict"])
        return cls(network.to(args.device), args, env_kwargs)
