"""A trained agent applied to a sentence of one's own: ``load_agent("runs/dqn-seed0").edit(source,
reference)`` returns an :class:`EditResult` (the final text, the edits, the score before and after)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textedit_agents.env_util import make_env
from textedit_env.metrics.base import join_units
from textedit_env.rollout import rollout

if TYPE_CHECKING:
    from textedit_agents.agent import SavedAgent


@dataclass(frozen=True)
class EditResult:
    """What an agent did to one text."""

    source: str
    """the text it started from"""
    text: str
    """the text it ended with"""
    edits: list[tuple[str, int, str | None]]
    """its edits in order, as ``(op, position, word)`` (positions in the text as it was then; the
    word is None for a delete); invalid actions and the final stop are left out"""
    score_before: float | None
    """the reward's metric of the source against the reference (None without a reference)"""
    score_after: float | None
    """the same for the final text"""
    stopped: bool
    """True when the agent stopped (or, with the reference observed, reached it); False when the
    episode's step limit cut it"""
    steps: int
    """actions taken, the stop and any invalid ones included"""


def edit(agent: SavedAgent, source: str, reference: str | Sequence[str] | None = None) -> EditResult:
    """``agent``'s episode from ``source`` toward ``reference`` (a string, or several references), in
    the environment it trained in; the same episode as an evaluation that started from this pair
    (the reset is seeded, so candidate order is fixed too). A text longer than that environment
    takes (``max_length``), or with more distinct words than its candidate slots, gets an
    environment sized to the pair, when the agent's network has nothing sized by them (the
    Transformer encoder and Q-tables of exact texts aside); otherwise a ``ValueError`` says why.
    An agent that does not read the reference (``observe_reference=False``) needs none: the scores
    are then None."""
    if not isinstance(source, str):
        raise ValueError(f"source must be a string, got {type(source).__name__}")
    env = make_env(agent.env_kwargs)
    observes = env.unwrapped.observe_reference
    if reference is None and observes:
        raise ValueError("this agent reads the reference: pass edit(source, reference)")
    options = {"source": source, "reference": source if reference is None else reference}
    try:
        obs, info = env.reset(seed=0, options=options)
    except ValueError as err:
        if not observes:
            raise ValueError(f"this agent cannot edit that text: {err}") from None
        sized = {key: value for key, value in agent.env_kwargs.items() if key not in ("max_length", "dataset")}
        try:
            agent = agent.with_env_kwargs({**sized, "dataset": [(source, options["reference"])], "split": "all"})
        except ValueError as sizing:
            raise ValueError(f"this agent cannot edit that text: {err} ({sizing})") from None
        env = make_env(agent.env_kwargs)
        obs, info = env.reset(seed=0, options=options)
    base = env.unwrapped
    before = base.outcome()["score"]
    episode = list(rollout(env, agent, obs, info))
    edits = []
    for step in episode:
        op, position, word = base.decode_action(step.action)
        if op != "stop" and not step.info["invalid_action"]:
            edits.append((op, position, word))
    return EditResult(
        source=source,
        text=join_units(base.text_units, base.unit),
        edits=edits,
        score_before=None if reference is None else float(before),
        score_after=None if reference is None else float(base.outcome()["score"]),
        stopped=bool(episode[-1].terminated),
        steps=len(episode),
    )
