"""A small language-model policy: reads the prompt of :mod:`textedit_env.wrappers.text_commands`
token by token and writes a command (``replace 3 dog``) token by token.

Tokens are whitespace-separated words. The tokenizer holds the command words, the position numbers
``0..L``, the prompt's gap markers ``[0]..[L]`` and template words, and placeholders ``<w0> <w1> ...``.
Every word of a prompt reads as a placeholder, numbered by its first appearance in that prompt: the
same word is the same placeholder in the reference, the text and the candidate list, so the model
works by matching, and can match and copy a word it never saw (pointing at ``<w3>`` writes the word
it stands for), as anonymised entities let reading-comprehension models handle unseen names.
With the reference observed, a placeholder of the reference and text lines also reads the step from
the previous word's number to its own (``placeholder_steps``): a text equal to its reference reads the
same steps at any length, where the numbers' own embeddings are rarely trained past short sentences.
In the text line the steps are anchored (``anchored_steps``): in reference positions, from the last
word before it that the reference has; a word the reference lacks reads a step token of its own.
``min_word_count`` N gives the words of at least N demonstration sentences a token of their own as
well, read beside their placeholder (the two embeddings added): the placeholder says which words of
the prompt it equals, the token what the word is.

By default the mode decides. With the reference observed, no word has a token: the edits follow from
matching, and on the ``english`` preset (BLEU, seed 1; ``benchmarks/results/stopping.md``) tokens for
the words of at least 2 sentences lowered the solve rate from 0.945 to 0.920 and the stop rate from
0.975 to 0.835 (a third of the test references' words occur in no training sentence, so the share of
words with a token shifts between training and test). When earlier tokenizers gave such words a
token *instead* of a placeholder (``word_placeholders="unknown"``), seed 0 solved 0.03 (a token for
every task-set word), 0.21, 0.545 and 0.655 (for the words of 2, 10 or 30 sentences), against 0.910
with placeholders alone. With the reference hidden, what to correct depends on the words themselves
(``a`` or ``the``, ``want`` or ``wants``), which placeholders alone do not say: the words of at least
2 sentences get tokens (``HIDDEN_MIN_WORD_COUNT``). On ``fix-easy`` (50,000-step budget, 200 test
episodes) placeholders alone reached a normalized return of 0.40-0.45 (solve 0.49-0.54, seeds 0-3),
tokens beside them 0.989 (solve 0.990, seed 0), a token for every word instead 1.000 (seed 0).

The model encodes the prompt (a bidirectional LSTM, or a small Transformer encoder with learned
positions; ``attention_layers`` adds pre-norm Transformer blocks on top, so that a text word can find its
twin placeholder in the reference and compare what surrounds the two) and decodes with an LSTM cell
that attends over the encoding. Each output token is drawn from a pointer-generator mixture: a
softmax over the whole token vocabulary, and a copy of the prompt token the decoder points at
(pointing at a marker ``[3]`` writes ``3``), mixed by a learned gate. Decoding is free by default:
nothing forces the output to be a well-formed command, so the policy can write invalid commands, and
the agent counts them (``invalid_commands`` / ``commands``); ``decoding="valid"`` has the agent play
the likeliest of the state's valid commands instead, and ``decoding="unseen"`` the likeliest of those
that do not bring back a text the episode has had.

Training, inside :func:`train`, in two stages:

1. Supervised pretraining: (prompt, oracle command) pairs from ``pretrain_episodes`` training-split
   episodes played by :func:`textedit_env.policies.oracle_policy` (a share started at their
   reference, where the command is ``stop``), cross-entropy with teacher forcing, Adam. With
   ``dagger_rounds`` (DAgger, off by default), the pretrained model then plays training episodes
   itself, the oracle labels each state it visits, and the model trains one more pass over the
   demonstrations and these pairs together, once per round.
2. RL fine-tuning (GRPO-style): ``rl_envs`` training environments; in each one's state, sample
   ``group_size`` commands and reward each by stepping a copy of the env with its action and then
   with the oracle's edits to the end of the episode: the discounted return (``gamma``) of the
   command followed by the oracle, in the env's own reward. An invalid command (unparsable or not
   allowed in the state) gets the env's invalid-action reward minus ``invalid_penalty``. Advantages
   are relative to the group: reward minus the group mean (not divided by the group's spread, which
   would blow near-ties between equally good edits up to full-size updates);
   the loss is ``-advantage * log p(command)`` plus ``kl_coef`` times a KL estimate to the frozen
   pretrained model (``exp(r) - r - 1`` per token, ``r = log p_ref - log p``). Each environment
   then plays the group's first sample, so the states are the policy's own.

   Why not the one-step reward (``action_rewards()``): stop is paid 0 and most wrong edits less, so
   group-relative advantages favour stopping in every state, and the policy learned to stop early
   (one run on easy, 200 test episodes: solve rate 0.805 -> 0.735, 44 of the 53 failures a premature
   stop). With the oracle's continuation, stopping forfeits the rest of the episode's gain, and the
   discount makes the edit that leaves the fewest edits to do the best.

With the defaults of the time, ``min_word_count=0`` (no placeholders) and ``reference_starts=0.1``, on
``{"preset": "easy"}`` (``benchmarks/results/lm_policy.md``): about 7 minutes of
training on two shared cores, test-split solve rate 0.875 after pretraining and 0.885 after RL
fine-tuning (oracle 1.000). The RL stage changes little: it raises the return of the commands it
samples, but the agent plays the argmax command, which moves less.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args, get_type_hints

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from textedit_agents.agent import SavedAgent
from textedit_agents.arguments import check_fields
from textedit_agents.env_util import make_env
from textedit_agents.logger import RunLogger
from textedit_agents.policy import EpisodeTexts, first_unvisited
from textedit_agents.storage import run_config
from textedit_agents.training import Checkpoints, check_finite, linear_schedule
from textedit_env.policies import oracle_policy
from textedit_env.rollout import play_episode, rollout, step_limit
from textedit_env.wrappers import StartAtReference
from textedit_env.wrappers.text_commands import (
    COMMANDS,
    GRAMMAR,
    HEADERS,
    command_for,
    format_prompt,
    invalid_action,
    parse_command,
    position_marker,
)

NAME = "lm"
PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)
PLACEHOLDER = "<w{}>"
STEP = "<step{:+d}>"
NEW_STEP = "<step:new>"  # anchored steps: a text word that is not in the reference (source) line
MAX_STEP = 3  # steps between placeholder numbers are clipped to -3..+3
STEPPED_LINES = ("reference:", "source:", "text:")  # the candidate line is in no order: no steps
MAX_COMMAND_TOKENS = 4  # op, position, word, end
HIDDEN_MIN_WORD_COUNT = 2


@dataclass
class Args:
    steps: int = 4_096
    """environment steps of the RL stage (states, summed over the rl_envs environments): one update per rl_envs steps"""
    seed: int = 0
    """seed of the weights, the demonstrations, the RL environments and the sampled commands"""
    pretrain_episodes: int = 20_000
    """training-split episodes played by the oracle for supervised pretraining"""
    pretrain_epochs: int = 8
    """passes over the demonstrations"""
    dagger_rounds: int = 0
    """rounds of DAgger after pretraining: the model plays ``dagger_episodes`` training-split episodes
    greedily (at most ``train_episode_steps`` steps each), every state it visits is labelled with the
    oracle's command there, the pairs join the demonstrations, and the model trains one more pass over
    them all; so the policy learns what to do in the states its own mistakes lead to (after a wrong
    edit, in a loop, at the reference it reached), which the oracle's episodes never show"""
    dagger_episodes: int = 2_000
    """episodes the model plays per DAgger round"""
    min_word_count: int | None = None
    """N: a word has a token of its own when it occurs in at least N distinct sentences (the prompts'
    first lines) of the demonstrations; rarer and unseen words read as placeholders alone. 0: every
    word of the task set (all splits) has a token. None: by the mode. With the reference observed, no
    word has a token, every word reads as a placeholder (the model works by matching; tokens only
    shifted it between training and test words); hidden, N = 2 (HIDDEN_MIN_WORD_COUNT: what to
    correct depends on the words themselves)"""
    placeholder_steps: bool | None = None
    """each placeholder of the reference (or source) line and the text line also reads the step from the
    previous placeholder's number to its own (a token of its own, clipped to -3..+3; the line's first
    word steps from -1). Placeholders are numbered by first appearance, reference first, so the
    reference reads +1 at almost every word, a text equal to it the same steps, a missing word a +2,
    a surplus word a jump: the same few tokens at every length, where the numbers' own embeddings are
    rarely trained past the length of most sentences. None: on with the reference observed (where the
    model works by matching the text against it), off with it hidden (not measured there)"""
    anchored_steps: bool = True
    """with placeholder steps, the text line steps in positions of the reference (or source) line: a
    word steps from the anchor, the reference position of the last word before it that the reference
    has, to its own first position after the anchor (else its last before), which becomes the anchor;
    a word the reference lacks reads a step token of its own (``<step:new>``) and moves no anchor. A
    text equal to its reference then reads +1 at every word, also where the reference repeats a word,
    and a surplus word and a substitution differ at the next word (``a b X c`` against ``a b c``: c
    steps +1; ``a b X d`` against ``a b c d``: d steps +2), where plain steps read the same jump back
    after both. False: plain steps, from the previous word's placeholder number (runs before this
    option). On the documentation file of ``benchmarks/results/stopping.md`` (BLEU, seeds 0 and 1)
    anchored steps solved 0.815 and 0.790 and stopped at once in 0.995 and 1.000 of the reference
    starts, plain steps 0.555 and 0.540, 0.690 and 0.635"""
    word_placeholders: Literal["all", "unknown"] = "all"
    """which words of a prompt read as placeholders. "all": every word; one with a token of its own
    (min_word_count) reads as both, the two embeddings added: the placeholder says which words of the
    prompt it equals, the token what it is (with the reference hidden, what is wrong in a text depends
    on the words themselves). "unknown": only words without a token of their own (the tokenizer of
    runs before this option)"""
    reference_starts: float = 0.3
    """share of demonstration and RL episodes that start at their reference (the command there is
    stop): the other episodes end when they reach it, so stop is learned from these alone (at 0.1
    the policy stopped at once in 0.01 of english's and 0.045 of easy chrF's reference starts, at
    0.3 in 0.545 and 0.59)"""
    batch_size: int = 64
    """(prompt, command) pairs per pretraining step"""
    lr: float = 2e-3
    """Adam learning rate of pretraining"""
    rl_lr: float = 5e-4
    """Adam learning rate of RL fine-tuning"""
    rl_envs: int = 16
    """environments (states) per RL update"""
    group_size: int = 8
    """commands sampled per state; their rewards are compared within the group"""
    kl_coef: float = 0.02
    """weight of the KL penalty to the frozen pretrained model"""
    gamma: float = 0.5
    """discount of the RL reward: a command's reward and the oracle's rewards after it"""
    invalid_penalty: float = 0.1
    """subtracted from the reward of an invalid command during RL (on top of the env's own invalid penalty)"""
    train_episode_steps: int = 10
    """time limit of RL training episodes"""
    encoder: Literal["lstm", "transformer"] = "lstm"
    """prompt encoder: a bidirectional LSTM or a Transformer encoder"""
    dim: int = 64
    """width of embeddings and hidden states"""
    layers: int = 2
    """Transformer encoder layers (the LSTM encoder has one)"""
    attention_layers: int = 0
    """self-attention blocks on top of the encoder (pre-norm, residual, 4 heads): each token can look up
    the tokens with its placeholder (a text word's twin in the reference) and compare their contexts"""
    decoding: Literal["free", "valid", "unseen"] = "free"
    """how the agent picks its command. "free": token by token, each the most likely (the command may
    not parse, or not be allowed in the state: an invalid action). "valid": the command with the
    highest probability (its tokens' log-probabilities summed) among those of the state's valid
    actions, so never an invalid one (the ranking of admissible commands text-game agents use).
    "unseen": the same, among the valid commands that do not bring back a text the episode has had
    (stop when none is left), the rule the DQN and BC agents play by. Only the agent's greedy choice
    changes: training samples freely either way"""
    device: str = "cpu"
    """torch device"""

    def __post_init__(self) -> None:
        check_fields(
            self,
            positive=(
                "steps",
                "pretrain_episodes",
                "pretrain_epochs",
                "dagger_episodes",
                "batch_size",
                "lr",
                "rl_lr",
                "rl_envs",
                "group_size",
                "train_episode_steps",
                "dim",
                "layers",
            ),
            non_negative=(
                "seed",
                "dagger_rounds",
                "attention_layers",
                "kl_coef",
                "invalid_penalty",
                *(("min_word_count",) if self.min_word_count else ()),
            ),
            unit_interval=("reference_starts", "gamma"),
        )
        if self.group_size < 2:
            raise ValueError(
                f"group_size={self.group_size}: expected at least 2 (advantages are relative to the group)"
            )
        for name in ("word_placeholders", "encoder", "decoding"):
            choices = get_args(get_type_hints(Args)[name])
            if getattr(self, name) not in choices:
                raise ValueError(f"{name}={getattr(self, name)!r}: expected {' or '.join(map(repr, choices))}")
        if (self.encoder == "transformer" or self.attention_layers) and self.dim % 4:
            raise ValueError(
                f"dim={self.dim}: attention (the Transformer encoder, attention_layers) needs a multiple of its 4 heads"
            )


