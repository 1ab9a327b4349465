"""The agents the ``textedit`` command knows, by name: adding one is one file (the contract is in
:mod:`textedit_agents.agent`) and one line in :data:`AGENTS`.

``textedit eval`` reads the agent type from the run directory's manifest
(:func:`textedit_agents.storage.write_manifest`). Modules are imported only when used: the
environment, ``textedit play`` and ``textedit collect`` need no torch.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import textwrap
from functools import cache
from pathlib import Path
from types import ModuleType

AGENTS: dict[str, str] = {
    "dqn": "textedit_agents.dqn",
    "qlearning": "textedit_agents.qlearning",
    "bc": "textedit_agents.bc",
    "rllib-ppo": "textedit_agents.rllib_ppo",
    "lm": "textedit_agents.lm_policy",
}
"""algorithm name -> module"""

EXTRAS: dict[str, str] = {
    "torch": "agents",
    "tqdm": "agents",
    "ray": "rllib",
    "minari": "minari",
    "stable_baselines3": "sb3",
    "sb3_contrib": "sb3",
}
"""a missing top-level package -> the extra of textedit-env that installs it"""


class MissingDependency(Exception):
    """An agent's module needs a package that is not installed; the message names the extra."""


def missing_dependency(err: ModuleNotFoundError, what: str) -> MissingDependency:
    package = (err.name or "").split(".")[0]
    extra = EXTRAS.get(package)
    hint = f"pip install 'textedit-env[{extra}]'" if extra else f"pip install {package}"
    if package == "torch":
        hint += " (a CPU-only torch: pip install torch --index-url https://download.pytorch.org/whl/cpu)"
    return MissingDependency(f"{what} needs {package!r}, which is not installed: {hint}")


def agent_module(algo: str) -> ModuleType:
    """The module of an algorithm; :class:`MissingDependency` when it needs an extra."""
    try:
        return importlib.import_module(AGENTS[algo])
    except ModuleNotFoundError as err:
        raise missing_dependency(err, f"--algo {algo}") from None


@cache
def field_docs(cls: type) -> dict[str, str]:
    """The docstring written under each field of a dataclass and of its dataclass bases (its help text)."""
    docs: dict[str, str] = {}
    for klass in reversed([k for k in cls.__mro__ if dataclasses.is_dataclass(k)]):
        tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        body = tree.body[0].body
        for node, after in zip(body, body[1:]):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                docs[node.target.id] = " ".join(after.value.value.split())
    return docs


def load_agent(run_dir: str | Path, device: str | None = None):
    """The agent a run directory holds, of the type its manifest names; ValueError (one line) when
    the directory holds none or its files are unreadable."""
    run_dir = Path(run_dir)
    from textedit_agents.storage import read_manifest  # the manifest reader needs no torch, the agents do

    manifest = read_manifest(run_dir)
    if manifest["algo"] not in AGENTS:
        raise ValueError(f"{str(run_dir)!r} holds an agent of unknown type {manifest['algo']!r}")
    module = agent_module(manifest["algo"])
    try:
        return module.Agent.load(run_dir, device)
    except Exception as err:  # noqa: BLE001  a truncated or foreign file (any unpickling error), edited args
        message = " ".join(str(err).split())[:300]
        raise ValueError(
            f"cannot load the {manifest['algo']} agent in {str(run_dir)!r}: {type(err).__name__}: {message}"
        ) from None
