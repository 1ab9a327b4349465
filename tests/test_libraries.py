"""Recipes for other RL libraries, each run as its users would run it (docs/libraries.md):
TorchRL with its ActionMask transform, Tianshou's DQN with masks, sb3-contrib's RecurrentPPO.

Tianshou 2.0.1 cannot be installed beside the main test environment (it pins filelock<4), so its
test is skipped where it is missing; CI runs this file a second time in an environment with it.
"""

import gymnasium as gym
import numpy as np
import pytest
import torch

from textedit_env.wrappers import FlatObservation, MaskInObservation

ENV_KWARGS = {"preset": "tiny", "max_episode_steps": 10}


def make(split: str = "train", **wrapper_kwargs) -> gym.Env:
    env = gym.make("TextEdit-v0", split=split, **ENV_KWARGS)
    return MaskInObservation(env, **wrapper_kwargs) if wrapper_kwargs else env


# ---------------------------------------------------------------- TorchRL
def torchrl_env(flatten: bool):
    """``TextEdit-v0`` in TorchRL: the mask from the observation masks the action spec; the numeric infos
    are read with their specs (strings are no tensors, so ``text`` and ``reference`` are left out)."""
    from torchrl.data import Unbounded
    from torchrl.envs import ActionMask, GymWrapper, TransformedEnv, default_info_dict_reader

    env = GymWrapper(make(layout="action_mask", flatten=flatten), categorical_action_encoding=True)
    env.set_info_dict_reader(
        default_info_dict_reader(
            ["score", "solved", "invalid_action"],
            spec={
                "score": Unbounded((), dtype=torch.float64),
                "solved": Unbounded((), dtype=torch.bool),
                "invalid_action": Unbounded((), dtype=torch.bool),
            },
        )
    )
    env = TransformedEnv(env, ActionMask())
    env.set_seed(0)
    return env


@pytest.mark.parametrize("flatten", [False, True])
def test_torchrl_masked_random_rollout_takes_only_valid_actions(flatten):
    pytest.importorskip("torchrl")
    from torchrl.envs.utils import check_env_specs

    env = torchrl_env(flatten)
    check_env_specs(env)
    rollout = env.rollout(60, break_when_any_done=False)  # random actions drawn from the masked spec
    assert rollout["action_mask"].dtype == torch.bool
    assert not rollout["next", "invalid_action"].any()
    assert rollout["next", "solved"].dtype == torch.bool and rollout["next", "score"].dtype == torch.float64
    assert rollout["action_mask"].gather(-1, rollout["action"][:, None]).all()


def test_torchrl_dqn_with_action_mask():
    pytest.importorskip("torchrl")
    from tensordict.nn import TensorDictSequential
    from torchrl.collectors import Collector
    from torchrl.data import LazyTensorStorage, ReplayBuffer
    from torchrl.modules import MLP, EGreedyModule, QValueActor
    from torchrl.objectives import DQNLoss, SoftUpdate

    torch.manual_seed(0)
    env = torchrl_env(flatten=True)
    actor = QValueActor(
        MLP(
            in_features=env.observation_spec["observations"].shape[-1],
            out_features=env.action_spec.space.n,
            num_cells=[32],
        ),
        in_keys=["observations"],
        spec=env.action_spec,
        action_mask_key="action_mask",
    )
    explore = TensorDictSequential(
        actor, EGreedyModule(env.action_spec, annealing_num_steps=200, action_mask_key="action_mask")
    )
    loss = DQNLoss(actor, action_space=env.action_spec, delay_value=True, double_dqn=True)
    loss.make_value_estimator(gamma=0.5)
    target_update, optimizer = SoftUpdate(loss, eps=0.95), torch.optim.Adam(loss.parameters(), lr=1e-3)
    buffer = ReplayBuffer(storage=LazyTensorStorage(1_000))
    before = [p.detach().clone() for p in actor.parameters()]
    frames = 0
    for batch in Collector(env, explore, frames_per_batch=50, total_frames=200, auto_register_policy_transforms=True):
        assert not batch["next", "invalid_action"].any()
        frames += batch.numel()
        buffer.extend(batch.reshape(-1))
        explore[1].step(batch.numel())
        value = loss(buffer.sample(32))["loss"]
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
        target_update.step()
    assert frames == 200 and torch.isfinite(value)
    assert any(not torch.equal(a, b) for a, b in zip(before, actor.parameters()))


# ---------------------------------------------------------------- Tianshou
def test_tianshou_dqn_with_mask():
    pytest.importorskip("tianshou")
    from tianshou.algorithm import DQN
    from tianshou.algorithm.modelfree.dqn import DiscreteQLearningPolicy
    from tianshou.algorithm.optim import AdamOptimizerFactory
    from tianshou.data import Collector, VectorReplayBuffer
    from tianshou.env import DummyVectorEnv
    from tianshou.trainer import OffPolicyTrainerParams
    from tianshou.utils.net.common import Net

    torch.manual_seed(0)
    np.random.seed(0)  # Tianshou's exploration draws from numpy's global generator

    def masked(split="train"):
        return make(split, layout="tianshou", flatten=True)

    train_envs, test_envs = DummyVectorEnv([masked] * 2), DummyVectorEnv([lambda: masked("test")])
    train_envs.seed(0)
    test_envs.seed(100)
    env = masked()
    net = Net(state_shape=env.observation_space["obs"].shape, action_shape=env.action_space.n, hidden_sizes=[32])
    policy = DiscreteQLearningPolicy(
        model=net, action_space=env.action_space, observation_space=env.observation_space, eps_training=0.5
    )
    algorithm = DQN(policy=policy, optim=AdamOptimizerFactory(lr=1e-3), gamma=0.5, target_update_freq=50)
    train_collector = Collector(algorithm, train_envs, VectorReplayBuffer(1_000, 2), exploration_noise=True)
    test_collector = Collector(algorithm, test_envs)
    result = algorithm.run_training(
        OffPolicyTrainerParams(
            training_collector=train_collector,
            test_collector=test_collector,
            max_epochs=1,
            epoch_num_steps=200,
            collection_step_num_env_steps=20,
            test_step_num_episodes=4,
            batch_size=32,
            update_step_num_gradient_steps_per_sample=0.25,
            show_progress=False,
            verbose=False,
        )
    )
    assert result.train_step == 200 and result.update_step > 0
    buffer = train_collector.buffer
    assert len(buffer) == 200
    assert not buffer.info["invalid_action"][: len(buffer)].any()  # masked greedy and masked random actions
    assert {"text", "score", "solved"} <= set(buffer.info.keys())


# ---------------------------------------------------------------- sb3-contrib RecurrentPPO
@pytest.mark.parametrize("recipe", ["dict", "flat"])
def test_recurrent_ppo_trains_and_predicts(recipe):
    from sb3_contrib import RecurrentPPO

    from textedit_agents.sb3 import CombinedExtractor

    if recipe == "dict":  # SB3's Dict extractor, with the int size that nn.LSTM needs
        env, policy, kwargs = make(), "MultiInputLstmPolicy", {"features_extractor_class": CombinedExtractor}
    else:  # one vector
        env, policy, kwargs = FlatObservation(make()), "MlpLstmPolicy", {}
    model = RecurrentPPO(policy, env, n_steps=64, batch_size=32, n_epochs=1, seed=0, policy_kwargs=kwargs)
    model.learn(128)
    obs, _ = env.reset(seed=1)
    action, state = model.predict(obs, deterministic=True)
    assert env.action_space.contains(int(action)) and state is not None