# --------------------------------------------------------------------------- tokens
@dataclass
class EncodedPrompt:
    """A prompt as the model reads it: per token its id (a token, or a placeholder), the id of the
    word's own token read beside a placeholder (0: none) and of its placeholder step (0: none, see
    ``Args.placeholder_steps``); ``names`` maps words to their placeholders."""

    ids: list[int]
    identities: list[int]
    steps: list[int]
    names: dict[str, int]


class Tokenizer:
    """Whitespace tokens to ids. A prompt's words read as placeholders (numbered by first appearance
    in the prompt): those without a token of their own, or with ``all_placeholders`` every word, a word
    with a token then reading as both. A word reads as ``<unk>`` when it has neither, the tokenizer
    having no placeholders or the prompt more such words than placeholders. Placeholder steps are
    read when the tokens include them, anchored (see ``Args.anchored_steps``) when they include
    ``<step:new>``."""

    def __init__(self, tokens: list[str], all_placeholders: bool = False):
        self.tokens = list(dict.fromkeys(tokens))
        self.ids = {t: i for i, t in enumerate(self.tokens)}
        self.unk, self.bos, self.eos = self.ids[UNK], self.ids[BOS], self.ids[EOS]
        self.placeholders = [i for i, t in enumerate(self.tokens) if _is_placeholder(t)]
        self.all_placeholders = all_placeholders
        # Tokens that are never a placeholder: the prompt's and the commands' own vocabulary.
        self.template = {t for t in self.tokens if t in SPECIALS or _is_template(t) or _is_placeholder(t)}
        self.steps = {d: self.ids[STEP.format(d)] for d in range(-MAX_STEP, MAX_STEP + 1) if STEP.format(d) in self.ids}
        self.new_step = self.ids.get(NEW_STEP)
        # What pointing at a prompt token writes: a gap marker writes its number, any other token itself.
        self.copy_ids = torch.tensor(
            [self.ids.get(t[1:-1], i) if _is_marker(t) else i for i, t in enumerate(self.tokens)]
        )

    @classmethod
    def for_env(
        cls,
        env: gym.Env,
        pairs: list[tuple[str, str]] | None = None,
        min_word_count: int | None = 0,
        all_placeholders: bool = False,
        placeholder_steps: bool = False,
        anchored_steps: bool = False,
    ) -> Tokenizer:
        """The tokenizer of ``env``'s prompts. ``min_word_count`` 0: a token for every word of the task
        set (all splits). None: no word has a token. Else a token for each word in at least
        ``min_word_count`` distinct first lines (sentences) of the demonstrations ``pairs``. Placeholders
        (unless min_word_count is 0 without ``all_placeholders``): as many as the distinct words a prompt
        can hold (reference, text and candidates); with ``placeholder_steps``, their step tokens (and
        with ``anchored_steps`` the new word's, ``<step:new>``)."""
        base = env.unwrapped
        numbers = [str(p) for p in range(base.max_length + 1)]
        markers = [position_marker(p) for p in range(base.max_length + 1)]
        steps = [STEP.format(d) for d in range(-MAX_STEP, MAX_STEP + 1)] if placeholder_steps else []
        steps += [NEW_STEP] if placeholder_steps and anchored_steps else []
        template = [*SPECIALS, *COMMANDS, *numbers, *markers, *HEADERS, *steps]
        if min_word_count == 0:
            known = list(base.vocabulary.itos[2:])
        else:
            sentences = {prompt.split("\n", 1)[0] for prompt, _ in pairs or []} if min_word_count else set()
            counts = Counter(word for line in sentences for word in set(line.split()[1:]))
            known = sorted(w for w, n in counts.items() if n >= min_word_count)
        slots = 2 * base.max_length + base.num_candidates if min_word_count != 0 or all_placeholders else 0
        return cls([*template, *known, *(PLACEHOLDER.format(i) for i in range(slots))], all_placeholders)

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, text: str, names: dict[str, int] | None = None) -> EncodedPrompt:
        """Ids of the tokens of ``text``; words that read as placeholders take them from ``names`` (word
        -> placeholder id, extended in place with the next free placeholders)."""
        names = {} if names is None else names
        ids, identities, steps = [], [], []
        stepping, previous = False, -1
        line: list[str] = []  # the words of the stepped line being read
        anchors: dict[str, list[int]] | None = None  # anchored steps: the first stepped line's positions of each word
        for token in text.split():
            own = self.ids.get(token)
            as_placeholder = own is None or (self.all_placeholders and token not in self.template)
            step = 0
            if as_placeholder and (token in names or len(names) < len(self.placeholders)):
                ids.append(names.setdefault(token, self.placeholders[len(names)]))
                identities.append(0 if own is None else own)
                if stepping and self.steps:
                    if anchors is None:
                        number = ids[-1] - self.placeholders[0]  # the placeholders are the last tokens, in order
                    else:
                        # The word's first position in the reference after the anchor's (else its last before).
                        positions = anchors.get(token, [])
                        number = next((q for q in positions if q > previous), positions[-1] if positions else None)
                    if number is None:
                        step = self.new_step
                    else:
                        step = self.steps[max(-MAX_STEP, min(MAX_STEP, number - previous))]
                        previous = number
                    line.append(token)
            else:
                ids.append(self.unk if own is None else own)
                identities.append(0)
                if token in HEADERS:
                    if stepping and anchors is None and self.new_step is not None:
                        anchors = {}
                        for position, word in enumerate(line):
                            anchors.setdefault(word, []).append(position)
                    stepping, previous, line = token in STEPPED_LINES, -1, []
            steps.append(step)
        return EncodedPrompt(ids, identities, steps, names)

    def encode_prompt(self, prompt: str) -> EncodedPrompt:
        """The prompt without its grammar line (the same in every prompt, it tells a model trained on
        commands nothing and would double the tokens to read)."""
        return self.encode(prompt.replace(GRAMMAR, ""))

    def encode_command(self, command: str, names: dict[str, int]) -> list[int]:
        """Ids of a command about the prompt whose placeholders are ``names``, and the end token."""
        return self.encode(command, dict(names)).ids + [self.eos]

    def decode(self, ids: list[int], names: dict[str, int]) -> str:
        """The command of a decoded id sequence (the tokens before the first end token), placeholders
        written as the words ``names`` gave them."""
        words_of = {i: w for w, i in names.items()}
        words = []
        for i in ids:
            if i == self.eos:
                break
            words.append(words_of.get(i, self.tokens[i]))
        return " ".join(words)


