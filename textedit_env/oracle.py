"""The oracle: a minimal word-level edit script (Levenshtein) as a policy.

At every state the oracle considers the edits that begin *some* minimal edit script from
the current text to the reference (found with prefix and suffix distance tables in
O(n*m)), and takes the valid one after which the metric is highest, so the score drops as
rarely as possible along the way. Every step lowers the edit distance by one, so the
oracle solves any task in exactly ``edit_distance(text, reference)`` steps.
"""

from __future__ import annotations

from collections.abc import Container, Sequence

from textedit_env.metrics.base import Edit

MAX_CELLS = 4_000_000
"""the largest (len(a) + 1) * (len(b) + 1) table of edit distances computed (a few hundred MB in Python
lists; texts of 2,000 units each): longer texts fail at once rather than exhaust memory"""


def _prefix_table(a: Sequence[str], b: Sequence[str]) -> list[list[int]]:
    """``D[i][j]`` = edit distance between ``a[:i]`` and ``b[:j]``."""
    cells = (len(a) + 1) * (len(b) + 1)
    if cells > MAX_CELLS:
        raise ValueError(
            f"aligning texts of {len(a):,} and {len(b):,} units takes {cells:,} cells of edit distances, more than "
            f"MAX_CELLS={MAX_CELLS:,}"
        )
    prev = list(range(len(b) + 1))
    table = [prev]
    for i, x in enumerate(a, start=1):
        row = [i]
        for j, y in enumerate(b, start=1):
            row.append(min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (x != y)))
        table.append(row)
        prev = row
    return table


def edit_distance(words_a: Sequence[str], words_b: Sequence[str]) -> int:
    """Levenshtein distance between two unit sequences (insert, delete, replace cost 1)."""
    return _prefix_table(words_a, words_b)[-1][-1]


def optimal_edits(text: Sequence[str], reference: Sequence[str]) -> list[Edit]:
    """Every edit that starts some minimal edit script from ``text`` to ``reference``."""
    n, m = len(text), len(reference)
    pre = _prefix_table(text, reference)
    suf = [
        row[::-1] for row in _prefix_table(text[::-1], reference[::-1])[::-1]
    ]  # suf[i][j]: text[i:] vs reference[j:]
    best = pre[n][m]
    edits: dict[Edit, None] = {}
    for i in range(n + 1):
        for j in range(m + 1):
            if i < n and pre[i][j] + 1 + suf[i + 1][j] == best:
                edits[Edit("delete", i)] = None
            if j < m and pre[i][j] + 1 + suf[i][j + 1] == best:
                edits[Edit("insert", i, reference[j])] = None
            if i < n and j < m and text[i] != reference[j] and pre[i][j] + 1 + suf[i + 1][j + 1] == best:
                edits[Edit("replace", i, reference[j])] = None
    return list(edits)


def alignment(text: Sequence[str], reference: Sequence[str]) -> list[tuple[str, str | None, str | None]]:
    """One minimal alignment as ``(op, text_unit, reference_unit)`` with op keep/replace/delete/insert."""
    pre = _prefix_table(text, reference)
    i, j, out = len(text), len(reference), []
    while i or j:
        if i and j and pre[i][j] == pre[i - 1][j - 1] + (text[i - 1] != reference[j - 1]):
            out.append(("keep" if text[i - 1] == reference[j - 1] else "replace", text[i - 1], reference[j - 1]))
            i, j = i - 1, j - 1
        elif i and pre[i][j] == pre[i - 1][j] + 1:
            out.append(("delete", text[i - 1], None))
            i -= 1
        else:
            out.append(("insert", None, reference[j - 1]))
            j -= 1
    return out[::-1]


def projection(source: Sequence[str], reference: Sequence[str], writable: Container[str]) -> list[str]:
    """The text that one minimal alignment of ``source`` to ``reference`` leads to when only words in
    ``writable`` can be written: deletes and writable inserts and replaces are made, the others left
    out (the source's word stays). Equal to ``reference`` when all its words are writable."""
    out = []
    for op, have, want in alignment(source, reference):
        if op == "keep" or (op in ("insert", "replace") and want in writable):
            out.append(want)
        elif op == "replace":
            out.append(have)
    return out


def closest(text: Sequence[str], targets: Sequence[Sequence[str]]) -> Sequence[str]:
    """The target nearest ``text`` in edit distance (the first of those as near)."""
    if len(targets) == 1:
        return targets[0]
    return min(targets, key=lambda target: edit_distance(text, target))


def oracle_action(env) -> int:
    """The oracle's action in the environment's current state (wrapped or unwrapped env): the valid
    first edit of a minimal script to the nearest of the env's ``oracle_targets`` (its references,
    or with the reference hidden, what the action space can write of them) after which the metric
    is highest, or stop at the target. It reads the reference: privileged.

    Only valid actions count: a text at ``max_length`` takes no insert. Some minimal script then
    still starts with a delete or a replace (the text is at least as long as the target, so a
    script that inserts also deletes, and its edits can run deletes first), so the oracle always
    has a valid edit and reaches the target in exactly ``edit_distance(text, target)`` steps.
    """
    base = env.unwrapped
    text = base.text_units
    target = closest(text, base.oracle_targets)
    edits = optimal_edits(text, target)
    if not edits:
        return base.encode_action("stop")
    mask = base.action_masks()
    actions = [base.encode_action(edit.op, edit.position, edit.word) for edit in edits]
    valid = [i for i, action in enumerate(actions) if mask[action]]
    if not valid:  # unreachable by the argument above; a clear error rather than a silent no-op
        raise RuntimeError(
            f"no valid first edit of a minimal script from {text} to {list(target)} (max_length={base.max_length})"
        )
    scores = base.scorer.preview([edits[i] for i in valid])
    best = max(range(len(valid)), key=lambda i: (scores[i], -i))  # highest score, then the earliest edit
    return actions[valid[best]]
