"""PPO from RLlib (Ray), on the network every agent shares: the path from one machine to a cluster.

Ray runs ``num_env_runners`` EnvRunner processes, on this machine or on the nodes of a cluster
(``ray_address``), that step their own ``TextEdit-v0`` environments with the current policy; a
learner in this process (or ``num_learners`` learner processes, which split each batch) updates
it with PPO (RLlib's new API stack) and sends the weights back.

- The environments are made by :func:`make_training_env`, registered with ``register_env``: the
  workers unpickle it by reference, which imports this module and so ``textedit_env``, and
  ``TextEdit-v0`` is found in every worker. (Naming the env by its Gymnasium id alone fails in
  the workers with ``NameNotFound``, which RLlib reports as ``IndexError: list index out of
  range``.)
- Action masking: the workers' observations carry the valid-action mask
  (:class:`textedit_env.wrappers.MaskInObservation`, ``{"action_mask", "observations"}``), and
  :class:`EditPPOModule`, an RLModule built on :class:`textedit_agents.networks.EditNetwork` as in RLlib's
  ``ActionMaskingTorchRLModule`` example, sets the logit of every invalid action to the lowest
  float, so its probability is exactly 0 and no invalid action is ever sampled. The value head
  reads the network's state summary (as :mod:`textedit_agents.sb3`'s actor-critic policies do).
- :class:`InvalidActionCounter` counts, in the workers, every environment step and the invalid
  ones among them (``info["invalid_action"]``); :func:`train` writes both, with the run's
  throughput, into ``training.json`` of the run directory.
- The saved agent is the EditNetwork's ``state_dict`` (``model.pt``) and the manifest: it loads
  and evaluates without Ray, greedily (the valid action of highest logit), in any environment
  where torch is installed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch

from textedit_agents.arguments import NetworkArgs, check_fields
from textedit_agents.env_util import make_env
from textedit_agents.logger import RunLogger
from textedit_agents.networks import EditNetwork, mlp
from textedit_agents.policy import NetworkAgent, build_network, network_kwargs
from textedit_agents.storage import run_config, write_json
from textedit_agents.training import Checkpoints
from textedit_env.wrappers import MaskInObservation, StartAtReference

try:  # Ray trains; a saved agent loads and evaluates without it
    import ray
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.callbacks.callbacks import RLlibCallback
    from ray.rllib.core import DEFAULT_MODULE_ID
    from ray.rllib.core.columns import Columns
    from ray.rllib.core.rl_module.apis import ValueFunctionAPI
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec
    from ray.rllib.core.rl_module.torch import TorchRLModule
    from ray.rllib.utils.metrics import ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME
    from ray.tune.registry import register_env
except ModuleNotFoundError as err:
    if (err.name or "").split(".")[0] != "ray":
        raise
    RAY_MISSING: ModuleNotFoundError | None = err
else:
    RAY_MISSING = None

NAME = "rllib-ppo"
TRAINING_STATS = "training.json"
ENV_NAME = "textedit-rllib"
"""the name :func:`make_training_env` is registered under with Ray"""
STEPS_CHECKED, INVALID_ACTIONS, EPISODES = "textedit_steps_checked", "textedit_invalid_actions", "textedit_episodes"
"""the workers' metrics: environment steps seen, invalid actions among them, finished episodes"""


@dataclass
class Args(NetworkArgs):
    """RLlib PPO's arguments (``device`` is the learner's: the env runners act on CPU)."""

    steps: int = 20_000
    """environment steps, summed over the env runners (PPO stops at the first iteration past it)"""
    seed: int = 0
    """seeds the network, the sampling and the environments"""
    num_env_runners: int = 2
    """Ray EnvRunner processes that step environments (0: sample in this process)"""
    num_envs_per_env_runner: int = 16
    """environments each runner steps together (one forward pass acts for all)"""
    num_learners: int = 0
    """Ray learner processes that split each update's batch (0: one learner in this process); scale them
    with the env runners, since one learner bounds the training rate (benchmarks/results/rllib_throughput.md)"""
    ray_address: str | None = None
    """address of a running Ray cluster (ray start --head; "auto" on one of its nodes); None: start a
    local Ray instance with a CPU for each env runner and each learner process, and one for this process"""
    train_episode_steps: int = 10
    """time limit of training episodes (evaluation keeps the env's limit)"""
    reference_starts: float = 0.1
    """share of training episodes that start at their reference, where the best action is to stop"""
    lr: float = 1e-3
    """Adam learning rate"""
    gamma: float = 0.5
    """discount factor"""
    gae_lambda: float = 0.95
    """lambda of the generalized advantage estimates"""
    clip_param: float = 0.2
    """PPO's clipping of the probability ratio"""
    entropy_coeff: float = 0.0
    """weight of the entropy bonus"""
    vf_loss_coeff: float = 0.5
    """weight of the value loss"""
    train_batch_size: int = 1_000
    """environment steps sampled per PPO iteration for each learner (num_learners > 1: that many times as many)"""
    minibatch_size: int = 128
    """steps per gradient step"""
    num_epochs: int = 4
    """passes over each iteration's batch"""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fields(
            self,
            positive=(
                "steps",
                "num_envs_per_env_runner",
                "train_episode_steps",
                "lr",
                "clip_param",
                "train_batch_size",
                "minibatch_size",
                "num_epochs",
            ),
            non_negative=("seed", "num_env_runners", "num_learners", "entropy_coeff", "vf_loss_coeff"),
            unit_interval=("reference_starts", "gamma", "gae_lambda"),
            at_most={"minibatch_size": self.train_batch_size},
        )