def _is_marker(token: str) -> bool:
    return token.startswith("[") and token.endswith("]") and token[1:-1].isdigit()


def _is_template(token: str) -> bool:
    return token in COMMANDS or token in HEADERS or token.isdigit() or _is_marker(token) or _is_step(token)


def _is_step(token: str) -> bool:
    return token == NEW_STEP or token.startswith("<step") and token.endswith(">") and token[5:-1].lstrip("+-").isdigit()


def _is_placeholder(token: str) -> bool:
    return token.startswith("<w") and token.endswith(">") and token[2:-1].isdigit()


# --------------------------------------------------------------------------- model
class CommandModel(nn.Module):
    """Prompt encoder and pointer-generator LSTM decoder (see the module docstring), shaped by
    ``args``' dim, encoder, layers and attention_layers; ``max_prompt`` tokens for learned positions."""

    def __init__(self, tokenizer: Tokenizer, args: Args, max_prompt: int):
        super().__init__()
        dim, encoder = args.dim, args.encoder
        vocab = len(tokenizer)
        self.register_buffer("copy_ids", tokenizer.copy_ids.clone(), persistent=False)
        self.embed = nn.Embedding(vocab, dim, padding_idx=0)
        self.encoder_kind = encoder
        if encoder == "lstm":
            self.encoder = nn.LSTM(dim, dim // 2, batch_first=True, bidirectional=True)
        else:
            self.positions = nn.Embedding(max_prompt, dim)
            layer = nn.TransformerEncoderLayer(dim, 4, 2 * dim, dropout=0.0, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, args.layers, enable_nested_tensor=False)
        self.encoded_dim = 2 * (dim // 2) if encoder == "lstm" else dim
        # Pre-norm blocks on top of the encoder: its states say where a token is and what surrounds
        # it, attention finds its twins.
        self.attention = nn.ModuleList(
            nn.TransformerEncoderLayer(self.encoded_dim, 4, 2 * dim, dropout=0.0, batch_first=True, norm_first=True)
            for _ in range(args.attention_layers)
        )
        self.init_state = nn.Linear(self.encoded_dim, 2 * dim)
        self.cell = nn.LSTMCell(dim + self.encoded_dim, dim)
        self.query = nn.Linear(dim, self.encoded_dim, bias=False)
        self.pointer = nn.Linear(dim + self.encoded_dim, self.encoded_dim, bias=False)
        self.generate = nn.Linear(dim + self.encoded_dim, vocab)
        self.gate = nn.Linear(dim + self.encoded_dim, 1)

    def encode(self, prompts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, tuple]:
        """Memory ``(B, T, E)``, mask of real tokens ``(B, T)`` and the decoder's first state of
        ``prompts`` ``(B, 3, T)`` (see :func:`batch`)."""
        ids, identities, steps = prompts.unbind(1)
        mask = ids != 0
        x = self.embed(ids) + self.embed(identities) + self.embed(steps)  # 0 is the padding token: a zero vector
        if self.encoder_kind == "lstm":
            lengths = mask.sum(1).cpu()
            packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            memory, _ = nn.utils.rnn.pad_packed_sequence(
                self.encoder(packed)[0], batch_first=True, total_length=ids.shape[1]
            )
        else:
            x = x + self.positions(torch.arange(ids.shape[1], device=ids.device))
            memory = self.encoder(x, src_key_padding_mask=~mask)
        for block in self.attention:
            memory = block(memory, src_key_padding_mask=~mask)
        pooled = (memory * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
        h, c = torch.tanh(self.init_state(pooled)).chunk(2, dim=-1)
        context = torch.zeros(len(ids), self.encoded_dim, device=ids.device)
        return memory, mask, (h, c, context)

    def step(
        self, tokens: torch.Tensor, state: tuple, memory: torch.Tensor, mask: torch.Tensor, prompts: torch.Tensor
    ) -> tuple[torch.Tensor, tuple]:
        """Log-probabilities ``(B, V)`` of the next token after ``tokens`` ``(B,)``, and the new state."""
        h, c, context = state
        h, c = self.cell(torch.cat([self.embed(tokens), context], -1), (h, c))
        scale = 1 / math.sqrt(self.encoded_dim)
        attention = torch.softmax(self._scores(memory, self.query(h), mask) * scale, -1)
        context = torch.bmm(attention[:, None], memory).squeeze(1)
        features = torch.cat([h, context], -1)
        pointer = torch.softmax(self._scores(memory, self.pointer(features), mask) * scale, -1)
        copied = torch.zeros(len(tokens), self.generate.out_features, device=tokens.device)
        copied = copied.scatter_add(1, self.copy_ids[prompts[:, 0]], pointer)
        gate = torch.sigmoid(self.gate(features))
        probs = gate * torch.softmax(self.generate(features), -1) + (1 - gate) * copied
        return torch.log(probs.clamp_min(1e-9)), (h, c, context)

    @staticmethod
    def _scores(memory: torch.Tensor, query: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bte,be->bt", memory, query).masked_fill(~mask, -torch.inf)

    def token_logprobs(self, prompts: torch.Tensor, commands: torch.Tensor, bos: int) -> torch.Tensor:
        """Log-probability ``(B, S)`` of each token of ``commands`` (teacher forcing): the i-th command
        about the i-th prompt, or all of them about a single prompt (encoded once)."""
        memory, mask, state = self.encode(prompts)
        if len(prompts) == 1 < len(commands):
            n = len(commands)
            memory, mask, prompts = (x.expand(n, *x.shape[1:]) for x in (memory, mask, prompts))
            state = tuple(x.expand(n, -1) for x in state)
        previous = torch.full((len(prompts),), bos, dtype=torch.long, device=prompts.device)
        out = []
        for s in range(commands.shape[1]):
            logp, state = self.step(previous, state, memory, mask, prompts)
            out.append(logp.gather(1, commands[:, s : s + 1]).squeeze(1))
            previous = commands[:, s]
        return torch.stack(out, 1)

    @torch.no_grad()
    def decode(
        self, prompts: torch.Tensor, bos: int, eos: int, samples: int = 1, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Commands ``(B * samples, MAX_COMMAND_TOKENS)``, ``samples`` per prompt in a row: drawn
        from the model with a generator, else its argmax (samples=1); 0 pads after the end token."""
        memory, mask, state = self.encode(prompts)
        memory, mask, prompts = (x.repeat_interleave(samples, 0) for x in (memory, mask, prompts))
        state = tuple(x.repeat_interleave(samples, 0) for x in state)
        previous = torch.full((len(prompts),), bos, dtype=torch.long, device=prompts.device)
        done = torch.zeros(len(prompts), dtype=torch.bool, device=prompts.device)
        out = []
        for _ in range(MAX_COMMAND_TOKENS):
            logp, state = self.step(previous, state, memory, mask, prompts)
            if generator is None:
                token = logp.argmax(-1)
            else:
                token = torch.multinomial(logp.exp().cpu(), 1, generator=generator).squeeze(1).to(logp.device)
            token = token.masked_fill(done, 0)
            out.append(token)
            done |= token == eos
            previous = token
        return torch.stack(out, 1)


def pad(rows: list[list[int]], device: torch.device) -> torch.Tensor:
    width = max(map(len, rows))
    return torch.tensor([row + [0] * (width - len(row)) for row in rows], dtype=torch.long, device=device)


def batch(prompts: list[EncodedPrompt], device: torch.device) -> torch.Tensor:
    """Prompts as the model reads them, ``(B, 3, T)``: the ids, the identities and the steps, padded with 0."""
    return (
        pad([p.ids for p in prompts] + [p.identities for p in prompts] + [p.steps for p in prompts], device)
        .view(3, len(prompts), -1)
        .transpose(0, 1)
    )


# --------------------------------------------------------------------------- agent
class Agent(SavedAgent):
    """The model as a greedy policy (``agent(env, obs, info) -> action``): argmax decoding of the
    prompt of ``env``'s state (or the likeliest valid command, ``decoding="valid"`` / ``"unseen"``), parsed by
    :func:`parse_command`. A command that does not parse or is not valid in the state is played as an
    invalid action and counted in ``invalid_commands``."""

    NAME, ARGS = NAME, Args
    ADDED_ARGS = {
        "min_word_count": 0,
        "word_placeholders": "unknown",
        "placeholder_steps": False,
        "anchored_steps": False,
    }

    def __init__(self, model: CommandModel, tokenizer: Tokenizer, args: Args, env_kwargs: dict):
        super().__init__(args, env_kwargs)
        self.model, self.tokenizer = model.eval(), tokenizer
        self.device = next(model.parameters()).device
        self.commands, self.invalid_commands = 0, 0
        self.last_command, self.last_error = "", ""
        self.visited = EpisodeTexts()

    def command(self, env: gym.Env) -> str:
        """The greedy command in the environment's state (see ``Args.decoding``)."""
        prompt = self.tokenizer.encode_prompt(format_prompt(env))
        prompts = batch([prompt], self.device)
        if self.args.decoding == "free":
            command = self.model.decode(prompts, self.tokenizer.bos, self.tokenizer.eos)[0].tolist()
            return self.tokenizer.decode(command, prompt.names)
        scores = self.valid_command_logprobs(env, prompt, prompts)
        if self.args.decoding == "unseen":
            return command_for(env, first_unvisited(env, scores, self.visited))
        return command_for(env, int(scores.argmax()))

    @torch.no_grad()
    def valid_command_logprobs(self, env: gym.Env, prompt: EncodedPrompt, prompts: torch.Tensor) -> np.ndarray:
        """Log-probability of each action's command in ``env``'s state (-inf for the invalid actions)."""
        mask = env.unwrapped.action_masks()
        actions = np.flatnonzero(mask)
        ids = pad([self.tokenizer.encode_command(command_for(env, a), prompt.names) for a in actions], self.device)
        logp = self.model.token_logprobs(prompts, ids, self.tokenizer.bos)
        scores = np.full(len(mask), -np.inf)
        scores[actions] = (logp * (ids != 0)).sum(1).cpu().numpy()
        return scores

    def __call__(self, env: gym.Env, obs, info: dict) -> int:
        self.last_command = self.command(env)
        action, self.last_error = parse_command(self.last_command, env)
        self.commands += 1
        if action is None:
            self.invalid_commands += 1
            return invalid_action(env)
        return action

    @property
    def invalid_rate(self) -> float:
        """Share of the commands written so far that were invalid (0 before any)."""
        return self.invalid_commands / self.commands if self.commands else 0.0

    def write_checkpoint(self, path: Path) -> None:
        data = {
            "tokens": self.tokenizer.tokens,
            "state_dict": self.model.state_dict(),
            "max_prompt": _max_prompt(self.model),
        }
        torch.save(data, path)

    @classmethod
    def read_checkpoint(cls, path: Path, args: Args, env_kwargs: dict) -> Agent:
        data = torch.load(path, map_location=args.device, weights_only=True)
        tokenizer = Tokenizer(data["tokens"], args.word_placeholders == "all")
        model = CommandModel(tokenizer, args, data["max_prompt"])
        model.load_state_dict(data["state_dict"])
        return cls(model.to(args.device), tokenizer, args, env_kwargs)

    @classmethod
    def validate(cls, args: Args, env_kwargs: dict) -> None:
        """ValueError (one line) for an environment whose texts are not words (the Args check themselves)."""
        if env_kwargs.get("unit", "word") != "word":
            raise ValueError(f"the lm agent reads and writes words: unit={env_kwargs['unit']!r} is not supported")


def _max_prompt(model: CommandModel) -> int:
    return model.positions.num_embeddings if model.encoder_kind == "transformer" else 0


def max_prompt_tokens(env: gym.Env) -> int:
    """Most tokens the model reads of a prompt of this environment: headers, L reference words, L
    words and L + 1 markers, K candidates."""
    base = env.unwrapped
    return 3 + 3 * base.max_length + 1 + base.num_candidates


# --------------------------------------------------------------------------- stage 1: imitation
def demonstrations(env_kwargs: dict, episodes: int, seed: int, reference_starts: float) -> list[tuple[str, str]]:
    """(prompt, oracle command) of every state of ``episodes`` oracle episodes on the training split."""
    env = StartAtReference(make_env(env_kwargs), reference_starts)
    pairs = []

    def oracle_recorded(env: gym.Env, obs, info) -> int:
        action = oracle_policy(env, obs, info)
        pairs.append((format_prompt(env), command_for(env, action)))
        return action

    for episode in range(episodes):
        play_episode(env, oracle_recorded, seed=seed + episode)
    return pairs


def relabelled_states(agent: Agent, env_kwargs: dict, episodes: int, seed: int, args: Args) -> list[tuple[str, str]]:
    """(prompt, oracle command) of every state the agent visits in ``episodes`` training-split
    episodes (reset seeds ``seed``, ``seed + 1``, ...; a ``reference_starts`` share started at the
    reference; cut at ``train_episode_steps``): DAgger's labels for the agent's own states."""
    env = StartAtReference(make_env(env_kwargs, max_episode_steps=args.train_episode_steps), args.reference_starts)
    pairs = []

    def relabelled(env: gym.Env, obs, info) -> int:
        pairs.append((format_prompt(env), command_for(env, oracle_policy(env, obs, info))))
        return agent(env, obs, info)

    for episode in range(episodes):
        play_episode(env, relabelled, seed=seed + episode)
    env.close()
    return pairs


def pretrain(
    model: CommandModel,
    tokenizer: Tokenizer,
    pairs: list[tuple[str, str]],
    args: Args,
    rng: np.random.Generator,
    progress: bool,
    epochs: int | None = None,
) -> float:
    """Cross-entropy on the oracle's commands, ``epochs`` passes (default ``pretrain_epochs``; Adam,
    learning rate decaying linearly from ``lr`` to a tenth of it); returns the last epoch's mean loss
    per token."""
    epochs = args.pretrain_epochs if epochs is None else epochs
    device = next(model.parameters()).device
    prompts = [tokenizer.encode_prompt(p) for p, _ in pairs]
    commands = [tokenizer.encode_command(c, prompt.names) for prompt, (_, c) in zip(prompts, pairs)]
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    batches = math.ceil(len(pairs) / args.batch_size)
    updates = epochs * batches
    bar = tqdm(total=updates, desc="pretrain", unit="batch", disable=not progress, dynamic_ncols=True)
    model.train()
    for epoch in range(epochs):
        order, total, tokens = rng.permutation(len(pairs)), 0.0, 0
        for b in range(batches):
            # Decaying to a tenth of the rate sharpens the end of training.
            optimizer.param_groups[0]["lr"] = linear_schedule(args.lr, args.lr / 10, updates, epoch * batches + b)
            idx = order[b * args.batch_size : (b + 1) * args.batch_size]
            target = pad([commands[i] for i in idx], device)
            logp = model.token_logprobs(batch([prompts[i] for i in idx], device), target, tokenizer.bos)
            mask = target != 0
            loss = -(logp * mask).sum() / mask.sum()
            check_finite(loss.item(), epoch * batches + b, "the pretraining loss")
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total, tokens = total + loss.item() * mask.sum().item(), tokens + mask.sum().item()
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
    bar.close()
    return total / tokens


# --------------------------------------------------------------------------- stage 2: RL
def command_return(env: gym.Env, action: int | None, gamma: float, invalid_penalty: float) -> float:
    """The RL reward of a parsed command in the env's state: the discounted return (``gamma``) of its
    action followed by the oracle's edits to the end, from stepping a copy of the env. An invalid
    command (``action`` None) gets the env's invalid-action reward minus ``invalid_penalty``.

    The oracle reaches the reference in ``edit_distance`` steps, which ends the episode; the copy is
    still cut at the episode's step limit, with a warning, should it ever not."""
    base = env.unwrapped
    if action is None:
        return -(base.step_penalty + base.invalid_penalty + invalid_penalty)
    copied = copy.deepcopy(base)
    obs, total, terminated, _, info = copied.step(action)
    if terminated:
        return total
    limit = step_limit(env)
    steps = list(rollout(copied, oracle_policy, obs, info, limit))
    if not steps[-1].terminated:
        # One message for every state, so that Python's warning filter shows it once, not at every sample.
        warnings.warn(
            f"the oracle did not reach the reference within the episode's step limit ({limit}) after a command; "
            "its return is cut there",
            RuntimeWarning,
            stacklevel=2,
        )
    return total + sum(gamma ** (k + 1) * step.reward for k, step in enumerate(steps))


def greedy_return(
    agent: Agent, env_kwargs: dict, states: int, seed: int, gamma: float, invalid_penalty: float
) -> float:
    """Mean RL reward (:func:`command_return`) of the agent's greedy command in the first state of
    ``states`` training-split episodes (reset seeds ``seed``, ``seed + 1``, ...)."""
    env = make_env(env_kwargs)
    total = 0.0
    for i in range(states):
        env.reset(seed=seed + i)
        action, _ = parse_command(agent.command(env), env)
        total += command_return(env, action, gamma, invalid_penalty)
    return total / states


def fine_tune(
    model: CommandModel,
    tokenizer: Tokenizer,
    env_kwargs: dict,
    args: Args,
    logger: RunLogger,
    checkpoints: Checkpoints | None = None,
) -> None:
    """GRPO-style policy gradient on :func:`command_return`, KL-penalised to the model as given. ``steps``
    counts the states the ``rl_envs`` environments go through, not the steps of the copies that score
    the samples."""
    device = next(model.parameters()).device
    frozen = copy.deepcopy(model).requires_grad_(False).eval()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.rl_lr)
    generator = torch.Generator().manual_seed(args.seed)
    envs = [
        StartAtReference(make_env(env_kwargs, max_episode_steps=args.train_episode_steps), args.reference_starts)
        for _ in range(args.rl_envs)
    ]
    for i, env in enumerate(envs):
        env.reset(seed=args.seed + 1_000_003 * (i + 1))  # seeds far from the demonstrations' (seed + episode)
    returns, lengths = np.zeros(args.rl_envs), np.zeros(args.rl_envs, int)
    step, G = 0, args.group_size
    while step < args.steps:
        encoded = [tokenizer.encode_prompt(format_prompt(env)) for env in envs]
        prompts = batch(encoded, device)
        model.eval()
        samples = model.decode(prompts, tokenizer.bos, tokenizer.eos, samples=G, generator=generator)
        actions, rewards = [], np.zeros(len(samples))
        for j, row in enumerate(samples.tolist()):
            env = envs[j // G]
            if j % G == 0:
                returns_of: dict[int | None, float] = {}  # a group often repeats a command
            action, _ = parse_command(tokenizer.decode(row, encoded[j // G].names), env)
            if action not in returns_of:
                returns_of[action] = command_return(env, action, args.gamma, args.invalid_penalty)
            actions.append(action)
            rewards[j] = returns_of[action]
        grouped = rewards.reshape(-1, G)
        # Not divided by the group's spread: that would blow near-ties (two equally good edits) up to full-size pushes.
        advantages = grouped - grouped.mean(1, keepdims=True)
        model.train()
        repeated = prompts.repeat_interleave(G, 0)
        mask = torch.cat([torch.ones_like(samples[:, :1], dtype=torch.bool), samples[:, :-1] != 0], 1) & (samples != 0)
        logp = model.token_logprobs(repeated, samples, tokenizer.bos)
        with torch.no_grad():
            frozen_logp = frozen.token_logprobs(repeated, samples, tokenizer.bos)
        log_ratio = (frozen_logp - logp).masked_fill(~mask, 0.0)
        kl = (log_ratio.exp() - log_ratio - 1).sum(1)
        advantage = torch.as_tensor(advantages.reshape(-1), dtype=torch.float32, device=device)
        loss = (-advantage * (logp * mask).sum(1) + args.kl_coef * kl).mean()
        check_finite(loss.item(), step, "the RL loss")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

        for i, env in enumerate(envs):
            action = actions[i * G]
            _, reward, terminated, truncated, info = env.step(invalid_action(env) if action is None else action)
            returns[i], lengths[i] = returns[i] + reward, lengths[i] + 1
            if terminated or truncated:
                logger.episode(step + i + 1, returns[i], lengths[i], bool(info["solved"]), float(info["score"]))
                returns[i], lengths[i] = 0.0, 0
                env.reset()
        step += args.rl_envs
        logger.scalars(
            step,
            {
                "rl/reward": float(rewards.mean()),
                "rl/kl": kl.mean().item(),
                "rl/invalid": float(np.mean([a is None for a in actions])),
            },
        )
        logger.advance(args.rl_envs)
        if checkpoints is not None:
            checkpoints.reached(step, lambda: Agent(model, tokenizer, args, env_kwargs))
    for env in envs:
        env.close()


def build(env_kwargs: dict, args: Args, pairs: list[tuple[str, str]] | None = None) -> tuple[CommandModel, Tokenizer]:
    """A fresh model and the tokenizer of the environment ``env_kwargs`` makes, with the words of
    the demonstrations ``pairs`` (see :meth:`Tokenizer.for_env`)."""
    env = make_env(env_kwargs)
    min_word_count = args.min_word_count
    if min_word_count is None and not env.unwrapped.observe_reference:
        min_word_count = HIDDEN_MIN_WORD_COUNT
    steps = env.unwrapped.observe_reference if args.placeholder_steps is None else args.placeholder_steps
    tokenizer = Tokenizer.for_env(
        env, pairs, min_word_count, args.word_placeholders == "all", steps, args.anchored_steps
    )
    model = CommandModel(tokenizer, args, max_prompt_tokens(env))
    return model.to(args.device), tokenizer


def train(
    args: Args, env_kwargs: dict, out_dir: Path, progress: bool = True, checkpoints: Checkpoints | None = None
) -> Agent:
    """Pretrain on oracle demonstrations, fine-tune with RL, save into ``out_dir``."""
    Agent.validate(args, env_kwargs)
    torch.set_num_threads(1)  # a small model: more threads cost more than they save, and one is deterministic
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    pairs = demonstrations(env_kwargs, args.pretrain_episodes, args.seed, args.reference_starts)
    model, tokenizer = build(env_kwargs, args, pairs)
    pretrain(model, tokenizer, pairs, args, rng, progress)
    demonstrated = len(pairs)
    for dagger_round in range(args.dagger_rounds):
        agent = Agent(model, tokenizer, args, env_kwargs)
        # Seeds apart from the demonstrations' (seed + episode) and the RL environments'.
        pairs += relabelled_states(
            agent, env_kwargs, args.dagger_episodes, args.seed + 50_000_017 * (dagger_round + 1), args
        )
        pretrain(model, tokenizer, pairs, args, rng, progress, epochs=1)
    config = run_config(
        NAME, args, env_kwargs, demonstrated_steps=demonstrated, relabelled_steps=len(pairs) - demonstrated
    )
    with RunLogger(Path(out_dir), args.steps, config, progress) as logger:
        if checkpoints is not None:
            checkpoints.reached(0, lambda: Agent(model, tokenizer, args, env_kwargs))
        fine_tune(model, tokenizer, env_kwargs, args, logger, checkpoints)
    agent = Agent(model, tokenizer, args, env_kwargs)
    agent.save(Path(out_dir))
    return agent
