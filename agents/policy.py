"""A trained :class:`agents.networks.EditNetwork` as a greedy policy: the one agent class of every
algorithm that trains the shared network (DQN, behaviour cloning, RLlib PPO). Each subclass names
its algorithm and its ``Args`` dataclass; the run directory holds the weights and the manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch

from agents.common import atomic_write, eval_split, make_env, read_manifest, write_manifest
from agents.networks import OBSERVATION_KEYS, EditNetwork

CHECKPOINT = "model.pt"


def network_kwargs(args: Any) -> dict[str, Any]:
    """The network's arguments from an Args dataclass (or a mapping) with encoder, dim, layers, heads."""
    get = args.get if isinstance(args, dict) else lambda name: getattr(args, name)
    return {name: get(name) for name in ("encoder", "dim", "layers", "heads")}


def build_network(observation_space: gym.spaces.Dict, args: Any) -> EditNetwork:
    return EditNetwork.for_space(observation_space, **network_kwargs(args))


def to_tensors(obs: dict[str, np.ndarray], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: torch.as_tensor(np.asarray(obs[k]), device=device) for k in OBSERVATION_KEYS}


def masked_argmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return scores.masked_fill(~mask, -torch.inf).argmax(dim=1)


def greedy_actions(network: EditNetwork, obs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """The valid action of highest score in each observation of a batch, and the masks of valid actions."""
    features = network.features(obs)
    return masked_argmax(network.scores(features), features["mask"]), features["mask"]


class NetworkAgent:
    """The network as a greedy policy (``agent(env, obs, info) -> action``): the valid action of
    highest score (a Q-value, a logit)."""

    NAME: ClassVar[str]
    """the algorithm's name in the registry and the manifest"""
    ARGS: ClassVar[type]
    """its Args dataclass"""

    def __init__(self, network: EditNetwork, args: Any, env_kwargs: dict):
        self.network, self.args, self.env_kwargs = network.eval(), args, env_kwargs
        self.device = next(network.parameters()).device

    @torch.no_grad()
    def __call__(self, env: gym.Env, obs: dict, info: dict) -> int:
        batch = {k: np.asarray(obs[k])[None] for k in OBSERVATION_KEYS}
        return int(greedy_actions(self.network, to_tensors(batch, self.device))[0][0])

    def eval_split(self) -> str:
        """The held-out split when trained on the train split, else the training split."""
        return eval_split(self.env_kwargs)

    def save(self, out_dir: Path) -> Path:
        path = Path(out_dir) / CHECKPOINT
        atomic_write(path, lambda tmp: torch.save({"state_dict": self.network.state_dict()}, tmp))
        write_manifest(out_dir, self.NAME, self.args, self.env_kwargs)
        return path

    @classmethod
    def load(cls, out_dir: Path, device: str | None = None) -> NetworkAgent:
        manifest = read_manifest(out_dir, cls.NAME)
        args = cls.ARGS(**{**manifest["args"], **({"device": device} if device else {})})
        data = torch.load(Path(out_dir) / CHECKPOINT, map_location=args.device, weights_only=True)
        network = build_network(make_env(manifest["env_kwargs"]).observation_space, args)
        network.load_state_dict(data["state_dict"])
        return cls(network.to(args.device), args, manifest["env_kwargs"])