def env_config(args: Args, env_kwargs: dict) -> dict[str, Any]:
    """The EnvRunners' ``env_config``: what :func:`make_training_env` reads."""
    return {
        "env_kwargs": env_kwargs,
        "train_episode_steps": args.train_episode_steps,
        "reference_starts": args.reference_starts,
    }


def make_training_env(config: dict) -> gym.Env:
    """The environment of an EnvRunner, from its ``env_config``: ``TextEdit-v0`` with the training
    time limit and reference starts, its mask in the observation."""
    env = make_env(config["env_kwargs"], max_episode_steps=config["train_episode_steps"])
    return MaskInObservation(StartAtReference(env, config["reference_starts"]), layout="action_mask")


class Agent(NetworkAgent):
    """The policy network as a greedy policy (``agent(env, obs, info) -> action``): the valid action
    of highest logit, the mode of the trained policy."""

    NAME, ARGS = NAME, Args

    @classmethod
    def validate(cls, args: Args, env_kwargs: dict) -> None:
        """Checked by ``textedit train`` before work starts: Ray is installed (the run directory of a
        trained agent is read without it, so only training needs it)."""
        if RAY_MISSING is not None:
            raise RAY_MISSING


if RAY_MISSING is None:

    class EditPPOModule(TorchRLModule, ValueFunctionAPI):
        """PPO's policy and value on :class:`EditNetwork`, for observations ``{"action_mask": mask,
        "observations": <the env's Dict>}``; ``model_config`` holds the network's arguments."""

        def setup(self) -> None:
            # model_config: the network's arguments (and the vocabulary's spelling), among RLlib's own keys
            config = self.model_config
            space = self.observation_space["observations"]
            self.network = EditNetwork.for_space(space, spelling=config.get("spelling"), **network_kwargs(config))
            self.value_head = mlp(self.network.summary_dim, self.model_config["dim"])

        def _logits_and_summary(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
            obs = batch[Columns.OBS]
            inner = obs["observations"]
            logits, summary = self.network.scores_and_summary(self.network.features(inner), inner)
            # The lowest float, not -inf: an invalid action's probability is exactly 0 and the
            # distribution's entropy and KL stay finite (0 * lowest = 0).
            return logits.masked_fill(obs["action_mask"] == 0, torch.finfo(logits.dtype).min), summary

        def _forward(self, batch: dict, **kwargs) -> dict:
            return {Columns.ACTION_DIST_INPUTS: self._logits_and_summary(batch)[0]}

        def _forward_train(self, batch: dict, **kwargs) -> dict:
            logits, summary = self._logits_and_summary(batch)
            # The embeddings are what the loss hands compute_values: the value needs no second pass.
            return {Columns.ACTION_DIST_INPUTS: logits, Columns.EMBEDDINGS: summary}

        def compute_values(self, batch: dict, embeddings: torch.Tensor | None = None) -> torch.Tensor:
            if embeddings is None:
                embeddings = self._logits_and_summary(batch)[1]
            return self.value_head(embeddings).squeeze(-1)

    class InvalidActionCounter(RLlibCallback):
        """Counts, in each EnvRunner, the environment steps and the invalid actions among them, and
        records every finished episode's return, length, solved flag and final score."""

        def on_episode_step(self, *, episode, metrics_logger, **kwargs) -> None:
            invalid = bool(episode.get_infos(-1).get("invalid_action", False))
            metrics_logger.log_value(STEPS_CHECKED, 1, reduce="lifetime_sum")
            metrics_logger.log_value(INVALID_ACTIONS, int(invalid), reduce="lifetime_sum")

        def on_episode_end(self, *, episode, prev_episode_chunks=None, metrics_logger, **kwargs) -> None:
            chunks = [episode, *(prev_episode_chunks or [])]
            info = episode.get_infos(-1)
            record = (
                sum(c.get_return() for c in chunks),
                sum(len(c) for c in chunks),
                bool(info["solved"]),
                float(info["score"]),
            )
            metrics_logger.log_value(EPISODES, record, reduce="item_series")


def build_config(args: Args, env_kwargs: dict, spelling: list[str] | None = None) -> PPOConfig:
    """RLlib's PPO configuration for these Args (the env registered under :data:`ENV_NAME`; with the
    reference hidden, ``spelling``: its vocabulary's words, for the network)."""
    return (
        PPOConfig()
        .environment(ENV_NAME, env_config=env_config(args, env_kwargs))
        .env_runners(
            num_env_runners=args.num_env_runners,
            num_envs_per_env_runner=args.num_envs_per_env_runner,
            rollout_fragment_length="auto",
        )
        .learners(num_learners=args.num_learners, num_gpus_per_learner=int(args.device.startswith("cuda")))
        .training(
            lr=args.lr,
            gamma=args.gamma,
            lambda_=args.gae_lambda,
            clip_param=args.clip_param,
            entropy_coeff=args.entropy_coeff,
            vf_loss_coeff=args.vf_loss_coeff,
            train_batch_size_per_learner=args.train_batch_size,
            minibatch_size=args.minibatch_size,
            num_epochs=args.num_epochs,
        )
        .rl_module(
            rl_module_spec=RLModuleSpec(
                module_class=EditPPOModule, model_config={**network_kwargs(args), "spelling": spelling}
            )
        )
        .callbacks(InvalidActionCounter)
        .debugging(seed=args.seed, log_level="ERROR")
    )


def start_ray(args: Args) -> bool:
    """Connect to the cluster at ``args.ray_address``, or start a local Ray instance with a CPU for
    each env runner and each learner process, and one for this process; True when this call started
    or joined Ray (and so :func:`train` shuts it down), False when Ray was already running here."""
    if ray.is_initialized():
        return False
    if args.ray_address is None:
        cpus = args.num_env_runners + args.num_learners + 1
        ray.init(address="local", num_cpus=cpus, include_dashboard=False, logging_level=logging.ERROR)
    else:
        ray.init(address=args.ray_address, logging_level=logging.ERROR)
    return True


def learner_network(algo: Any, args: Args, env: gym.Env) -> EditNetwork:
    """A copy of the learner's current policy network, on ``args.device``."""
    weights = algo.learner_group.get_weights([DEFAULT_MODULE_ID])[DEFAULT_MODULE_ID]
    prefix = "network."
    state = {k.removeprefix(prefix): torch.as_tensor(v) for k, v in weights.items() if k.startswith(prefix)}
    network = build_network(env, args)
    network.load_state_dict(state)
    return network.to(args.device)


def train(
    args: Args, env_kwargs: dict, out_dir: Path, progress: bool = True, checkpoints: Checkpoints | None = None
) -> Agent:
    Agent.validate(args, env_kwargs)
    out_dir = Path(out_dir)
    torch.manual_seed(args.seed)
    env = make_env(env_kwargs)  # checks the env kwargs before Ray starts
    spelling = None if env.unwrapped.observe_reference else env.unwrapped.vocabulary.itos
    started = start_ray(args)
    try:
        register_env(ENV_NAME, make_training_env)
        algo = build_config(args, env_kwargs, spelling).build_algo()
        try:
            agent, stats = run(algo, args, env_kwargs, out_dir, progress, checkpoints, env)
        finally:
            algo.stop()
    finally:
        if started:
            ray.shutdown()
    write_json(out_dir / TRAINING_STATS, stats)
    agent.save(out_dir)
    return agent


def run(
    algo: Any,
    args: Args,
    env_kwargs: dict,
    out_dir: Path,
    progress: bool,
    checkpoints: Checkpoints | None,
    env: gym.Env,
) -> tuple[Agent, dict[str, Any]]:
    """PPO iterations until ``args.steps`` env steps, logged; the agent and the run's statistics
    (env steps, steps the counter saw, invalid actions among them, time)."""

    def agent_now() -> Agent:
        return Agent(learner_network(algo, args, env), args, env_kwargs)

    step, runners, start_time = 0, {}, time.time()
    config = run_config(NAME, args, env_kwargs)
    with RunLogger(out_dir, args.steps, config, progress) as logger:
        while step < args.steps:
            runners = algo.train()[ENV_RUNNER_RESULTS]
            now = int(runners[NUM_ENV_STEPS_SAMPLED_LIFETIME])
            for episode_return, length, solved, score in _items(runners.get(EPISODES)):
                logger.episode(now, episode_return, length, solved, score)
            logger.advance(now - step)
            step = now
            if checkpoints is not None:
                checkpoints.reached(step, agent_now)
    seconds = time.time() - start_time
    stats = {
        "env_steps": step,
        "steps_checked": int(runners.get(STEPS_CHECKED, 0)),
        "invalid_actions": int(runners.get(INVALID_ACTIONS, 0)),
        "seconds": round(seconds, 3),
        "env_steps_per_second": round(step / seconds, 1),
        "num_env_runners": args.num_env_runners,
    }
    return agent_now(), stats


def _items(series: Any) -> list:
    """The items of an ``item_series`` metric (RLlib reports NaN when there are none)."""
    return series if isinstance(series, list) else []
