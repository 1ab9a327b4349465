"""Reference agents for TextEdit-v0 (tabular Q-learning, DQN, behaviour cloning, PPO on Ray, a
language-model policy), the network they share, SB3 policies on it, and the ``textedit`` command
(``python -m textedit_agents``). Adding an agent: :mod:`textedit_agents.agent`."""

from textedit_agents.editing import EditResult
from textedit_agents.registry import load_agent

__all__ = ["EditResult", "load_agent"]
