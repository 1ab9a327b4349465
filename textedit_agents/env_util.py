"""The environment of a run: made from its env kwargs, and the splits it trains and is evaluated on."""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from textedit_env import ENV_ID  # importing the package registers TextEdit-v0


def make_env(env_kwargs: dict, split: str | None = None, **extra: Any) -> gym.Env:
    """``gym.make("TextEdit-v0", **env_kwargs)``, with the split overridden when given."""
    kwargs = dict(env_kwargs, **extra)
    if split is not None:
        kwargs["split"] = split
    return gym.make(ENV_ID, **kwargs)


def training_split(env_kwargs: dict) -> str:
    """The split an agent trained with these env kwargs was trained on."""
    return env_kwargs.get("split", "train")


def eval_split(env_kwargs: dict) -> str:
    """Evaluate on held-out sentences when training used the train split, else on the training split."""
    split = training_split(env_kwargs)
    return "test" if split == "train" else split
