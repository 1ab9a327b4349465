"""RLlib PPO (``textedit_agents.rllib_ppo``): masking, invalid-action counting, a 2-runner training run on Ray
whose run directory loads and evaluates, also without Ray. Needs ``ray[rllib]`` (``.ci/rllib``
installs it in its own environment); skipped where Ray is not installed."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("ray.rllib")

from ray.rllib.core.columns import Columns  # noqa: E402
from ray.rllib.env.single_agent_episode import SingleAgentEpisode  # noqa: E402
from ray.rllib.utils.metrics.metrics_logger import MetricsLogger  # noqa: E402

from textedit_agents import rllib_ppo  # noqa: E402
from textedit_agents.evaluation import evaluate_with_baselines  # noqa: E402
from textedit_agents.storage import read_manifest  # noqa: E402
from textedit_agents.training import Checkpoints  # noqa: E402

ENV_KWARGS = {"preset": "tiny"}
ENV_CONFIG = rllib_ppo.env_config(rllib_ppo.Args(), ENV_KWARGS)
ROOT = Path(__file__).resolve().parents[1]


def observation_batch(env, steps: int, seed: int) -> tuple[dict, np.ndarray]:
    """Stacked ``{"action_mask", "observations"}`` observations of a random valid walk, as the module reads them."""
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    seen = []
    for _ in range(steps):
        seen.append(obs)
        action = int(rng.choice(np.flatnonzero(obs["action_mask"][1:])) + 1)  # an edit, so episodes run on
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            obs, _ = env.reset()
    batch = {
        "action_mask": torch.as_tensor(np.stack([o["action_mask"] for o in seen])),
        "observations": {
            k: torch.as_tensor(np.stack([o["observations"][k] for o in seen])) for k in seen[0]["observations"]
        },
    }
    return batch, np.stack([o["action_mask"] for o in seen]).astype(bool)


def test_invalid_actions_get_probability_zero():
    torch.manual_seed(0)
    env = rllib_ppo.make_training_env(ENV_CONFIG)
    module = rllib_ppo.EditPPOModule(
        observation_space=env.observation_space,
        action_space=env.action_space,
        model_config=rllib_ppo.network_kwargs(rllib_ppo.Args()),
    )
    batch, mask = observation_batch(env, 64, seed=0)
    assert (~mask).any(axis=1).all()  # every state has invalid actions
    with torch.no_grad():
        logits = module.forward_exploration({Columns.OBS: batch})[Columns.ACTION_DIST_INPUTS]
    probs = torch.softmax(logits, dim=-1).numpy()
    assert (probs[~mask] == 0).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    samples = torch.distributions.Categorical(logits=logits).sample((200,)).numpy()  # (200, B)
    assert mask[np.arange(mask.shape[0]), samples].all()
    values = module.compute_values({Columns.OBS: batch})
    assert values.shape == (mask.shape[0],) and torch.isfinite(values).all()


def test_counter_counts_every_step_and_each_invalid_action():
    counter, logger = rllib_ppo.InvalidActionCounter(), MetricsLogger()
    episode = SingleAgentEpisode()
    episode.add_env_reset(observation=0, infos={})
    flags = [False, True, False, True, True]
    for i, invalid in enumerate(flags):
        episode.add_env_step(
            observation=i + 1,
            action=0,
            reward=-0.5 * invalid,
            infos={"invalid_action": invalid, "solved": False, "score": 0.25},
            truncated=i == len(flags) - 1,
        )
        counter.on_episode_step(episode=episode, metrics_logger=logger)
    counter.on_episode_end(episode=episode, prev_episode_chunks=[], metrics_logger=logger)
    assert logger.peek(rllib_ppo.STEPS_CHECKED) == len(flags)
    assert logger.peek(rllib_ppo.INVALID_ACTIONS) == sum(flags)
    assert logger.peek(rllib_ppo.EPISODES) == [(-1.5, len(flags), False, 0.25)]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("rllib-ppo")
    reached = []
    checkpoints = Checkpoints([2_000], lambda step, policy: reached.append((step, policy)))
    args = rllib_ppo.Args(steps=4_000, num_env_runners=2, train_batch_size=1_000, seed=0)
    agent = rllib_ppo.train(args, ENV_KWARGS, out, progress=False, checkpoints=checkpoints)
    return agent, out, reached


def test_two_env_runners_train_with_no_invalid_action(trained):
    _, out, reached = trained
    stats = json.loads((out / rllib_ppo.TRAINING_STATS).read_text())
    assert stats["num_env_runners"] == 2 and stats["env_steps"] >= 4_000
    assert stats["steps_checked"] == stats["env_steps"]  # the counter saw every step the runners sampled
    assert stats["invalid_actions"] == 0
    rows = (out / "episodes.csv").read_text().splitlines()
    assert rows[0].startswith("step,") and len(rows) > 100
    assert [step for step, _ in reached] == [2_000]
    assert read_manifest(out, rllib_ppo.NAME)["args"]["num_env_runners"] == 2


def test_run_directory_loads_and_evaluates(trained):
    agent, out, reached = trained
    loaded = rllib_ppo.Agent.load(out)
    assert loaded.env_kwargs == ENV_KWARGS and loaded.args == agent.args and loaded.eval_split() == "test"
    for name, tensor in agent.network.state_dict().items():
        assert torch.equal(tensor, loaded.network.state_dict()[name]), name
    result = evaluate_with_baselines(loaded.env_kwargs, loaded, 20, 1000, loaded.eval_split())
    assert result["split"] == "test" and 0.0 <= result["solve_rate"] <= 1.0
    early = evaluate_with_baselines(ENV_KWARGS, reached[0][1], 5, 1000, "test")  # the checkpoint's policy acts too
    assert early["episodes"] == 5


def test_run_directory_evaluates_without_ray(trained):
    _, out, _ = trained
    code = (
        "import sys; sys.modules['ray'] = None\n"  # any import of ray now fails
        "from textedit_agents.rllib_ppo import Agent\n"
        "from textedit_agents.evaluation import evaluate\n"
        "from textedit_agents.env_util import make_env\n"
        f"agent = Agent.load({str(out)!r})\n"
        "print(evaluate(make_env(agent.env_kwargs, agent.eval_split()), agent, 3, 0)['solve_rate'])"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert 0.0 <= float(done.stdout.split()[-1]) <= 1.0


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="num_env_runners"):
        rllib_ppo.Args(num_env_runners=-1)
    with pytest.raises(ValueError, match="minibatch_size"):
        rllib_ppo.Args(train_batch_size=100, minibatch_size=200)
