"""The network every agent shares: reads the text against the reference and scores every edit in
the env's action layout (Q-values for DQN, logits for policy gradients, quantiles for QR-DQN).

What decides the right edit is how the text lines up with the reference, not which words they
are. The network therefore reads both texts through their *slots* (``text_slots`` /
``reference_slots``: which candidate word each unit is), never through vocabulary ids, and
carries over unchanged to sentences and words it never saw. Everything it reads comes from the
observation.

:class:`AlignmentFeatures` (no parameters) turns an observation into what the metrics pay for,
wherever in the reference it is. Both texts are framed by a start and an end mark; from the
match matrix ``M[i, j] = (text unit i is reference unit j)`` it takes the diagonal runs, i.e.
how many units of context agree before and after each pair ``(i, j)`` (up to 3, the context of
a 4-gram). A unit that sits in a long run is in place; an insert of candidate k at gap p is
right when the text's left context of p continues into k somewhere in the reference and k
continues into the right context. These are position free, so a misalignment of any width (ten
insertions in a row, a 30-word text) looks the same as a small one. Per position and candidate:

- unit p: the longest runs ending at, starting at and passing through p; the longest run that
  deleting p would join (p-1's left run + p+1's right run at consecutive reference units); its
  neighbours' runs; how many more times p's word occurs in the text than in the reference;
- gap p (before unit p, p = length appends): the runs that end at p-1 and start at p, and
  whether they already join (nothing missing here);
- insert k at gap p, replace p by k: a code of the left and right context that the edit would
  create (over the reference positions holding k), whether both come from one position, and
  whether the text lacks an occurrence of k; per candidate, how many more times the reference
  has it than the text;
- the whole text: lengths, how much is matched, missing and surplus, whether it is the reference.

:class:`EditNetwork` embeds the unit, gap and whole-text features per position, reads them
along the text with a sequence encoder (none by default: the features already carry the
context; GRU, LSTM or Transformer as options), and scores::

    stop            f(pooled state, whole-text features)        a small MLP
    delete p        f(h_p)                                       a small MLP
    insert p, k     T_p[code(p, k)] + U[need(k)]                 tables written by g_p and the pooled state
    replace p, k    T'_p[code(p, k)] + U'[need(k)]               g_p: gap p, from h_{p-1}, h_p and its features

A pair head costs one table lookup per (position, candidate): an MLP per pair would be most of
the network's time.

**With the action gains** (``gain_values``, the reference observed) the observation also holds each
action's one-step reward, and a score is a Q-value built on it (:class:`GainValues`): the network
learns only what comes after an edit. The features above are word-level; chrF pays for character n-grams
across word boundaries, which they cannot see (see :mod:`textedit_agents.dqn`).

**With the reference hidden** (``observe_reference=False``) the observation holds the text and its
*source* instead: there is nothing to align with but where the agent has been. The same features
are then computed against the source (which units are as they started, which were edited,
whether an insert would put a source word back), and the network also reads the words themselves,
the one thing that can tell an error from the text alone: an embedding of every text unit's
vocabulary id, with its two neighbours on each side (a convolution: the n-gram context that
errors such as "the the", "he go" or "their is" show), added to each position's state; and an
embedding of each candidate's id, against which a query from position p's state scores
``insert p, k`` and ``replace p, k`` (a dot product) on top of the pair tables.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import gymnasium as gym
import torch
from torch import nn
from torch.nn import functional as F

from textedit_agents.arguments import ENCODERS
from textedit_env.actions import SLOT_FIRST, SLOT_OTHER
from textedit_env.wrappers.action_gains import GAINS, HEADROOM

OBSERVATION_KEYS = ("text_slots", "reference_slots", "lengths", "candidates")
"""the observation arrays the network reads with the reference observed (``candidates`` only for how
many slots are used); see :func:`observation_keys`"""
HIDDEN_OBSERVATION_KEYS = ("text", "text_slots", "source_slots", "lengths", "candidates")
"""the same with the reference hidden: the source's slots in place of the reference's, and the text's ids"""
WORD_CONTEXT = 2
"""neighbours on each side whose words a position reads with the reference hidden"""


def observation_keys(observation_space: gym.spaces.Dict) -> tuple[str, ...]:
    """The arrays of an "ids" observation space that :class:`EditNetwork` reads (with the action gains
    where the space has them)."""
    keys = OBSERVATION_KEYS if "reference_slots" in observation_space.spaces else HIDDEN_OBSERVATION_KEYS
    return (*keys, GAINS, HEADROOM) if GAINS in observation_space.spaces else keys


