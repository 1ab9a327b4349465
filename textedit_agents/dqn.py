"""Double DQN with n-step returns and action masking, on the shared network (:mod:`textedit_agents.networks`).

Experience comes from ``num_envs`` environments stepped together, so one forward pass acts for
all of them. Epsilon-greedy exploration draws an operation (stop, delete, insert, replace)
among those with a valid action, then one of its valid actions: drawn uniformly over all valid
actions, a stop would be about one in a thousand and its value would be learned from almost no
samples. A share of the training episodes starts at the reference, the one state where stopping
is best and that an episode otherwise never shows (it ends when its text reaches the reference).

Each transition is an n-step return ``r_t + gamma r_{t+1} + ... + gamma^{m-1} r_{t+m-1}`` that
bootstraps from the state m steps later (m = n, or fewer at the end of an episode) with
``gamma^m``, unless the episode terminated there. One gradient step every ``train_frequency``
environment steps on a replayed batch: Huber loss against the Double DQN target (the online
network picks the next action among the valid ones, a Polyak-averaged target network values
it), Adam, gradient clipping. Masks are recomputed from the stored observations
(:func:`textedit_agents.networks.action_mask`), which also covers the final observation of a vector env
that has already reset. The network's parameter-free features of a batch are computed once and
feed both networks.

Why these defaults (``benchmarks/results/stopping.md``: 15 cells of presets, a user's file and
three rewards, 2 seeds, with the scale and cost below): a discount of 0.5 because every edit is
paid at once, and the further a step looks ahead the more an early partial gain pays for a
longer path (with chrF and ROUGE-L, inserting the right word beside a wrong one earns about half
of what replacing it does, the later delete the rest; on easy with chrF it took 2.81, 1.49 and
1.29 times the oracle's steps at 0.7, 0.5 and 0.2), while the shorter it looks the less a step
that only prepares a gain is worth (at 0.2 it stopped short: mean solve rate 0.910 against 0.952,
english-long with ROUGE-L 0.55 against 0.93 on seed 1, for 1.12 times the oracle's steps against
1.21; a text left wrong is worse than a step too many). One update per 8 environment steps of
a 64-transition batch, which trains faster per environment step than SB3's DQN at equal or better
sample efficiency (``benchmarks/results/dqn_study.md``, before the scale and the cost).

What it learns from is not the env's reward ``r`` but ``reward_scale * (r - step_cost)`` for an
edit and ``reward_scale * r`` for stop (the env's rewards and the reported returns are unchanged;
``benchmarks/results/stopping.md``, seed 0). The step cost: without one every path to the
same text earns the same, so a detour or a missed stop costs nothing the network can tell from
its own error; started at the reference it stopped at once in 0.00 of the episodes of medium with
chrF and 0.10 with ROUGE-L, and took 2.48 and 1.71 times the oracle's steps. Why 0.002 (it was 0.01
before the gains below): built on the gains, stopping is exact at any cost, and a cost only leaves
undone the last edits that gain less than it; at 0.01, chrF on the documentation file solved 0.945
and 0.940 and english-long 0.955, at 0.002 1.000 and 0.995 (2 seeds each). The scale of 20: an
edit's reward is then about 1, the size the Huber loss and Adam's steps are made for; at the
metric's own scale a gain of a few hundredths (chrF on long sentences) is learned no better than
to a few hundredths, and with the cost the agent stopped short (english-long chrF solved 0.25,
docs-file chrF 0.78; with the scale 0.985 and 0.965).

With the reference observed the network also reads the *action gains* (``read_gains``): each
action's one-step reward and how far the score can still rise, both functions of the observation
(:class:`textedit_env.wrappers.ActionGains`), and a Q-value is built on them
(:class:`textedit_agents.networks.GainValues`): what the edit pays less its cost, plus the
discounted value of the text it makes, which the network places between what stopping there pays and
the headroom left. An edit that gains more than its cost is then always worth more than stopping,
and at the metric's top score no edit is. Why: with chrF it took 1.49 and 1.73 times the oracle's
steps on easy (seeds 0 and 1) and half its solved episodes held an edit later undone, most often a
replace that doubled the word beside it ("the in man" -> "the the man" -> "the man"). The cause was
not the reward but what the network can see: chrF pays for character n-grams across word boundaries,
so what a delete earns turns on spelling and place (deleting a surplus word gains 0.32 inside "the
red cat holds", 0.02 at the end of a sentence), which the word-level alignment features cannot tell
apart, and the oracle's deletes got about one value each, below the replace that starts a detour
(``benchmarks/results/delete_values.md``, easy, seed 1: Q-values of mean 1.10 and spread 0.55 for
targets of mean 2.76 and spread 2.00, correlation 0.25; with BLEU 0.74; built on the gains, 0.98 and
0.96). Twice the updates per step did little (1.36, 1.49). ROUGE likewise cannot see case or
punctuation: given the gains alone, the network took "the" -> "The" at the reference for a state
with something left to fix and stopped at once in 0.76 of the episodes of english (seed 1); bounded
by the headroom, in all of them. Over the 30 cells and seeds of ``benchmarks/results/stopping.md``
the DQN built on the gains stops at once in every episode started at the reference and takes 1.008
times the oracle's steps (at most 1.023; before, 1.214 and 1.757); with ROUGE's top score read as
solved, 28 of the 30 runs meet every target of issue 22 (12 before) at a step cost of 0.01: the two
others, chrF on the documentation file, solve 0.945 and 0.940, their last edits there gaining less
than the cost; at today's 0.002, all 30.
Each step costs one ``action_rewards()`` per environment (on english, 8,000 steps, one after the
other in one process: training took 2.0 times as long with BLEU, 4.0 times with chrF, whose action
rewards cost more), and the replay buffer holds a float per action. With the reference hidden the
gains are privileged (they read it), so they are off.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F

from textedit_agents.arguments import NetworkArgs, check_fields
from textedit_agents.env_util import make_env
from textedit_agents.logger import RunLogger
from textedit_agents.networks import EditNetwork, observation_keys
from textedit_agents.policy import NetworkAgent, build_network, greedy_actions, masked_argmax, to_tensors
from textedit_agents.runs import Durability, EpisodeRecorder, generator_from, generator_state, replay, resume_or_start
from textedit_agents.storage import run_config
from textedit_agents.training import Checkpoints, check_finite, linear_schedule
from textedit_env import ENV_ID
from textedit_env.actions import STOP_ACTION, ActionCodec
from textedit_env.wrappers import ActionGains, StartAtReference

NAME = "dqn"


@dataclass
class Args(NetworkArgs):
    steps: int = 20_000
    """environment steps, summed over the environments"""
    seed: int = 0
    """seeds the network, the exploration and the environments"""
    num_envs: int = 8
    """environments stepped together (one forward pass acts for all)"""
    train_episode_steps: int = 10
    """time limit of training episodes: the oracle needs a few edits, and long exploratory
    episodes fill the buffer with texts far from any reference (evaluation keeps the env's limit)"""
    reference_starts: float = 0.1
    """share of training episodes that start at their reference, where the best action is to stop"""
    lr: float = 1e-3
    """Adam learning rate"""
    end_lr: float | None = None
    """learning rate at the end of training, reached linearly; None: constant"""
    gamma: float = 0.5
    """discount factor"""
    step_cost: float = 0.002
    """subtracted from the reward of every action but stop, in what DQN learns from (the env's
    rewards and returns are unchanged): without it every path to the same text earns the same, so
    a detour or a missed stop costs nothing the network can tell from its own error; small, because
    an edit that gains less than it is left undone"""
    reward_scale: float = 20.0
    """multiplies the rewards (less the step cost) in what DQN learns from, so that an edit's is
    about 1: Adam's steps have a set size, and values of a few hundredths are learned no better
    than to a few hundredths"""
    n_step: int = 1
    """steps of the returns (1: one-step Q-learning targets)"""
    buffer_size: int = 50_000
    """replay buffer capacity (transitions)"""
    batch_size: int = 64
    """replayed transitions per gradient step"""
    learning_starts: int = 1_000
    """environment steps before the first gradient step"""
    train_frequency: int = 8
    """environment steps per gradient step"""
    tau: float = 0.05
    """Polyak factor of the target network update after each gradient step (1: copy)"""
    start_epsilon: float = 1.0
    """exploration rate at the start"""
    end_epsilon: float = 0.05
    """exploration rate after exploration_fraction of the steps"""
    exploration_fraction: float = 0.4
    """share of the steps over which epsilon decays linearly"""
    max_grad_norm: float = 10.0
    """gradient clipping norm"""
    read_gains: bool | None = None
    """whether Q-values are built on each action's one-step reward and the score's headroom (the
    observation's ``gains`` and ``headroom``, :class:`textedit_env.wrappers.ActionGains`;
    :class:`textedit_agents.networks.GainValues`), the network learning only the value after an edit;
    None: where they are functions of the observation and a step pays its gain (the reference
    observed, ``reward_timing="step"``); resolved when training starts"""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fields(
            self,
            positive=(
                "steps",
                "num_envs",
                "train_episode_steps",
                "lr",
                "reward_scale",
                "n_step",
                "buffer_size",
                "batch_size",
                "train_frequency",
                "max_grad_norm",
            ),
            non_negative=("seed", "learning_starts", "step_cost"),
            unit_interval=("reference_starts", "gamma", "tau", "start_epsilon", "end_epsilon", "exploration_fraction"),
            at_most={"num_envs": 1024, "batch_size": self.buffer_size},
        )
        if self.end_lr is not None:
            check_fields(self, non_negative=("end_lr",))


OBS = ("obs", "next_obs")  # a replay buffer's two observation arrays


class ReplayBuffer:
    """A ring buffer of n-step transitions; observations keep only what the network reads."""

    def __init__(self, size: int, observation_space: gym.spaces.Dict):
        self.size, self.pos, self.full = size, 0, False
        self.obs = {
            k: np.zeros((size, *observation_space[k].shape), _dtype(observation_space[k]))
            for k in observation_keys(observation_space)
        }
        self.next_obs = {k: np.zeros_like(v) for k, v in self.obs.items()}
        self.actions = np.zeros(size, np.int64)
        self.returns = np.zeros(size, np.float32)
        self.discounts = np.zeros(size, np.float32)
        """gamma^m of the bootstrap, 0 when the episode terminated within the m steps"""

    def add(self, obs: dict, action: int, n_step_return: float, next_obs: dict, discount: float) -> None:
        for k in self.obs:
            self.obs[k][self.pos], self.next_obs[k][self.pos] = obs[k], next_obs[k]
        self.actions[self.pos], self.returns[self.pos], self.discounts[self.pos] = action, n_step_return, discount
        self.pos = (self.pos + 1) % self.size
        self.full = self.full or self.pos == 0

    def __len__(self) -> int:
        return self.size if self.full else self.pos

    def state_dict(self) -> dict:
        tensors = {
            name: {k: torch.from_numpy(v.copy()) for k, v in arrays.items()}
            for name, arrays in (("obs", self.obs), ("next_obs", self.next_obs))
        }
        arrays = {k: torch.from_numpy(getattr(self, k).copy()) for k in ("actions", "returns", "discounts")}
        return {**tensors, **arrays, "pos": self.pos, "full": self.full}

    def load_state_dict(self, data: dict) -> None:
        for name in OBS:
            for k, v in data[name].items():
                getattr(self, name)[k][...] = v.numpy()
        for k in ("actions", "returns", "discounts"):
            getattr(self, k)[...] = data[k].numpy()
        self.pos, self.full = data["pos"], data["full"]

    def sample(self, batch_size: int, rng: np.random.Generator, device: torch.device) -> tuple:
        idx = rng.integers(len(self), size=batch_size)

        def batch(arrays: dict) -> dict[str, torch.Tensor]:
            return {k: torch.as_tensor(v[idx], device=device) for k, v in arrays.items()}

        def tensor(x: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(x[idx], device=device)

        return batch(self.obs), tensor(self.actions), tensor(self.returns), batch(self.next_obs), tensor(self.discounts)


def _dtype(space: gym.Space) -> type:
    """The smallest integer type that holds every value of an integer space; half precision for the
    action gains (a float per action: 0.5 GB at 2,519 actions and 50,000 transitions; a gain is
    kept to 3 significant digits, an error of at most 0.003 in a Q-value at the default scale)."""
    if np.issubdtype(space.dtype, np.floating):
        return np.float16
    high = int(np.max(space.nvec) - 1) if isinstance(space, gym.spaces.MultiDiscrete) else int(np.max(space.high))
    return np.int16 if high < 2**15 else np.int32 if high < 2**31 else np.int64


class NStepWriter:
    """Turns each environment's stream of one-step transitions into n-step transitions."""

    def __init__(self, buffer: ReplayBuffer, num_envs: int, n: int, gamma: float):
        self.buffer, self.n, self.gamma = buffer, n, gamma
        self.pending: list[deque] = [deque() for _ in range(num_envs)]

    def add(
        self, env: int, obs: dict, action: int, reward: float, next_obs: dict, terminated: bool, done: bool
    ) -> None:
        pending = self.pending[env]
        pending.append((obs, action, reward))
        if len(pending) == self.n or done:
            # Emit the oldest transition, or all of them when the episode has ended.
            while pending:
                self._write(pending, next_obs, terminated)
                pending.popleft()
                if not done:
                    break

    def state_dict(self) -> list[list[tuple]]:
        """The transitions waiting for their n-step return, per environment, as plain data."""
        return [
            [({k: torch.from_numpy(np.asarray(v).copy()) for k, v in obs.items()}, int(a), float(r)) for obs, a, r in p]
            for p in self.pending
        ]

    def load_state_dict(self, data: list[list[tuple]]) -> None:
        self.pending = [deque(({k: v.numpy() for k, v in obs.items()}, a, r) for obs, a, r in p) for p in data]

    def _write(self, pending: deque, next_obs: dict, terminated: bool) -> None:
        obs, action, _ = pending[0]
        total = sum(reward * self.gamma**k for k, (_, _, reward) in enumerate(pending))
        self.buffer.add(obs, action, total, next_obs, 0.0 if terminated else self.gamma ** len(pending))


def explore(mask: np.ndarray, codec: ActionCodec, rng: np.random.Generator) -> int:
    """A random valid action: an operation (stop, delete, insert, replace) drawn uniformly among those
    with a valid action, then one of its valid actions."""
    choices = [ids for start, end in codec.op_ranges.values() if len(ids := np.flatnonzero(mask[start:end]) + start)]
    ids = choices[rng.integers(len(choices))]
    return int(ids[rng.integers(len(ids))])


class Agent(NetworkAgent):
    """The Q-network as a greedy policy (``agent(env, obs, info) -> action``) on one environment."""

    NAME, ARGS, RESUMABLE = NAME, Args, True
    ADDED_ARGS = {"step_cost": 0.0, "reward_scale": 1.0, "read_gains": False}


def gains_observed(env_kwargs: dict) -> bool:
    """Whether the action gains are a function of the observation and what a step pays: the default
    of ``Args.read_gains``."""
    base = make_env(env_kwargs).unwrapped
    return base.observe_reference and base.reward_timing == "step"


@dataclass
class TrainingState:
    """Everything the training loop needs to go on: saved by :class:`textedit_agents.runs.Durability` (as
    :func:`state_dict`) and resumed from (:func:`restore`), so an interrupted run ends with the same
    model as an uninterrupted one."""

    args: Args
    env_kwargs: dict
    q_network: EditNetwork
    target_network: EditNetwork
    optimizer: torch.optim.Optimizer
    buffer: ReplayBuffer
    writer: NStepWriter
    rng: np.random.Generator
    envs: list[EpisodeRecorder]
    """the vector env's environments, each recording its episode (a vector env holds closures)"""
    obs: dict[str, np.ndarray]
    returns: np.ndarray
    lengths: np.ndarray
    step: int = 0
    next_update: int = 0
    loss: float = float("nan")
    q: float = float("nan")


def build(args: Args, env_kwargs: dict) -> TrainingState:
    """A run's parts before anything happens: fresh networks and optimizer, an empty buffer, the
    environments built (not reset)."""
    if args.read_gains is None:
        args = replace(args, read_gains=gains_observed(env_kwargs))
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    envs = gym.make_vec(
        ENV_ID,
        num_envs=args.num_envs,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP},
        wrappers=[
            lambda env: StartAtReference(env, args.reference_starts),
            *([ActionGains] if args.read_gains else []),
            EpisodeRecorder,  # outermost: what resuming replays and reads
        ],
        **{**env_kwargs, "max_episode_steps": args.train_episode_steps},
    )
    q_network = build_network(envs.envs[0], args).to(device)
    target_network = build_network(envs.envs[0], args).to(device)
    target_network.load_state_dict(q_network.state_dict())
    target_network.requires_grad_(False)
    buffer = ReplayBuffer(args.buffer_size, envs.single_observation_space)
    return TrainingState(
        args,
        env_kwargs,
        q_network,
        target_network,
        optimizer=torch.optim.Adam(q_network.parameters(), lr=args.lr, foreach=True),
        buffer=buffer,
        writer=NStepWriter(buffer, args.num_envs, args.n_step, args.gamma),
        rng=np.random.default_rng(args.seed),
        envs=envs.envs,
        obs={},
        returns=np.zeros(args.num_envs),
        lengths=np.zeros(args.num_envs, int),
        next_update=args.learning_starts,
    )


def start(args: Args, env_kwargs: dict) -> TrainingState:
    """A new run's state: :func:`build`, the environments reset with the seed."""
    state = build(args, env_kwargs)
    state.obs, _ = vector_env(state.envs).reset(seed=args.seed)
    return state


def state_dict(state: TrainingState) -> dict:
    """The training state as plain data: tensors, numbers, strings, lists and dicts."""
    return {
        "args": asdict(state.args),
        "env_kwargs": state.env_kwargs,
        "q_network": state.q_network.state_dict(),
        "target_network": state.target_network.state_dict(),
        "optimizer": state.optimizer.state_dict(),
        "buffer": state.buffer.state_dict(),
        "writer": state.writer.state_dict(),
        "rng": generator_state(state.rng),
        "envs": [env.record for env in state.envs],
        "obs": {k: torch.from_numpy(np.asarray(v).copy()) for k, v in state.obs.items()},
        "returns": torch.from_numpy(state.returns.copy()),
        "lengths": torch.from_numpy(state.lengths.copy()),
        "step": state.step,
        "next_update": state.next_update,
        "loss": state.loss,
        "q": state.q,
    }


def restore(data: dict, steps: int | None = None) -> TrainingState:
    """The training state of :func:`state_dict`'s data, its environments replayed to where they were;
    ``steps``: the run's new total (None: its own)."""
    args = Agent.saved_args(data["args"], **({"steps": steps} if steps is not None else {}))
    state = build(args, data["env_kwargs"])
    state.q_network.load_state_dict(data["q_network"])
    state.target_network.load_state_dict(data["target_network"])
    state.optimizer.load_state_dict(data["optimizer"])
    state.buffer.load_state_dict(data["buffer"])
    state.writer.load_state_dict(data["writer"])
    state.rng = generator_from(data["rng"])
    for env, record in zip(state.envs, data["envs"]):
        replay(env, record)
    state.obs = {k: v.numpy() for k, v in data["obs"].items()}
    state.returns, state.lengths = data["returns"].numpy(), data["lengths"].numpy()
    state.step, state.next_update, state.loss, state.q = data["step"], data["next_update"], data["loss"], data["q"]
    return state


def vector_env(envs: list[gym.Env]) -> gym.vector.SyncVectorEnv:
    return gym.vector.SyncVectorEnv(
        [lambda env=env: env for env in envs], autoreset_mode=gym.vector.AutoresetMode.SAME_STEP
    )


def train(
    args: Args,
    env_kwargs: dict,
    out_dir: Path,
    progress: bool = True,
    checkpoints: Checkpoints | None = None,
    durability: Durability | None = None,
) -> Agent:
    """Train from scratch, or with ``durability.resume`` from its saved state (``args.steps`` is then
    the run's new total; every other argument is the saved run's)."""
    state = resume_or_start(durability, lambda: start(args, env_kwargs), restore)
    args, env_kwargs, device = state.args, state.env_kwargs, torch.device(state.args.device)
    envs, codec = vector_env(state.envs), state.envs[0].unwrapped.codec
    q_network, optimizer, rng = state.q_network, state.optimizer, state.rng
    start_time, start_step = time.time(), state.step
    config = run_config(NAME, args, env_kwargs)
    with RunLogger(
        Path(out_dir), args.steps, config, progress, start_step=state.step, learning_starts=args.learning_starts
    ) as logger:
        while state.step < args.steps:
            epsilon = linear_schedule(
                args.start_epsilon, args.end_epsilon, args.exploration_fraction * args.steps, state.step
            )
            with torch.no_grad():
                actions, masks = greedy_actions(q_network, to_tensors(state.obs, device, q_network.keys))
                actions, masks = actions.cpu().numpy(), masks.cpu().numpy()
            for i in np.flatnonzero(rng.random(args.num_envs) < epsilon):
                actions[i] = explore(masks[i], codec, rng)
            next_obs, rewards, terminated, truncated, infos = envs.step(actions)

            # With same-step autoreset, next_obs of a finished env is already the next episode's
            # start: its transitions end in the final observation, which bootstraps a truncation.
            done = terminated | truncated
            costs = args.step_cost * (actions != STOP_ACTION)
            for i in range(args.num_envs):
                final = infos["final_obs"][i] if done[i] else {k: v[i] for k, v in next_obs.items()}
                state.writer.add(
                    i,
                    {k: state.obs[k][i] for k in q_network.keys},
                    actions[i],
                    args.reward_scale * (rewards[i] - costs[i]),
                    final,
                    terminated[i],
                    done[i],
                )

            state.returns, state.lengths = state.returns + rewards, state.lengths + 1
            state.step += args.num_envs
            for i in np.flatnonzero(done):
                final_info = infos["final_info"]
                logger.episode(
                    state.step,
                    state.returns[i],
                    state.lengths[i],
                    bool(final_info["solved"][i]),
                    float(final_info["score"][i]),
                )
                state.returns[i], state.lengths[i] = 0.0, 0
            state.obs = next_obs

            while state.step >= state.next_update and len(state.buffer) >= args.batch_size:
                state.next_update += args.train_frequency
                if args.end_lr is not None:
                    optimizer.param_groups[0]["lr"] = linear_schedule(args.lr, args.end_lr, args.steps, state.step)
                state.loss, state.q = update(
                    q_network, state.target_network, optimizer, state.buffer, args, rng, device
                )
                check_finite(state.loss, state.step, "the loss")
            if checkpoints is not None:
                checkpoints.reached(state.step, lambda: Agent(q_network, args, env_kwargs))
                q_network.train()
            if state.step >= args.learning_starts and state.step % (100 * args.num_envs) < args.num_envs:
                logger.scalars(
                    state.step,
                    {
                        "train/loss": state.loss,
                        "train/q": state.q,
                        "train/epsilon": epsilon,
                        "train/steps_per_second": (state.step - start_step) / (time.time() - start_time),
                    },
                )
            logger.advance(args.num_envs)
            if durability is not None:  # saves at the interval; on SIGINT/SIGTERM saves the state and model, raises
                durability.reached(state.step, lambda: state_dict(state), lambda: Agent(q_network, args, env_kwargs))
    agent = Agent(q_network, args, env_kwargs)
    agent.save(Path(out_dir))
    if durability is not None:
        durability.finished()
    return agent


def update(
    q_network: EditNetwork,
    target_network: EditNetwork,
    optimizer: torch.optim.Optimizer,
    buffer: ReplayBuffer,
    args: Args,
    rng: np.random.Generator,
    device: torch.device,
) -> tuple[float, float]:
    """One gradient step on a replayed batch; returns the loss and the mean Q of the batch's actions."""
    obs, actions, returns, next_obs, discounts = buffer.sample(args.batch_size, rng, device)
    with torch.no_grad():
        both = q_network.features({k: torch.cat([obs[k], next_obs[k]]) for k in obs})  # one call for the two batches
        features = {k: v[: args.batch_size] for k, v in both.items()}
        next_features = {k: v[args.batch_size :] for k, v in both.items()}
        # Double DQN: the online network picks the next action among the valid ones, the target network values it.
        next_actions = masked_argmax(q_network.scores(next_features, next_obs), next_features["mask"])
        next_q = target_network.scores(next_features, next_obs).gather(1, next_actions[:, None]).squeeze(1)
        target = returns + discounts * next_q
    q = q_network.scores(features, obs).gather(1, actions[:, None]).squeeze(1)
    loss = F.smooth_l1_loss(q, target)
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(q_network.parameters(), args.max_grad_norm, foreach=True)
    optimizer.step()
    with torch.no_grad():
        for p, tp in zip(q_network.parameters(), target_network.parameters()):
            tp.lerp_(p, args.tau)
    return loss.item(), q.mean().item()
