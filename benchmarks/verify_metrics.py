"""Long check that the incremental metrics give the libraries' values.

Random episodes (random reference, a noisy copy of it or a random text as the start, random
insert/delete/replace edits) for every metric, with word and character units, several BLEU
tokenizers and ROUGE with and without stemming. After every applied edit, for a few
previewed candidate edits, and (word units) for a few entries of the batched ``edit_scores``
table of every edit writing three random words, the incremental value is compared with
``library_score``. (With character units ``edit_scores`` is the base class's loop over
``preview``, checked already, and a table of a long text costs hundreds of previews.)

    python benchmarks/verify_metrics.py --steps 100000 --seed 0

Exits with status 1 if any value differs by more than 1e-12.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import dataclass

from textedit_env.metrics import METRICS, library_score, make_scorer
from textedit_env.metrics.base import Edit

TOLERANCE = 1e-12
WORDS = (
    "the cat sat on a mat and the dog ran to it . , ! ? ; : ( ) \" ' - -- U.S. 3.5 5. 1,000 "
    "&amp; &lt; &quot; <skipped> don't e-mail Ph.D. x-1 3-4 café naïve 我们 喜欢 猫 😀 👍🏽 "
    "running runs ran runner happily happiness The THE Cat"
).split()
CHARS = sorted(set("".join(WORDS)) | {" "})
TOKENIZERS = {"word": ("13a", "intl", "zh", "char", "none"), "char": ("13a", "zh", "char")}


@dataclass
class Tally:
    checked: int = 0
    identical: int = 0
    max_diff: float = 0.0

    def add(self, value: float, expected: float) -> None:
        self.checked += 1
        self.identical += value == expected
        self.max_diff = max(self.max_diff, abs(value - expected))


def random_edit(rng: random.Random, length: int, pool: list[str]) -> Edit:
    op = rng.choice(("insert", "delete", "replace")) if length else "insert"
    if op == "insert":
        return Edit(op, rng.randint(0, length), rng.choice(pool))
    if op == "delete":
        return Edit(op, rng.randrange(length))
    return Edit(op, rng.randrange(length), rng.choice(pool))


def table_entry(rng: random.Random, table, words: list[str], hyp: list[str]) -> tuple[float, list[str]]:
    """A random entry of an ``edit_scores`` table and the text its edit makes."""
    edit = random_edit(rng, len(hyp), words)
    after = list(hyp)
    edit.apply(after)
    if edit.op == "delete":
        return table.delete[edit.position], after
    grid = table.insert if edit.op == "insert" else table.replace
    return grid[edit.position, words.index(edit.word)], after


def run_episode(rng: random.Random, steps: int, previews: int, batched: int, tallies: dict[str, Tally]) -> None:
    unit = rng.choice(("word", "char"))
    options = {"unit": unit, "tokenize": rng.choice(TOKENIZERS[unit]), "use_stemmer": rng.random() < 0.5}
    pool = WORDS if unit == "word" else CHARS
    size = rng.randint(0, 25 if unit == "word" else 80)
    ref = [rng.choice(pool) for _ in range(size)]
    hyp = [w if rng.random() < 0.7 else rng.choice(pool) for w in ref] if rng.random() < 0.5 else []
    scorers = {m: make_scorer(m, ref, **options) for m in METRICS}

    def check(metric: str, value: float, units: list[str]) -> None:
        tallies[metric].add(value, library_score(metric, units, ref, **options))

    for metric, scorer in scorers.items():
        check(metric, scorer.set_hypothesis(hyp), hyp)
    for _ in range(steps):
        candidates = [random_edit(rng, len(hyp), pool) for _ in range(previews + 1)]
        afters = []
        for edit in candidates[1:]:
            after = list(hyp)
            edit.apply(after)
            afters.append(after)
        words = rng.sample(pool, 3)
        for metric, scorer in scorers.items():
            table = scorer.edit_scores(words) if unit == "word" and batched else None
            for _ in range(batched if table is not None else 0):
                check(metric, *table_entry(rng, table, words, hyp))
        candidates[0].apply(hyp)
        for metric, scorer in scorers.items():
            for after, value in zip(afters, scorer.preview(candidates[1:])):
                check(metric, value, after)
            check(metric, scorer.apply(candidates[0]), hyp)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=10_000, help="applied edits in total")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--previews", type=int, default=2, help="previewed candidates per step")
    parser.add_argument(
        "--batched", type=int, default=2, help="entries of an edit_scores table checked per step (word units)"
    )
    args = parser.parse_args()

    rng = random.Random(args.seed)
    tallies = {m: Tally() for m in METRICS}
    began, done, shown = time.perf_counter(), 0, 0
    while done < args.steps:
        steps = min(rng.randint(1, 60), args.steps - done)
        run_episode(rng, steps, args.previews, args.batched, tallies)
        done += steps
        if done * 20 // args.steps > shown or done == args.steps:  # a line every 5%, with an ETA
            shown, elapsed = done * 20 // args.steps, time.perf_counter() - began
            print(
                f"\r{done}/{args.steps} steps checked, {elapsed:.0f} s, about "
                f"{elapsed / done * (args.steps - done):.0f} s left",
                end="",
                file=sys.stderr,
                flush=True,
            )
    print(file=sys.stderr)

    print(
        f"steps checked: {done} (each, per metric: 1 applied edit, {args.previews} previewed edits, "
        f"{args.batched} entries of an edit_scores table with word units), "
        f"seed {args.seed}, {time.perf_counter() - began:.0f} s"
    )
    print(f"{'metric':8s} {'values':>9s} {'bit-identical':>14s} {'max |diff|':>11s}")
    for metric, t in tallies.items():
        print(f"{metric:8s} {t.checked:9d} {t.identical:14d} {t.max_diff:11.3g}")
    worst = max(t.max_diff for t in tallies.values())
    print("OK" if worst <= TOLERANCE else f"MISMATCH: max |diff| {worst:.3g} > {TOLERANCE}")
    return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