CONTEXT = 3
"""units of agreeing context that are counted: an edit with 3 on one side completes a 4-gram"""
UNIT_FEATURES, GAP_FEATURES, GLOBAL_FEATURES = 9, 4, 7
PAIR_CODES = 4 * (CONTEXT + 1) ** 2
"""codes of an (insert or replace, position, candidate) pair: its left and right context, whether
both come from one reference position (the edit would join them into one run), and whether the
text lacks an occurrence of the candidate that the reference has"""
NEED_CODES = 10
"""codes of a candidate: reference count minus text count (clipped to -2..2), whether the reference has it"""
RUN_DTYPE = torch.int16


def _diagonal_shift(x: torch.Tensor, s: int) -> torch.Tensor:
    """``y[:, i, j] = x[:, i - s, j - s]`` (0 outside) for a (B, L, L) tensor."""
    n = x.shape[-1]
    if s > 0:
        return F.pad(x, (s, 0, s, 0))[:, :n, :n]
    return F.pad(x, (0, -s, 0, -s))[:, -s:, -s:]


def _runs(match: torch.Tensor, direction: int) -> torch.Tensor:
    """Length of the diagonal run of matches ending (direction 1) or starting (-1) at each (i, j), capped."""
    run, chain = match.clone(), match
    for s in range(1, CONTEXT):
        chain = chain * _diagonal_shift(match, direction * s)
        run = run + chain
    return run


def _framed(slots: torch.Tensor, lengths: torch.Tensor, num_candidates: int) -> torch.Tensor:
    """(B, L) slots -> (B, L + 2): a start mark, the units, an end mark, padding (the marks are the
    two codes after the candidates')."""
    framed = F.pad(slots, (1, 1))
    framed[:, 0] = SLOT_FIRST + num_candidates
    return framed.scatter(1, lengths.long()[:, None] + 1, SLOT_FIRST + num_candidates + 1)


def _max_by_candidate(values: torch.Tensor, ref: torch.Tensor, num_candidates: int) -> torch.Tensor:
    """(B, P, L) values over reference positions j -> (B, P, K): the max over the j holding candidate k (0 if none)."""
    slot = torch.where(ref >= SLOT_FIRST, ref - SLOT_FIRST, num_candidates)  # padding goes to a dropped column
    index = slot[:, None, :].expand_as(values)
    out = values.new_zeros(*values.shape[:2], num_candidates + 1)
    return out.scatter_reduce(2, index, values, reduce="amax")[..., :num_candidates]


def action_mask(obs: dict[str, torch.Tensor], max_length: int, num_candidates: int) -> torch.Tensor:
    """(B, n) valid-action masks of a batch of "ids" observations, in the env's layout; the
    batched, torch twin of :meth:`textedit_env.actions.ActionCodec.observation_mask`."""
    L, K = max_length, num_candidates
    text = obs["text_slots"].long()
    length = obs["lengths"][:, :1].long()  # (B, 1)
    used = (obs["candidates"] > 0).sum(1, keepdim=True)  # candidate slots in use
    position, slot = torch.arange(L + 1, device=text.device), torch.arange(K, device=text.device)
    stop = torch.ones_like(length, dtype=torch.bool)
    delete = position[None, :L] < length
    slot_used = slot[None, None, :] < used[:, :, None]  # (B, 1, K)
    insert = (position[None, :, None] <= length[:, :, None]) & (length[:, :, None] < L) & slot_used
    own = (text - SLOT_FIRST)[:, :, None] == slot[None, None, :]  # replacing a unit by itself changes nothing
    replace = delete[:, :, None] & slot_used & ~own
    return torch.cat([stop, delete, insert.flatten(1), replace.flatten(1)], dim=1)


