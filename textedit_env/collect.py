"""Demonstration datasets in Minari's format (offline RL, behaviour cloning), from the baseline policies.

:func:`collect` plays a baseline of :mod:`textedit_env.policies` (``oracle``, ``greedy``, ``random``)
on ``TextEdit-v0`` and writes a Minari dataset (HDF5 storage, ``pip install "minari[hdf5]"``) into
Minari's data directory (``MINARI_DATASETS_PATH``, default ``~/.minari/datasets``)::

    from textedit_env.collect import collect
    collect("oracle", 300, {"preset": "easy"}, "textedit/easy-oracle-v0")

    import minari
    dataset = minari.load_dataset("textedit/easy-oracle-v0")
    env = dataset.recover_environment()         # TextEdit-v0 with the same kwargs
    for episode in dataset.iterate_episodes():  # observations: dict of (T+1, ...) arrays; actions: (T,)
        ...

Episode i is reset with ``seed + i`` (stored as the episode's seed), so ``env.reset(seed=seed + i)``
replays its task. Every step's info is kept: ``text``, ``reference``, ``score``, ``solved``,
``invalid_action``. Episodes are built directly (no ``DataCollector``, which needs jax).
"""

from __future__ import annotations

import json
import re
import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import gymnasium as gym
import minari
import numpy as np
from minari.data_collector import EpisodeBuffer
from minari.dataset.minari_dataset import parse_dataset_id
from minari.storage import get_dataset_path

from textedit_env import ENV_ID, __version__
from textedit_env.policies import BASELINES, Policy
from textedit_env.rollout import rollout

DATA_FORMAT = "hdf5"
"""Minari's storage: h5py is a much smaller install than pyarrow"""


def collect(policy: str, episodes: int, env_kwargs: dict, dataset_id: str, seed: int = 0) -> Path:
    """Play ``episodes`` episodes of the baseline ``policy`` on ``gym.make("TextEdit-v0", **env_kwargs)``,
    write them as the Minari dataset ``dataset_id`` (e.g. ``"textedit/easy-oracle-v0"``) and return its
    directory."""
    if policy not in BASELINES:
        raise ValueError(f"unknown policy {policy!r}; expected one of {tuple(BASELINES)}")
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes={episodes!r}: expected a positive integer")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed={seed!r}: expected an integer from 0 to {MAX_SEED} (Minari stores int64 seeds)")
    check_dataset_id(dataset_id)  # a malformed id fails here, before Minari makes its directory
    try:
        json.dumps(env_kwargs)  # Minari stores the env spec as JSON; without it the env cannot be recovered
    except TypeError as err:
        raise ValueError(f"env_kwargs must be JSON-serializable (a language model as a file path): {err}") from None
    if dataset_id in minari.list_local_datasets():
        raise ValueError(f"Minari dataset {dataset_id!r} already exists; delete it first: minari delete {dataset_id}")
    env = gym.make(ENV_ID, **env_kwargs)
    act = BASELINES[policy](seed)
    buffers = [play(env, act, episode, seed + episode) for episode in range(episodes)]
    with warnings.catch_warnings(), removed_on_failure(dataset_id):
        # Minari's advice to publishers (author, code link) does not apply here
        warnings.filterwarnings("ignore", r"`(author|author_email|code_permalink|eval_env)` is set to None")
        minari.create_dataset_from_buffers(
            dataset_id,
            buffers,
            env=env,
            algorithm_name=f"textedit_env.policies:{policy}",
            description=f"{episodes} episodes of the {policy} policy on {ENV_ID} with kwargs {env_kwargs}, "
            f"episode i reset with seed {seed} + i",
            data_format=DATA_FORMAT,
            requirements=[f"textedit-env=={__version__}"],
        )
    return get_dataset_path(dataset_id)


MAX_SEED = 2**63 - 2**32
"""the largest first seed: Minari stores each episode's seed (seed + i) as an int64"""
_DATASET_ID = re.compile(r"([\w.-]+/)*[\w.-]+-v\d+")


def check_dataset_id(dataset_id: str) -> None:
    """ValueError unless ``dataset_id`` is ``NAMESPACE/NAME-vN`` (Minari's parser would raise a TypeError)."""
    if not isinstance(dataset_id, str) or not _DATASET_ID.fullmatch(dataset_id):
        raise ValueError(f"dataset id {dataset_id!r} is not NAMESPACE/NAME-vN (e.g. textedit/easy-oracle-v0)")
    parse_dataset_id(dataset_id)


@contextmanager
def removed_on_failure(dataset_id: str) -> Iterator[None]:
    """Delete the dataset's directory if writing it fails (or is interrupted): a half-written dataset
    would block its id."""
    try:
        yield
    except BaseException:
        shutil.rmtree(get_dataset_path(dataset_id), ignore_errors=True)
        raise


def play(env: gym.Env, policy: Policy, episode: int, seed: int) -> EpisodeBuffer:
    """One episode as a Minari episode buffer: T+1 observations and infos, T actions and rewards."""
    obs, info = env.reset(seed=seed)
    steps = list(rollout(env, policy, obs, info))
    observations, infos = [obs, *(s.observation for s in steps)], [info, *(s.info for s in steps)]
    return EpisodeBuffer(
        id=episode,
        seed=seed,
        observations={key: np.stack([o[key] for o in observations]) for key in observations[0]},
        actions=np.asarray([s.action for s in steps], dtype=np.int64),
        rewards=[s.reward for s in steps],
        terminations=[s.terminated for s in steps],
        truncations=[s.truncated for s in steps],
        # strings as lists: Minari stores a list of str as HDF5 strings, but not a numpy '<U' array
        infos={
            key: [i[key] for i in infos] if isinstance(infos[0][key], str) else np.asarray([i[key] for i in infos])
            for key in infos[0]
        },
    )
