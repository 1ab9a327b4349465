"""The Q-network: reads the text against the reference and scores every edit in the env's action layout.

What decides the right edit is how the text lines up with the reference, not which words they
are. So the network reads both texts through their *slots* (``text_slots`` / ``reference_slots``:
which candidate word each unit is) rather than through vocabulary ids, and carries over unchanged
to sentences, and words, it never saw in training:

- For each text position p (and the end gap p = L) a window of the reference around p:
  ``same[p, d]`` says whether the text unit at p is the reference unit at p + d
  (-W <= d <= W), ``ref_here[p, d]`` whether the reference has a unit there, and whether the
  text has one at p. With at most W insertions or deletions before p, the window contains the
  reference unit that p is aligned with.
- A sequence encoder (GRU, LSTM or Transformer) reads these per-position features along the
  text, so each position also knows the alignment of its neighbours: ``h_p``.
- Per-candidate windows: ``cand_ref[p, k, d]`` whether candidate k is the reference unit at
  p + d, ``cand_text[p, k, d]`` whether it is the text unit at p + d, plus how many more times
  k occurs in the reference than in the text.

Heads, each a small MLP::

    Q(stop)         = f(mean_p h_p)
    Q(delete p)     = f(h_p)
    Q(insert p, k)  = f(g_p, cand(p, k))      g_p: the gap before unit p, from h_{p-1} and h_p
    Q(replace p, k) = f(h_p, cand(p, k))
"""

from __future__ import annotations

import torch
from torch import nn

from textedit_env.actions import SLOT_FIRST

ENCODERS = ("gru", "lstm", "transformer")


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
        else:
            rnn = nn.GRU if kind == "gru" else nn.LSTM
            self.net = rnn(dim, dim // 2, layers, batch_first=True, bidirectional=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "transformer":
            return self.net(x + self.position)
        return self.net(x)[0]


def _mlp(inputs: int, dim: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(inputs, dim), nn.ReLU(), nn.Linear(dim, 1))


def _windows(x: torch.Tensor, width: int, fill: int) -> torch.Tensor:
    """(B, T) -> (B, T + 1, 2W + 1): for positions 0..T, the values at p - W .. p + W."""
    padded = nn.functional.pad(x, (width, width + 1), value=fill)
    return padded.unfold(1, 2 * width + 1, 1)


class QNetwork(nn.Module):
    def __init__(self, max_length: int, num_candidates: int, encoder: str = "gru", dim: int = 64,
                 layers: int = 1, heads: int = 4, window: int = 4):
        super().__init__()
        self.L, self.K, self.W = max_length, num_candidates, window
        span = 2 * window + 1
        self.read = nn.Sequential(nn.Linear(2 * span + 2, dim), nn.ReLU())
        self.encode = SequenceEncoder(encoder, dim, layers, heads, max_length + 1)
        self.gap = nn.Sequential(nn.Linear(2 * dim, dim), nn.ReLU())
        candidate_features = 2 * span + 1
        self.stop_head, self.delete_head = _mlp(dim, dim), _mlp(dim, dim)
        self.insert_head, self.replace_head = _mlp(dim + candidate_features, dim), _mlp(dim + candidate_features, dim)

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Q-values (B, n) in the layout of :mod:`textedit_env.actions` from a batch of "ids" observations."""
        text, ref = obs["text_slots"].long(), obs["reference_slots"].long()
        B, L, K = text.shape[0], self.L, self.K
        ref_win = _windows(ref, self.W, 0)  # (B, L+1, S): reference slots around each position
        text_here = torch.nn.functional.pad(text, (0, 1)) > 0  # (B, L+1)
        same = (ref_win == torch.nn.functional.pad(text, (0, 1))[..., None]) & (ref_win >= SLOT_FIRST)
        features = torch.cat([same.float(), (ref_win > 0).float(), text_here[..., None].float(),
                              (obs["lengths"][:, :1] - obs["lengths"][:, 1:]).float()[:, None].expand(B, L + 1, 1) / L], dim=-1)
        h = self.encode(self.read(features))  # (B, L+1, d): units 0..L-1 and the end
        units = h[:, :L]
        left = torch.cat([torch.zeros_like(h[:, :1]), units], dim=1)  # unit p-1 for gaps p = 0..L
        gaps = self.gap(torch.cat([left, h], dim=-1))  # (B, L+1, d)

        slots = torch.arange(K, device=text.device) + SLOT_FIRST
        cand_ref = (ref_win[:, :, None, :] == slots[None, None, :, None]).float()  # (B, L+1, K, S)
        text_win = _windows(text, self.W, 0)
        cand_text = (text_win[:, :, None, :] == slots[None, None, :, None]).float()
        missing = ((ref[:, None, :] == slots[None, :, None]).sum(-1) - (text[:, None, :] == slots[None, :, None]).sum(-1)).float()
        cand = torch.cat([cand_ref, cand_text, missing[:, None, :, None].expand(B, L + 1, K, 1)], dim=-1)

        def pair(head: nn.Module, positions: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
            x = torch.cat([positions[:, :, None, :].expand(-1, -1, K, -1), c], dim=-1)
            return head(x).squeeze(-1).flatten(1)

        return torch.cat([
            self.stop_head(units.mean(dim=1)),
            self.delete_head(units).squeeze(-1),
            pair(self.insert_head, gaps, cand),
            pair(self.replace_head, units, cand[:, :L]),
        ], dim=1)
