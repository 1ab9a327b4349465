"""Behaviour cloning from a Minari dataset of demonstrations, on the network every agent shares.

The dataset is one that :func:`textedit_env.collect.collect` wrote (``textedit collect --policy
oracle ...``): each step's observation and the action the demonstrator took. The network
(:class:`textedit_agents.networks.EditNetwork`, as in DQN) scores every action of an observation; training
minimises the cross-entropy of the demonstrated action under a softmax over the *valid* actions
only (invalid ones get a score of -inf, the mask computed from the observation), with Adam on
random mini-batches. Steps whose action was invalid (a no-op) are left out. An episode ends as
soon as its text reaches the reference, so no demonstration shows what to do there; with
``reference_stops`` (default) the final observation of each solved episode is imitated with
stop, as the oracle and the greedy policy would act there. The agent acts greedily: the valid
action of highest score.

The environment is the dataset's: ``TextEdit-v0`` with the kwargs it was collected with, updated
by the ``env_kwargs`` given to :func:`train` (e.g. another split), which must keep its observation
space. Evaluation is on the held-out split when the demonstrations come from the train split.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import minari
import numpy as np
import torch
import torch.nn.functional as F

from textedit_agents.arguments import NetworkArgs, check_fields
from textedit_agents.env_util import make_env
from textedit_agents.logger import RunLogger
from textedit_agents.networks import EditNetwork, observation_keys
from textedit_agents.policy import NetworkAgent, build_network, to_tensors
from textedit_agents.storage import run_config
from textedit_agents.training import Checkpoints, check_finite
from textedit_env import ENV_ID

NAME = "bc"


@dataclass
class Args(NetworkArgs):
    dataset: str = "textedit/easy-oracle-v0"
    """Minari dataset id of the demonstrations (write one with: textedit collect --dataset-id ID)"""
    steps: int = 2_000
    """gradient steps"""
    seed: int = 0
    """seeds the network and the mini-batches"""
    batch_size: int = 128
    """demonstrated steps per gradient step"""
    lr: float = 1e-3
    """Adam learning rate"""
    reference_stops: bool = True
    """also imitate stop at the final text of each solved episode (the reference), which no step shows"""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fields(self, positive=("steps", "batch_size", "lr"), non_negative=("seed",))


class Agent(NetworkAgent):
    """The cloned policy as a greedy policy (``agent(env, obs, info) -> action``)."""

    NAME, ARGS = NAME, Args

    @classmethod
    def validate(cls, args: Args, env_kwargs: dict) -> None:
        """Checked by ``textedit train`` before work starts: the dataset exists and fits the env kwargs."""
        open_dataset(args.dataset, env_kwargs)


def open_dataset(dataset_id: str, env_kwargs: dict) -> tuple[minari.MinariDataset, gym.Env, dict]:
    """The dataset, the environment to act in and its kwargs (the dataset's, updated by
    ``env_kwargs``); ValueError (one line) when it cannot serve."""
    try:
        dataset = minari.load_dataset(dataset_id)
    except FileNotFoundError:
        raise ValueError(
            f"no Minari dataset {dataset_id!r} in {minari.storage.get_dataset_path()} "
            "(write one with: textedit collect --dataset-id ID)"
        ) from None
    except ValueError as err:
        raise ValueError(f"cannot load the Minari dataset {dataset_id!r}: {' '.join(str(err).split())}") from None
    if dataset.env_spec is None or dataset.env_spec.id != ENV_ID:
        raise ValueError(f"Minari dataset {dataset_id!r} does not name TextEdit-v0 as its environment")
    kwargs = {**dataset.env_spec.kwargs, **env_kwargs}
    env = make_env(kwargs)
    if env.observation_space != dataset.observation_space:
        raise ValueError(f"env kwargs {env_kwargs} change the observation space of dataset {dataset_id!r}")
    return dataset, env, kwargs


def load_demonstrations(
    dataset_id: str, env_kwargs: dict, reference_stops: bool = True
) -> tuple[dict[str, np.ndarray], np.ndarray, dict]:
    """The observations and actions of every valid step of a Minari dataset (with ``reference_stops``,
    also stop at the end of each solved episode), and the env kwargs to act in (the dataset's,
    updated by ``env_kwargs``); ValueError (one line) when it cannot serve."""
    dataset, env, kwargs = open_dataset(dataset_id, env_kwargs)
    stop = env.unwrapped.encode_action("stop")
    keys = observation_keys(env.observation_space)
    observations: dict[str, list[np.ndarray]] = {key: [] for key in keys}
    actions = []
    for episode in dataset.iterate_episodes():
        valid = ~np.asarray(episode.infos["invalid_action"][1:], bool)  # infos[0] is the reset's
        # An episode that ended at the reference without a stop (the reference observed) shows no stop there.
        unstopped = bool(episode.infos["solved"][-1]) and episode.actions[-1] != stop
        take = np.append(valid, reference_stops and unstopped)  # T steps + the final text
        for key in keys:
            observations[key].append(episode.observations[key][take])
        actions.append(np.append(episode.actions, stop)[take])
    if not sum(map(len, actions)):
        raise ValueError(f"Minari dataset {dataset_id!r} holds no valid action to imitate")
    return {k: np.concatenate(v) for k, v in observations.items()}, np.concatenate(actions), kwargs


def train(
    args: Args, env_kwargs: dict, out_dir: Path, progress: bool = True, checkpoints: Checkpoints | None = None
) -> Agent:
    observations, actions, env_kwargs = load_demonstrations(args.dataset, env_kwargs, args.reference_stops)
    torch.manual_seed(args.seed)
    rng, device = np.random.default_rng(args.seed), torch.device(args.device)
    network = build_network(make_env(env_kwargs), args).to(device)
    optimizer = torch.optim.Adam(network.parameters(), lr=args.lr)
    config = run_config(NAME, args, env_kwargs, demonstrated_steps=len(actions))
    with RunLogger(Path(out_dir), args.steps, config, progress) as logger:
        for step in range(1, args.steps + 1):
            batch = rng.integers(len(actions), size=args.batch_size)
            obs = to_tensors({k: v[batch] for k, v in observations.items()}, device, network.keys)
            loss, accuracy = clone_step(network, optimizer, obs, torch.as_tensor(actions[batch], device=device))
            check_finite(loss, step, "the loss")
            if step % 100 == 0 or step == args.steps:
                logger.scalars(step, {"train/loss": loss, "train/accuracy": accuracy})
            if checkpoints is not None:
                checkpoints.reached(step, lambda: Agent(network, args, env_kwargs))
                network.train()
            logger.advance(1)
    agent = Agent(network, args, env_kwargs)
    agent.save(Path(out_dir))
    return agent


def clone_step(
    network: EditNetwork, optimizer: torch.optim.Optimizer, obs: dict[str, torch.Tensor], actions: torch.Tensor
) -> tuple[float, float]:
    """One gradient step of the masked cross-entropy; returns the loss and the share of the batch's
    actions that are the network's greedy choice."""
    features = network.features(obs)
    logits = network.scores(features, obs).masked_fill(~features["mask"], -torch.inf)
    loss = F.cross_entropy(logits, actions)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item(), (logits.argmax(1) == actions).float().mean().item()