class AlignmentFeatures(nn.Module):
    """Parameter-free features of an "ids" observation batch (see the module docstring)."""

    def __init__(self, max_length: int, num_candidates: int):
        super().__init__()
        self.L, self.K = max_length, num_candidates
        # Run lengths to about 0..1: runs through a unit and joins count two sides.
        scales = torch.tensor([1, 1, 0.5, 1, 1, 0.5]) / CONTEXT
        self.register_buffer("unit_scales", scales, persistent=False)  # follows the module to its device

    def forward(self, obs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        L, K = self.L, self.K
        # The text beside the current one: the reference, or with the reference hidden the source.
        text, ref = obs["text_slots"].long(), obs.get("reference_slots", obs.get("source_slots")).long()
        lengths = obs["lengths"].float()
        # Both texts framed by a start and an end mark that match each other, so that the start and
        # the end of the sentence count as context: the first word belongs at the text's start.
        # Framed index i + 1 is unit i. Small integers throughout: int16 arithmetic and reductions
        # are several times cheaper here than float.
        framed_text, framed_ref = _framed(text, obs["lengths"][:, 0], K), _framed(ref, obs["lengths"][:, 1], K)
        match = ((framed_text[:, :, None] == framed_ref[:, None, :]) & (framed_text[:, :, None] >= SLOT_FIRST)).to(
            RUN_DTYPE
        )
        left, right = _runs(match, 1), _runs(match, -1)  # runs ending / starting at (i, j), (B, L+2, L+2)
        # For gap p (0..L), before unit p, and reference unit j: the run ending at (unit p-1, ref
        # j-1), the run starting at (unit p, ref j+1) and the one starting at (unit p, ref j).
        before = left[:, : L + 1, :L]
        after = right[:, 1:, 2:]
        here = right[:, 1:, 1 : L + 1]

        # Over the reference positions j holding candidate k: left and right context of inserting k
        # at gap p (and of replacing unit p: the rows of gaps p and p+1), and both at once.
        maxima = _max_by_candidate(torch.cat([before, after, before + after, before[:, :L] + after[:, 1:]], 1), ref, K)
        ins_left, ins_right, ins_both, rep_both = maxima.split([L + 1, L + 1, L + 1, L], dim=1)

        codes = SLOT_FIRST + K
        counts_text = F.one_hot(text, codes).sum(1)  # (B, K+2)
        counts_ref = F.one_hot(ref, codes).sum(1)
        surplus = counts_text - counts_ref
        surplus[:, 0] = 0  # padding
        unit_surplus = surplus.gather(1, text).clamp(0, 3) / 3  # (B, L): how many more the text has of unit p
        need = (-surplus[:, SLOT_FIRST:]).clamp(-2, 2) + 2 + 5 * (counts_ref[:, SLOT_FIRST:] > 0)  # (B, K)

        scale = 1.0 / CONTEXT
        # Per unit p over all framed reference positions: its runs ending, starting and passing
        # there; what deleting p would join (unit p-1 at j-1 and unit p+1 at j); its neighbours' runs.
        unit_left, unit_right, unit_match = left[:, 1 : L + 1], right[:, 1 : L + 1], match[:, 1 : L + 1]
        neighbour_left, neighbour_right = left[:, :L], right[:, 2:]
        joins = neighbour_left[:, :, :-1] + neighbour_right[:, :, 1:]
        unit_maxima = (
            torch.cat(
                [
                    torch.stack(
                        [unit_left, unit_right, unit_left + unit_right - unit_match, neighbour_left, neighbour_right], 2
                    ).amax(-1),
                    joins.amax(-1, keepdim=True),
                ],
                dim=2,
            )
            * self.unit_scales
        )
        unit = torch.cat(
            [
                (text >= SLOT_OTHER).float()[..., None],
                (text == SLOT_OTHER).float()[..., None],
                unit_maxima,
                unit_surplus[..., None],
            ],
            dim=-1,
        )  # (B, L, UNIT_FEATURES)
        valid_gap = (torch.arange(L + 1, device=text.device)[None, :] <= lengths[:, :1]).float()
        gap = torch.cat(
            [valid_gap[..., None], torch.stack([before, after, before * (here > 0)], dim=2).amax(-1) * scale], dim=-1
        )  # (B, L+1, GAP_FEATURES)

        lacking = (surplus[:, None, SLOT_FIRST:] < 0).to(RUN_DTYPE)  # (B, 1, K)

        def pair(lft: torch.Tensor, rgt: torch.Tensor, both: torch.Tensor) -> torch.Tensor:
            return (((lft * (CONTEXT + 1) + rgt) * 2 + (both == lft + rgt)) * 2 + lacking).long()

        insert = pair(ins_left, ins_right, ins_both)  # (B, L+1, K)
        replace = pair(ins_left[:, :L], ins_right[:, 1:], rep_both)  # (B, L, K)

        text_len, ref_len = lengths[:, 0], lengths[:, 1]
        identical = (
            (text == ref).all(1).float()
        )  # only at an episode's start: an edit that reaches the reference ends it
        glob = torch.stack(
            [
                text_len / L,
                ref_len / L,
                (text_len - ref_len) / L,
                (unit[..., 4] > 0).float().sum(1) / L,
                (-surplus[:, SLOT_FIRST:]).clamp(min=0).sum(1) / L,
                unit_surplus.sum(1) * 3 / L,
                identical,
            ],
            dim=-1,
        )
        return {
            "unit": unit,
            "gap": gap,
            "insert": insert,
            "replace": replace,
            "need": need,
            "global": glob,
            "mask": action_mask(obs, L, K),
        }


class SequenceEncoder(nn.Module):
    """(B, T, d) -> (B, T, d) along the sequence; padding is part of the features."""

    def __init__(self, kind: str, dim: int, layers: int, heads: int, length: int):
        super().__init__()
        if kind not in ENCODERS:
            raise ValueError(f"unknown encoder {kind!r}; expected one of {ENCODERS}")
        self.kind = kind
        if kind == "transformer":
            layer = nn.TransformerEncoderLayer(dim, heads, 2 * dim, dropout=0.0, batch_first=True, norm_first=True)
            self.net = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.position = nn.Parameter(torch.zeros(1, length, dim))  # attention has no order of its own
        elif kind in ("gru", "lstm"):
            rnn = nn.GRU if kind == "gru" else nn.LSTM
            self.net = rnn(dim, dim // 2, layers, batch_first=True, bidirectional=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "transformer":
            return self.net(x + self.position)
        if self.kind == "none":
            return x
        return self.net(x)[0]


class PairHead(nn.Module):
    """Scores of (position p, candidate k) pairs: the entry of p's table (written by p's state) that
    the pair's code picks, plus the entry of a table of the whole text's state that k's code picks;
    ``outputs`` values per pair."""

    def __init__(self, dim: int, outputs: int):
        super().__init__()
        self.outputs = outputs
        self.table = nn.Linear(dim, PAIR_CODES * outputs)
        self.need = nn.Linear(dim, NEED_CODES * outputs)

    def forward(
        self, positions: torch.Tensor, codes: torch.Tensor, pooled: torch.Tensor, need: torch.Tensor
    ) -> torch.Tensor:
        B, P, K = codes.shape
        table = self.table(positions).view(B, P, PAIR_CODES, self.outputs)
        per_pair = table.gather(2, codes[..., None].expand(B, P, K, self.outputs))  # (B, P, K, outputs)
        per_candidate = (
            self.need(pooled).view(B, NEED_CODES, self.outputs).gather(1, need[..., None].expand(B, K, self.outputs))
        )
        return (per_pair + per_candidate[:, None]).flatten(1, 2)  # (B, P*K, outputs)


def mlp(inputs: int, dim: int, outputs: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Linear(inputs, dim), nn.ReLU(), nn.Linear(dim, outputs))


SPELLING_BUCKETS = 1 << 14
"""hash buckets of the character trigrams that spell a word"""


def spelling_ngrams(vocabulary: Sequence[str]) -> torch.Tensor:
    """(V, G) bucket ids of each word's character trigrams, boundaries marked (``<ta``, ``tak``...),
    padded with -1: stable hashes (CRC-32), so a saved network reads the same words the same way."""
    grams = []
    for word in vocabulary:
        marked = f"<{word}>"
        grams.append([zlib.crc32(marked[i : i + 3].encode()) % SPELLING_BUCKETS for i in range(len(marked) - 2)])
    table = torch.full((len(grams), max(map(len, grams))), -1, dtype=torch.long)
    for i, row in enumerate(grams):
        table[i, : len(row)] = torch.tensor(row)
    return table


class WordReader(nn.Module):
    """Reads the words themselves (with the reference hidden): per position, the embeddings of its
    unit and of ``WORD_CONTEXT`` neighbours on each side (a convolution along the text), and per
    candidate, the embedding of its word; :meth:`pair_scores` is the dot product of a query from each
    position's state with each candidate.

    A word's embedding is one per vocabulary id, plus, given the vocabulary's ``spelling``, the mean
    embedding of its character trigrams (fastText's idea): words that share letters (take/takes,
    their/there, recieve/receive) start out alike, which is what most corrections turn on."""

    def __init__(self, vocabulary_size: int, dim: int, spelling: Sequence[str] | None = None):
        super().__init__()
        self.embed = nn.Embedding(vocabulary_size, dim, padding_idx=0)
        self.spelled = spelling is not None
        if self.spelled:
            if len(spelling) != vocabulary_size:
                raise ValueError(f"spelling has {len(spelling)} words, the vocabulary {vocabulary_size}")
            self.register_buffer("ngrams", spelling_ngrams(spelling), persistent=False)
            self.trigrams = nn.Embedding(SPELLING_BUCKETS + 1, dim, padding_idx=SPELLING_BUCKETS)
            with torch.no_grad():  # the letters first: a word's own embedding starts small beside its trigrams'
                self.embed.weight.mul_(0.1)
        self.context = nn.Conv1d(dim, dim, 2 * WORD_CONTEXT + 1, padding=WORD_CONTEXT)
        self.candidate = nn.Linear(dim, dim)
        self.insert_query, self.replace_query = nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.scale = dim**-0.5

    def word(self, ids: torch.Tensor) -> torch.Tensor:
        """(...,) vocabulary ids -> (..., dim) embeddings. Each distinct word is read once: a batch's
        candidates are mostly the same edit vocabulary, and reading its trigrams per row took most of
        a training step's time with a 1,000-word vocabulary."""
        ids, inverse = torch.unique(ids.long(), return_inverse=True)
        vectors = self.embed(ids)
        if self.spelled:
            grams = self.ngrams[ids]  # (U, G)
            present = (grams >= 0).unsqueeze(-1)
            summed = self.trigrams(grams.masked_fill(grams < 0, SPELLING_BUCKETS)).sum(-2)
            vectors = vectors + summed / present.sum(-2).clamp(min=1)
        return vectors[inverse]

    def positions(self, text: torch.Tensor) -> torch.Tensor:
        """(B, L) vocabulary ids -> (B, L + 1, dim): each unit's word in its context; the end of the text last."""
        words = self.word(F.pad(text.long(), (0, 1)))
        return F.relu(self.context(words.transpose(1, 2))).transpose(1, 2)

    def pair_scores(self, states: torch.Tensor, candidates: torch.Tensor, insert: bool) -> torch.Tensor:
        """(B, P, d) position states, (B, K) candidate ids -> (B, P*K) scores."""
        query = (self.insert_query if insert else self.replace_query)(states)
        keys = self.candidate(self.word(candidates))
        return torch.einsum("bpd,bkd->bpk", query, keys).flatten(1) * self.scale


@dataclass(frozen=True)
class GainValues:
    """Q-values built on the action gains and the headroom (:class:`textedit_env.wrappers.ActionGains`:
    each action's one-step reward, how far the score can still rise) for a learner that is paid
    ``scale * (gain - step_cost)`` for an edit and ``scale * gain`` for stop, at discount ``gamma``:

        Q(stop) = scale * gain(stop)                           stopping ends the episode: its pay
        Q(edit) = scale * (gain - step_cost) + gamma * V(edit)
        V(edit) = low + sigmoid(h) * (high - low)              the value of the text the edit makes

    where h is the network's score of the edit, ``low = scale * gain(stop)`` (the best action there is
    worth at least stopping) and ``high = scale * headroom after the edit`` (no path can gain more
    than the score can still rise: the discounted sum of gains is a weighted mean of partial sums,
    each at most that). So an edit that gains more than its cost is always worth more than stopping,
    and at the top score (a ROUGE text that differs from the reference only in case or punctuation)
    no edit is; the network learns only the share of the headroom that the path after it realizes."""

    scale: float
    step_cost: float
    gamma: float

    def q_values(self, gains: torch.Tensor, headroom: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        """(B, n, outputs) gains, (B, 1) headroom and (B, n, outputs) network scores -> Q-values; stop first."""
        stop_gain = gains[:, :1]
        rise_after = (headroom[:, :, None] - (gains[:, 1:] - stop_gain)).clamp(min=0)  # gains less the step penalty
        low, high = self.scale * stop_gain, self.scale * rise_after
        value_after = low + torch.sigmoid(scores[:, 1:]) * (high - low).clamp(min=0)
        edits = self.scale * (gains[:, 1:] - self.step_cost) + self.gamma * value_after
        return torch.cat([(self.scale * stop_gain).expand(-1, -1, edits.shape[-1]), edits], dim=1)


class EditNetwork(nn.Module):
    """Scores (B, n) of every action of a batch of "ids" observations, or (B, n, outputs) with
    ``outputs > 1`` (quantiles); :meth:`summary` is the state vector a value head reads.
    With ``gain_values`` the scores are Q-values built on the observation's action gains (:class:`GainValues`).
    ``vocabulary_size`` > 0 adds the :class:`WordReader` (the hidden-reference mode), which reads
    the words' letters too when given their ``spelling`` (``env.unwrapped.vocabulary.itos``)."""

    def __init__(
        self,
        max_length: int,
        num_candidates: int,
        encoder: str = "none",
        dim: int = 32,
        layers: int = 1,
        heads: int = 4,
        outputs: int = 1,
        vocabulary_size: int = 0,
        spelling: Sequence[str] | None = None,
        gain_values: GainValues | None = None,
    ):
        super().__init__()
        self.L, self.K, self.outputs = max_length, num_candidates, outputs
        self.keys = HIDDEN_OBSERVATION_KEYS if vocabulary_size else OBSERVATION_KEYS
        self.gain_values = gain_values
        if gain_values is not None:
            self.keys = (*self.keys, GAINS, HEADROOM)
        self.summary_dim = dim + GLOBAL_FEATURES
        self.features = AlignmentFeatures(max_length, num_candidates)
        self.words = WordReader(vocabulary_size, dim, spelling) if vocabulary_size else None
        self.read = nn.Sequential(nn.Linear(UNIT_FEATURES + GAP_FEATURES + GLOBAL_FEATURES, dim), nn.ReLU())
        self.encode = SequenceEncoder(encoder, dim, layers, heads, max_length + 1)
        self.gap = nn.Sequential(nn.Linear(2 * dim + GAP_FEATURES, dim), nn.ReLU())
        self.stop_head = mlp(self.summary_dim, dim, outputs)
        self.delete_head = mlp(dim, dim, outputs)
        self.insert_head, self.replace_head = PairHead(dim, outputs), PairHead(dim, outputs)

    @classmethod
    def for_space(
        cls, observation_space: gym.spaces.Dict, spelling: Sequence[str] | None = None, **kwargs
    ) -> EditNetwork:
        """The network for an environment's "ids" observation space (L and K are the array sizes; with the
        reference hidden, the vocabulary size is the text ids' bound, and ``spelling`` the vocabulary's
        words, if given, ``env.unwrapped.vocabulary.itos``)."""
        spaces = observation_space.spaces
        if "reference_slots" not in spaces:
            kwargs.update(vocabulary_size=int(spaces["text"].high.max()) + 1, spelling=spelling)
        return cls(spaces["text_slots"].shape[0], spaces["candidates"].shape[0], **kwargs)

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.scores(self.features(obs), obs)

    def scores(self, f: dict[str, torch.Tensor], obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Scores from :class:`AlignmentFeatures` (computed once, they can serve several networks)."""
        return self.scores_and_summary(f, obs)[0]

    def scores_and_summary(
        self, f: dict[str, torch.Tensor], obs: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        unit = F.pad(f["unit"], (0, 0, 0, 1))  # the end of the text is position L
        text_wide = f["global"][:, None, :].expand(-1, self.L + 1, -1)  # every position sees the whole text's state
        h = self.read(torch.cat([unit, f["gap"], text_wide], dim=-1))
        if self.words is not None:
            h = h + self.words.positions(obs["text"])
        h = self.encode(h)  # (B, L+1, d)
        units = h[:, : self.L]
        left = F.pad(units, (0, 0, 1, 0))  # unit p-1 for gaps p = 0..L
        gaps = self.gap(torch.cat([left, h, f["gap"]], dim=-1))
        valid = f["unit"][..., :1]
        pooled = (units * valid).sum(1) / valid.sum(1).clamp(min=1)
        summary = torch.cat([pooled, f["global"]], dim=-1)
        insert = self.insert_head(gaps, f["insert"], pooled, f["need"])
        replace = self.replace_head(units, f["replace"], pooled, f["need"])
        if self.words is not None:
            candidates = obs["candidates"]
            insert = insert + self.words.pair_scores(gaps, candidates, insert=True)[..., None]
            replace = replace + self.words.pair_scores(units, candidates, insert=False)[..., None]
        scores = torch.cat(
            [self.stop_head(summary)[:, None], self.delete_head(units), insert, replace], dim=1
        )  # (B, n, outputs)
        if self.gain_values is not None:
            gains = obs[GAINS].float()[..., None]
            scores = self.gain_values.q_values(gains, obs[HEADROOM].float(), scores)
        return (scores.squeeze(-1) if self.outputs == 1 else scores), summary
