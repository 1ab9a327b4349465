"""The comparison's report (``compare.md``) and learning curves, rebuilt from the results file alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.stats import optimality_gap, probability_of_improvement, separated, stratified_bootstrap_ci
from benchmarks.suite import ALGORITHMS, HIDDEN, NON_LEARNERS, SUITE
from benchmarks.trainers import TRAIN_EPISODE_STEPS


def interval(value: tuple[float, float, float]) -> str:
    return f"{value[0]:.3f} [{value[1]:.3f}, {value[2]:.3f}]"


def recorded_mean(group: list[dict], key: str) -> str:
    """The mean of ``key`` over the runs that recorded it (runs before it was measured did not), or -."""
    values = [r[key] for r in group if r.get(key) is not None]
    return f"{np.mean(values):.2f}" if values else "-"


def report(records: list[dict], resamples: int) -> str:
    every_run = [r for r in records if r["kind"] == "run"]
    sittings = [r for r in records if r["kind"] == "sitting"]
    runs = [r for r in every_run if r["task"] not in HIDDEN]  # the hidden tracks have their own section
    tasks = [t for t in SUITE if t not in HIDDEN and any(r["task"] == t for r in runs)]
    algorithms = [a for a in ALGORITHMS if any(r["algorithm"] == a for r in runs)]
    by = {}
    for r in runs:
        by.setdefault((r["task"], r["algorithm"]), []).append(r)
    oracle = {t: np.mean([r["mean_return"] for r in by[(t, "oracle")]]) for t in tasks if (t, "oracle") in by}

    def fraction(r: dict) -> float:
        return r["mean_return"] / oracle[r["task"]]

    budgets = sorted({r["steps"] for r in runs})
    seeds = sorted({len(v) for (t, a), v in by.items() if a not in NON_LEARNERS})
    lines = [
        "# Algorithm comparison on the TextEdit task suite",
        "",
        f"Built by `python -m benchmarks.compare --report` from the {len(every_run)} runs in the results file: "
        f"{sum(r['wall_seconds'] for r in every_run) / 3600:.1f} h of run time in all (each run one process and one "
        f"torch thread; "
        f"{', '.join(sorted({r['machine'] for r in every_run}))}), made in {len(sittings)} recorded sitting(s) of "
        f"{sum(s['wall_seconds'] for s in sittings) / 3600:.1f} h of wall time with "
        f"{' / '.join(sorted({str(s['workers']) for s in sittings})) or '?'} runs at a time. Commands: "
        + "; ".join(f"`{c}`" for c in dict.fromkeys(s["command"] for s in sittings))
        + f". Versions: {'; '.join(sorted({r['versions'] for r in every_run}))}.",
        "",
        f"Every learner trains on the `train` split for {' / '.join(f'{b:,}' for b in budgets)} environment steps "
        f"({' / '.join(map(str, seeds))} seeds per task), training episodes cut at {TRAIN_EPISODE_STEPS} steps, and is "
        "evaluated greedily on the same `test`-split episodes (sentences never seen in training; at most 50 steps): "
        "during training for the learning curves, and at the end. IQM: interquartile mean over seeds with a 95% "
        f"stratified-bootstrap confidence interval ({resamples} resamples; rliable's method). Return / oracle: "
        f"mean test "
        "return over the oracle's on the same episodes. Solved steps: mean length of the solved episodes over the "
        "oracle's. Stops: share of episodes started at the reference in which it stops at once; detours: share of "
        "solved episodes with an edit undone or redone (both - for runs recorded before they were measured). "
        "Cut: share of episodes that ran to the time limit. Steps/s: training environment steps per "
        "second of training time (baselines: of evaluation).",
        "",
        "## Tasks",
        "",
        "| task | env kwargs | description | oracle steps | oracle return |",
        "|---|---|---|---|---|",
    ]
    for t in tasks:
        o = by.get((t, "oracle"), [{}])[0]
        lines.append(
            f"| {t} | `{SUITE[t].env_kwargs}` | {SUITE[t].description} | {o.get('mean_steps', float('nan')):.2f} | "
            f"{o.get('mean_return', float('nan')):.3f} |"
        )
    lines += ["", "## Algorithms", ""] + [f"- **{a}**: {ALGORITHMS[a].note}" for a in algorithms]
    lines += [
        "",
        "## Which algorithm leads",
        "",
        "Per task, the learner with the highest solve-rate IQM, and the learners whose confidence interval "
        "overlaps the leader's (not separated from it at this budget and number of seeds).",
        "",
        "| task | leader | solve rate IQM [95% CI] | not separated from the leader |",
        "|---|---|---|---|",
    ]
    cis = {}
    for t in tasks:
        for a in algorithms:
            if (t, a) in by:
                cis[(t, a)] = {
                    m: stratified_bootstrap_ci([[f(r) for r in by[(t, a)]]], resamples=resamples)
                    for m, f in (("solve", lambda r: r["solve_rate"]), ("fraction", fraction))
                }
        learners = {a: cis[(t, a)]["solve"] for a in algorithms if (t, a) in cis and a not in NON_LEARNERS}
        if learners:
            leader, tied = separated(learners)
            others = (
                ", ".join(tied)
                if tied
                else "none: it leads alone"
                if len(learners) > 1
                else "the only learner run here so far"
            )
            lines.append(f"| {t} | {leader} | {interval(learners[leader])} | {others} |")
    lines += [
        "",
        "## Results per task",
        "",
        "Early: mean test solve rate at the first evaluation during training (the first point of the learning "
        "curves), which separates learners that all end at the top.",
        "",
        "| task | algorithm | seeds | solve rate IQM [95% CI] | early | return / oracle IQM [95% CI] | solved "
        "steps | stops | detours | cut | "
        "train s | steps/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for t in tasks:
        for a in algorithms:
            if (t, a) not in by:
                continue
            group, oracle_steps = (
                by[(t, a)],
                by[(t, "oracle")][0]["mean_steps"] if (t, "oracle") in by else float("nan"),
            )
            solved = [r["mean_solved_steps"] for r in group if r["solve_rate"] > 0]
            early = [r["curve"][0] for r in group if r["curve"]]
            early_text = f"{np.mean([p['solve_rate'] for p in early]):.3f} at {early[0]['step']:,}" if early else "-"
            lines.append(
                f"| {t} | {a} | {len(group)} | {interval(cis[(t, a)]['solve'])} | {early_text} | "
                f"{interval(cis[(t, a)]['fraction'])} | "
                f"{f'{np.mean(solved) / oracle_steps:.2f}' if solved else '-'} | "
                f"{recorded_mean(group, 'stop_rate')} | {recorded_mean(group, 'detour_rate')} | "
                f"{np.mean([r['truncated_rate'] for r in group]):.3f} | "
                f"{np.mean([r['train_seconds'] for r in group]):.0f} | "
                f"{np.mean([r['steps_per_second'] for r in group]):.0f} |"
            )
    lines += [
        "",
        "## Aggregate over tasks",
        "",
        "IQM over all runs of an algorithm, the bootstrap stratified by task.",
        "",
        "| algorithm | runs | tasks | solve rate IQM [95% CI] | return / oracle IQM [95% CI] |",
        "|---|---|---|---|---|",
    ]
    for a in algorithms:
        strata = [by[(t, a)] for t in tasks if (t, a) in by]
        solve = stratified_bootstrap_ci([[r["solve_rate"] for r in s] for s in strata], resamples=resamples)
        frac = stratified_bootstrap_ci([[fraction(r) for r in s] for s in strata], resamples=resamples)
        lines.append(f"| {a} | {sum(map(len, strata))} | {len(strata)} | {interval(solve)} | {interval(frac)} |")
    lines += hidden_report([r for r in every_run if r["task"] in HIDDEN], resamples)
    if any(r["curve"] for r in runs):
        lines += [
            "",
            "## Learning curves",
            "",
            "![learning curves](learning_curves.png): test solve rate during training, mean over seeds, band min to "
            "max; dashed: SB3's `MultiInputPolicy`.",
        ]
    return "\n".join(lines) + "\n"


def hidden_report(runs: list[dict], resamples: int) -> list[str]:
    """The hidden-reference tracks: normalized returns, which learners the intervals separate, and
    rliable's aggregates over the tracks."""
    tasks = [t for t in HIDDEN if any(r["task"] == t and r["algorithm"] == "oracle" for r in runs)]
    if not tasks:
        return []
    by: dict[tuple[str, str], list[dict]] = {}
    for r in runs:
        by.setdefault((r["task"], r["algorithm"]), []).append(r)
    algorithms = [a for a in ALGORITHMS if any((t, a) in by for t in tasks)]
    oracle = {t: np.mean([r["mean_final_score"] for r in by[(t, "oracle")]]) for t in tasks}

    def normalized(r: dict) -> float:
        """The share of the way from no edit (the source's score) to the privileged oracle's score."""
        return (r["mean_final_score"] - r["mean_initial_score"]) / (oracle[r["task"]] - r["mean_initial_score"])

    def reads(a: str) -> str:
        return ALGORITHMS[a].privileged or "the text"

    cis = {
        key: stratified_bootstrap_ci([[normalized(r) for r in group]], resamples=resamples) for key, group in by.items()
    }
    budgets = sorted({r["steps"] for r in runs if r["algorithm"] not in NON_LEARNERS})
    lines = [
        "",
        "## Hidden-reference tracks",
        "",
        "The agent sees the text and its source, never the reference (`observe_reference=False`). Normalized "
        "return: the share of the way from stopping at once (the source's score) to the privileged oracle's final "
        "score, on the same test episodes: 0 is doing nothing, 1 the oracle, below 0 worse than doing nothing. "
        "Reads: what an algorithm uses beyond the text; a teacher is used in training only. IQM over seeds with a "
        f"95% stratified-bootstrap CI. Budget{'s' if len(budgets) > 1 else ''}: "
        f"{' / '.join(f'{b:,}' for b in budgets) or '-'} environment steps (baselines do not train).",
        "",
        "| task | algorithm | reads | seeds | normalized IQM [95% CI] | final score | no edit | solve rate | steps "
        "| stops | cut | train s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for t in tasks:
        for a in algorithms:
            if (t, a) not in by:
                continue
            group = by[(t, a)]
            lines.append(
                f"| {t} | {a} | {reads(a)} | {len(group)} | {interval(cis[(t, a)])} | "
                f"{np.mean([r['mean_final_score'] for r in group]):.3f} | "
                f"{np.mean([r['mean_initial_score'] for r in group]):.3f} | "
                f"{np.mean([r['solve_rate'] for r in group]):.3f} | {np.mean([r['mean_steps'] for r in group]):.2f} | "
                f"{recorded_mean(group, 'stop_rate')} | {np.mean([r['truncated_rate'] for r in group]):.3f} | "
                f"{np.mean([r['train_seconds'] for r in group]):.0f} |"
            )
    learners = [a for a in algorithms if a not in NON_LEARNERS]
    lines += [
        "",
        "### Which learners the intervals separate",
        "",
        "Per task, the learner of highest normalized IQM, those whose 95% interval overlaps its (not separated from "
        "the leader), and those whose interval lies above the no-edit baseline's (they learned to improve a text).",
        "",
        "| task | leader | normalized IQM [95% CI] | not separated from the leader | above stopping at once |",
        "|---|---|---|---|---|",
    ]
    for t in tasks:
        present = {a: cis[(t, a)] for a in learners if (t, a) in cis}
        if not present:
            continue
        leader, tied = separated(present)
        stop_high = cis[(t, "stop")][2] if (t, "stop") in cis else 0.0
        above = [a for a, ci in present.items() if ci[1] > stop_high]
        lines.append(
            f"| {t} | {leader} | {interval(present[leader])} | {', '.join(tied) or 'none'} | "
            f"{', '.join(above) or 'none'} |"
        )
    lines += [
        "",
        "### Aggregate over the hidden tracks (rliable)",
        "",
        "Over the tracks an algorithm ran on, the bootstrap stratified by task: the IQM of the normalized return "
        "and the optimality gap (how far normalized returns fall short of the oracle's 1 on average; lower is "
        "better).",
        "",
        "| algorithm | reads | runs | tasks | normalized IQM [95% CI] | optimality gap [95% CI] |",
        "|---|---|---|---|---|---|",
    ]
    for a in algorithms:
        strata = [[normalized(r) for r in by[(t, a)]] for t in tasks if (t, a) in by]
        value = stratified_bootstrap_ci(strata, resamples=resamples)
        gap = stratified_bootstrap_ci(strata, statistic=optimality_gap, resamples=resamples)
        lines.append(
            f"| {a} | {reads(a)} | {sum(map(len, strata))} | {len(strata)} | {interval(value)} | {interval(gap)} |"
        )
    contenders = [a for a in ("stop", "fluency", *learners) if any((t, a) in by for t in tasks)]
    if len(contenders) > 1:
        lines += [
            "",
            "### Probability of improvement (rliable)",
            "",
            "P(a run of the row algorithm scores a higher normalized return than a run of the column's), averaged over "
            "the hidden tracks both ran on, with its 95% stratified-bootstrap CI; above 0.5: the row is better.",
            "",
            "| | " + " | ".join(contenders) + " |",
            "|---|" + "---|" * len(contenders),
        ]
        for x in contenders:
            cells = []
            for y in contenders:
                shared = [t for t in tasks if (t, x) in by and (t, y) in by]
                if x == y or not shared:
                    cells.append("")
                    continue
                xs = [[normalized(r) for r in by[(t, x)]] for t in shared]
                ys = [[normalized(r) for r in by[(t, y)]] for t in shared]
                cells.append(interval(probability_of_improvement(xs, ys, resamples=resamples)))
            lines.append(f"| {x} | " + " | ".join(cells) + " |")
    return lines


def plot(records: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [r for r in records if r["kind"] == "run" and r["curve"]]
    tasks = [t for t in SUITE if any(r["task"] == t for r in runs)]
    learners = [a for a in ALGORITHMS if any(r["algorithm"] == a for r in runs)]
    if not runs:  # baselines only: nothing learns, no curves
        return
    # An SB3 algorithm and its -shared variant share a colour (dashed: SB3's MultiInputPolicy).
    families = list(dict.fromkeys(a.removesuffix("-shared") for a in learners))
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks) + 2.6, 4), squeeze=False, sharey=True)
    for ax, task in zip(axes[0], tasks):
        for a in learners:
            curves = [r["curve"] for r in runs if r["task"] == task and r["algorithm"] == a]
            if not curves:
                continue
            steps = [p["step"] for p in curves[0]]
            values = np.array([[p["solve_rate"] for p in c] for c in curves if len(c) == len(steps)])
            colour = f"C{families.index(a.removesuffix('-shared')) % 10}"
            style = "--" if a.startswith("sb3-") and not a.endswith("-shared") else "-"
            ax.plot(steps, values.mean(0), style, color=colour, label=a)
            ax.fill_between(steps, values.min(0), values.max(0), color=colour, alpha=0.15)
        ax.set_title(task)
        ax.set_xlabel("environment steps")
    axes[0, 0].set_ylabel("test solve rate")
    handles = {h.get_label(): h for ax in axes[0] for h in ax.get_lines()}
    fig.legend(handles.values(), handles.keys(), loc="center right", fontsize="small")
    fig.tight_layout(rect=(0, 0, 1 - 2.6 / fig.get_figwidth(), 1))
    fig.savefig(path, dpi=90)
    plt.close(fig)
