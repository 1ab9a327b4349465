"""The algorithm comparison (benchmarks/compare.py): its statistics, and --quick end to end."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from benchmarks import compare


def test_iqm_is_the_mean_of_the_middle_half():
    assert compare.iqm(np.array([8.0, 1, 7, 2, 6, 3, 5, 4])) == pytest.approx(4.5)  # mean of 3, 4, 5, 6
    assert compare.iqm(np.array([0.0, 1.0, 100.0])) == pytest.approx(101 / 3)  # int(0.25 * 3) = 0: nothing cut
    rows = np.array([[1.0, 2, 3, 100], [0, 0, 1, 1]])
    np.testing.assert_allclose(compare.iqm(rows, axis=1), [2.5, 0.5])


def test_bootstrap_resamples_within_each_stratum():
    # Each task's runs agree, so resampling within tasks never changes the IQM of [0,0,0,0,1,1,1,1];
    # pooled resampling would.
    assert compare.stratified_bootstrap_ci([[0, 0, 0, 0], [1, 1, 1, 1]], resamples=500) == (0.5, 0.5, 0.5)
    estimate, low, high = compare.stratified_bootstrap_ci([[0.1, 0.5, 0.9, 0.3, 0.7]], resamples=2000, seed=1)
    assert estimate == pytest.approx(0.5) and low < estimate < high and 0.1 <= low and high <= 0.9
    assert compare.stratified_bootstrap_ci([[0.1, 0.5, 0.9]], seed=3) == compare.stratified_bootstrap_ci([[0.1, 0.5, 0.9]], seed=3)


def test_greedy_policy_takes_the_best_edit_then_stops():
    env = compare.make_env({"preset": "easy"})
    env.reset(seed=0, options={"source": "the cat sees dog", "reference": "the cat sees a dog"})
    action = compare.greedy_policy(env, None, {})
    assert env.unwrapped.decode_action(action) == ("insert", 3, "a")
    env.step(action)
    env.reset(seed=0, options={"source": "the cat", "reference": "the cat"})
    assert compare.greedy_policy(env, None, {}) == env.unwrapped.encode_action("stop")


def test_quick_run_writes_every_algorithm(tmp_path):
    md = compare.main(["--quick", "--out", str(tmp_path)])
    assert md.exists() and (tmp_path / "learning_curves.png").stat().st_size > 0
    data = json.loads((tmp_path / "compare.json").read_text())
    table = md.read_text()
    rows = [line for line in table.splitlines() if line.startswith("| tiny-bleu | ")]
    assert {row.split(" | ")[1] for row in rows} >= set(compare.ALGORITHMS)
    assert {r["algorithm"] for r in data["runs"]} == set(compare.ALGORITHMS)
    for run in data["runs"]:
        for key in ("solve_rate", "mean_return", "return_fraction", "steps_ratio", "wall_seconds", "steps_per_second"):
            assert math.isfinite(run[key]), (run["algorithm"], key)
    oracle = [r for r in data["runs"] if r["algorithm"] == "oracle"]
    assert all(r["solve_rate"] == 1.0 and r["return_fraction"] == pytest.approx(1.0) for r in oracle)
    assert "nan" not in table.lower()
