"""Double DQN with action masking and a structured Q-network (:mod:`agents.networks`).

Replay buffer, target network (Polyak or hard updates), Double DQN targets, Huber loss, a linear
epsilon schedule and gradient clipping. Masks are used both when acting and in the bootstrap max:
the buffer stores the mask of every next state, computed from the observation itself
(:func:`agents.common.observation_masks`), which also covers the final observation of a
vector env that has already reset. Experience comes from ``num_envs`` environments stepped
together, so one forward pass acts for all of them.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F

from agents.common import ENV_ID, RunLogger, linear_schedule, make_env, observation_masks
from agents.networks import QNetwork

CHECKPOINT = "model.pt"


@dataclass
class Args:
    steps: int = 20_000
    """environment steps, summed over the environments"""
    seed: int = 0
    num_envs: int = 8
    train_episode_steps: int = 10
    """time limit of training episodes: the oracle needs a few edits, and long exploratory
    episodes fill the buffer with texts far from any reference (evaluation keeps the env's limit)"""
    encoder: str = "gru"
    dim: int = 64
    layers: int = 1
    heads: int = 4
    lr: float = 1e-3
    gamma: float = 0.9
    buffer_size: int = 50_000
    batch_size: int = 64
    learning_starts: int = 2_000
    updates_per_step: int = 2
    """gradient steps per step of all the environments"""
    tau: float = 0.01
    """Polyak factor of the target network update after each gradient step (1: copy)"""
    start_epsilon: float = 1.0
    end_epsilon: float = 0.05
    exploration_fraction: float = 0.4
    max_grad_norm: float = 10.0
    device: str = "cpu"


class ReplayBuffer:
    """A ring buffer of transitions; observations are dicts of int arrays."""

    def __init__(self, size: int, observation_space: gym.spaces.Dict, num_actions: int):
        self.size, self.pos, self.full = size, 0, False
        self.obs = {k: np.zeros((size, *s.shape), np.int64) for k, s in observation_space.spaces.items()}
        self.next_obs = {k: np.zeros_like(v) for k, v in self.obs.items()}
        self.next_masks = np.zeros((size, num_actions), bool)
        self.actions = np.zeros(size, np.int64)
        self.rewards = np.zeros(size, np.float32)
        self.terminated = np.zeros(size, np.float32)

    def add(self, obs: dict, action: int, reward: float, next_obs: dict, next_mask: np.ndarray, terminated: bool) -> None:
        for k in self.obs:
            self.obs[k][self.pos], self.next_obs[k][self.pos] = obs[k], next_obs[k]
        self.actions[self.pos], self.rewards[self.pos], self.terminated[self.pos] = action, reward, terminated
        self.next_masks[self.pos] = next_mask
        self.pos = (self.pos + 1) % self.size
        self.full = self.full or self.pos == 0

    def sample(self, batch_size: int, rng: np.random.Generator, device: torch.device) -> tuple:
        idx = rng.integers(self.size if self.full else self.pos, size=batch_size)

        def tensor(x: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(x[idx], device=device)

        return ({k: tensor(v) for k, v in self.obs.items()}, tensor(self.actions), tensor(self.rewards),
                {k: tensor(v) for k, v in self.next_obs.items()}, tensor(self.next_masks), tensor(self.terminated))


def build_network(env: gym.Env, args: Args) -> QNetwork:
    base = env.unwrapped
    return QNetwork(base.max_length, base.num_candidates, args.encoder, args.dim, args.layers, args.heads)


def to_tensors(obs: dict[str, np.ndarray], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: torch.as_tensor(np.asarray(v), device=device) for k, v in obs.items()}


def masked_argmax(q: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return q.masked_fill(~mask, -torch.inf).argmax(dim=1)


class Agent:
    """A Q-network as a greedy policy (``agent(env, obs, info) -> action``) on one environment."""

    def __init__(self, network: QNetwork, args: Args, env_kwargs: dict):
        self.network, self.args, self.env_kwargs = network.eval(), args, env_kwargs
        self.device = next(network.parameters()).device

    @torch.no_grad()
    def __call__(self, env: gym.Env, obs: dict, info: dict) -> int:
        batch = {k: np.asarray(v)[None] for k, v in obs.items()}
        mask = torch.as_tensor(observation_masks(batch, env.unwrapped.codec), device=self.device)
        return int(masked_argmax(self.network(to_tensors(batch, self.device)), mask)[0])

    def save(self, out_dir: Path) -> Path:
        path = Path(out_dir) / CHECKPOINT
        torch.save({"algo": "dqn", "args": asdict(self.args), "env_kwargs": self.env_kwargs,
                    "state_dict": self.network.state_dict()}, path)
        return path

    @classmethod
    def load(cls, out_dir: Path, device: str | None = None) -> Agent:
        data = torch.load(Path(out_dir) / CHECKPOINT, map_location=device or "cpu", weights_only=True)
        args = Args(**{**data["args"], **({"device": device} if device else {})})
        network = build_network(make_env(data["env_kwargs"]), args)
        network.load_state_dict(data["state_dict"])
        return cls(network.to(args.device), args, data["env_kwargs"])


def train(args: Args, env_kwargs: dict, out_dir: Path, progress: bool = True) -> Agent:
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    device = torch.device(args.device)
    envs = gym.make_vec(ENV_ID, num_envs=args.num_envs, vectorization_mode="sync",
                        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP},
                        **{**env_kwargs, "max_episode_steps": args.train_episode_steps})
    codec = envs.envs[0].unwrapped.codec
    q_network = build_network(envs.envs[0], args).to(device)
    target_network = build_network(envs.envs[0], args).to(device)
    target_network.load_state_dict(q_network.state_dict())
    optimizer = torch.optim.Adam(q_network.parameters(), lr=args.lr)
    buffer = ReplayBuffer(args.buffer_size, envs.single_observation_space, codec.n)
    logger = RunLogger(Path(out_dir), args.steps, {"algo": "dqn", "args": asdict(args), "env_kwargs": env_kwargs}, progress)

    obs, _ = envs.reset(seed=args.seed)
    masks = observation_masks(obs, codec)
    returns, lengths = np.zeros(args.num_envs), np.zeros(args.num_envs, int)
    step, start_time = 0, time.time()
    while step < args.steps:
        epsilon = linear_schedule(args.start_epsilon, args.end_epsilon, args.exploration_fraction * args.steps, step)
        with torch.no_grad():
            greedy = masked_argmax(q_network(to_tensors(obs, device)), torch.as_tensor(masks, device=device)).cpu().numpy()
        explore = rng.random(args.num_envs) < epsilon
        actions = np.array([rng.choice(np.flatnonzero(m)) if e else g for m, e, g in zip(masks, explore, greedy)])
        next_obs, rewards, terminated, truncated, infos = envs.step(actions)

        # With same-step autoreset, next_obs of a finished env is already the next episode's start:
        # the transition must end in the final observation, whose mask bootstraps a truncation.
        final_obs = {k: v.copy() for k, v in next_obs.items()}
        for i in np.flatnonzero(terminated | truncated):
            for k in final_obs:
                final_obs[k][i] = infos["final_obs"][i][k]
        final_masks = observation_masks(final_obs, codec)
        for i in range(args.num_envs):
            buffer.add({k: v[i] for k, v in obs.items()}, actions[i], rewards[i],
                       {k: v[i] for k, v in final_obs.items()}, final_masks[i], terminated[i])

        returns, lengths = returns + rewards, lengths + 1
        step += args.num_envs
        for i in np.flatnonzero(terminated | truncated):
            final = infos["final_info"]
            logger.episode(step, returns[i], lengths[i], bool(final["solved"][i]), float(final["score"][i]))
            returns[i], lengths[i] = 0.0, 0
        obs, masks = next_obs, observation_masks(next_obs, codec)

        if step >= args.learning_starts:
            for _ in range(args.updates_per_step):
                b_obs, b_actions, b_rewards, b_next, b_next_masks, b_terminated = buffer.sample(args.batch_size, rng, device)
                with torch.no_grad():
                    # Double DQN: the online network picks the next action among the valid ones, the target network values it.
                    next_actions = masked_argmax(q_network(b_next), b_next_masks)
                    next_q = target_network(b_next).gather(1, next_actions[:, None]).squeeze(1)
                    target = b_rewards + args.gamma * (1.0 - b_terminated) * next_q
                q = q_network(b_obs).gather(1, b_actions[:, None]).squeeze(1)
                loss = F.smooth_l1_loss(q, target)
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(q_network.parameters(), args.max_grad_norm)
                optimizer.step()
                with torch.no_grad():
                    for p, tp in zip(q_network.parameters(), target_network.parameters()):
                        tp.lerp_(p, args.tau)
            if step % (100 * args.num_envs) < args.num_envs:
                logger.scalars(step, {"train/loss": loss.item(), "train/q": q.mean().item(), "train/epsilon": epsilon,
                                      "train/steps_per_second": step / (time.time() - start_time)})
        logger.advance(args.num_envs)
    logger.close()
    envs.close()
    agent = Agent(q_network, args, env_kwargs)
    agent.save(Path(out_dir))
    return agent
