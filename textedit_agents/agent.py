"""What every agent of the registry is: a greedy policy that saves to and loads from a run directory.

An agent module (one file, registered by one line in :mod:`textedit_agents.registry`) defines

* ``Args``: a dataclass whose fields, annotations and field docstrings become ``textedit train``'s
  options (network agents extend :class:`textedit_agents.arguments.NetworkArgs`);
* ``train(args, env_kwargs, out_dir, progress=True, checkpoints=None) -> Agent`` (a resumable one
  also takes ``durability``, see :mod:`textedit_agents.runs`);
* ``Agent``: a subclass of :class:`SavedAgent`, which implements the :class:`Agent` protocol below
  and carries the hooks the command calls, so that neither the command nor the benchmarks ever ask
  which type an agent is.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import gymnasium as gym

from textedit_agents.editing import EditResult, edit
from textedit_agents.env_util import eval_split
from textedit_agents.storage import atomic_write, read_manifest, write_manifest


@runtime_checkable
class Agent(Protocol):
    """A trained agent: ``agent(env, obs, info) -> action`` (a :data:`textedit_env.policies.Policy`)."""

    args: Any
    env_kwargs: dict

    def __call__(self, env: gym.Env, obs: Any, info: dict) -> int: ...

    def eval_split(self) -> str: ...

    def save(self, out_dir: Path) -> Path: ...

    def with_env_kwargs(self, env_kwargs: dict) -> Agent: ...

    def edit(self, source: str, reference: str | Sequence[str] | None = None) -> EditResult: ...

    @classmethod
    def load(cls, out_dir: Path, device: str | None = None) -> Agent: ...


class SavedAgent:
    """The base of every agent: its arguments and env kwargs, one checkpoint file beside the
    manifest (:data:`textedit_agents.storage.MANIFEST`) and the hooks of ``textedit train/eval``,
    which do nothing unless an agent overrides them."""

    NAME: ClassVar[str]
    """the algorithm's name in the registry and the manifest"""
    ARGS: ClassVar[type]
    """its Args dataclass"""
    CHECKPOINT: ClassVar[str] = "model.pt"
    """the file of the run directory that holds what was learned"""
    RESUMABLE: ClassVar[bool] = False
    """whether its ``train`` takes ``durability`` (``textedit train --resume``)"""
    ADDED_ARGS: ClassVar[dict[str, Any]] = {}
    """Args fields added since the first manifests were written, with the value a manifest that
    lacks one ran with (its new default may mean something else)"""

    def __init__(self, args: Any, env_kwargs: dict):
        self.args, self.env_kwargs = args, env_kwargs

    # --------------------------------------------------------------- saving
    def write_checkpoint(self, path: Path) -> None:
        """Write what was learned to ``path`` (a temporary file, renamed into place by :meth:`save`)."""
        raise NotImplementedError

    @classmethod
    def read_checkpoint(cls, path: Path, args: Any, env_kwargs: dict) -> SavedAgent:
        """The agent from its checkpoint file, its arguments and env kwargs."""
        raise NotImplementedError

    def save(self, out_dir: Path) -> Path:
        path = Path(out_dir) / self.CHECKPOINT
        atomic_write(path, self.write_checkpoint)
        write_manifest(out_dir, self.NAME, self.args, self.env_kwargs)  # last: the directory now holds an agent
        return path

    @classmethod
    def load(cls, out_dir: Path, device: str | None = None) -> SavedAgent:
        """The agent saved in ``out_dir`` (on ``device`` when given and the agent has one)."""
        manifest = read_manifest(out_dir, cls.NAME)
        has_device = any(f.name == "device" for f in dataclasses.fields(cls.ARGS))
        args = cls.saved_args(manifest["args"], **({"device": device} if device and has_device else {}))
        return cls.read_checkpoint(Path(out_dir) / cls.CHECKPOINT, args, manifest["env_kwargs"])

    @classmethod
    def saved_args(cls, saved: dict, **overrides: Any) -> Any:
        """The Args of saved arguments (a manifest's, a training state's): the fields they lack with
        the values they ran with (``ADDED_ARGS``), then ``overrides``."""
        return cls.ARGS(**{**cls.ADDED_ARGS, **saved, **overrides})

    # --------------------------------------------------------------- use
    def with_env_kwargs(self, env_kwargs: dict) -> SavedAgent:
        """The agent acting in an environment made with ``env_kwargs`` (another dataset, reward, or
        sizes; ``textedit eval --env-kwargs``); ValueError (one line) when what it learned cannot
        act there. This default suits an agent that reads nothing sized by the environment."""
        other = copy.copy(self)
        other.env_kwargs = env_kwargs
        return other

    def edit(self, source: str, reference: str | Sequence[str] | None = None) -> EditResult:
        """The agent's edits of ``source`` toward ``reference``: :func:`textedit_agents.editing.edit`."""
        return edit(self, source, reference)

    # --------------------------------------------------------------- hooks
    @classmethod
    def validate(cls, args: Any, env_kwargs: dict) -> None:
        """Called by ``textedit train`` before work starts: ValueError (one line) when the agent
        cannot train in this environment."""

    @classmethod
    def training_notes(cls, args: Any, env_kwargs: dict) -> list[str]:
        """Lines ``textedit train`` prints before a new run (what the agent will and will not cover)."""
        return []

    def eval_split(self) -> str:
        """The split it is evaluated on unless told: the held-out one when trained on the train split."""
        return eval_split(self.env_kwargs)

    def evaluation_notes(self, split: str) -> list[str]:
        """Lines printed before an evaluation on ``split`` (the agent may also reset its counters)."""
        return []

    def evaluation_extras(self) -> tuple[dict[str, Any], list[str]]:
        """After an evaluation: result fields only this agent has, and lines that explain them."""
        return {}, []
