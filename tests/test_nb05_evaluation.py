"""Notebook 05 in smoke mode: the numbers it records, its checks against scikit-learn, SciPy and
PyTorch, the tensor code it writes out (stratified folds, proper scores), its claims; and, without
running it, that exercise 1's check accepts correct answers in float32 as well as float64."""

from __future__ import annotations

import contextlib
import io
import math
import re
import runpy
from pathlib import Path

import nbformat
import pytest
import torch
from conftest import NOTEBOOK_DIR, outputs_of

from coursekit import cells

STEM = "05_evaluation"
WRONG_ANSWERS = Path(__file__).resolve().parent / "wrong_answers" / f"{STEM}.py"

# Right answers to exercise 1 written in other ways than the solution: float32 arithmetic (the
# check must not demand float64's last digits), NaN-skipping means, a loop over the rows.
BALANCED_RIGHT = {
    "float32, the classes with images picked out": """
def balanced_accuracy(confusion):
    present = confusion.sum(1) > 0
    return (confusion.diag()[present] / confusion.sum(1)[present]).mean().item()
""",
    "float32, 0/0 recalls skipped by nanmean": """
def balanced_accuracy(confusion):
    return (confusion.diag() / confusion.sum(1)).nanmean().item()
""",
    "a loop over the rows in Python floats": """
def balanced_accuracy(confusion):
    recalls = [row[k].item() / row.sum().item() for k, row in enumerate(confusion) if row.sum()]
    return sum(recalls) / len(recalls)
""",
}


def _balanced_check() -> str:
    nb = nbformat.read(NOTEBOOK_DIR / f"{STEM}.ipynb", as_version=4)
    for ex in cells.exercises(nb):
        if "def balanced_accuracy" in cells.source(nb.cells[ex.stub]):
            return cells.source(nb.cells[ex.check])
    raise AssertionError("no balanced_accuracy exercise")


def _run_balanced_check(answer: str) -> None:
    """Exercise 1's check on ``answer``, with a made-up test confusion matrix as ``cm``."""
    gen = torch.Generator().manual_seed(0)
    cm = torch.randint(0, 4, (10, 10), generator=gen) + torch.diag(torch.arange(950, 1050, 10))
    recall = cm.diag().double() / cm.sum(1)
    namespace = {"math": math, "torch": torch, "cm": cm, "recall": recall}
    namespace["test_accuracy"] = (cm.diag().sum() / cm.sum()).item()
    with contextlib.redirect_stdout(io.StringIO()):
        exec(answer, namespace)
        exec(_balanced_check(), namespace)


@pytest.mark.parametrize("name", BALANCED_RIGHT)
def test_the_balanced_accuracy_check_accepts_right_answers_in_float32(name):
    _run_balanced_check(BALANCED_RIGHT[name])


def test_the_balanced_accuracy_check_rejects_every_wrong_answer_kept():
    for mistake, code in runpy.run_path(str(WRONG_ANSWERS))["WRONG"]["balanced_accuracy"].items():
        with pytest.raises(Exception):  # noqa: B017 (an AssertionError or what the answer raises)
            _run_balanced_check(code)
            pytest.fail(f"accepted: {mistake}")


def test_records_the_headline_numbers(smoke_run):
    results, _ = smoke_run(STEM)
    for key in ("test_accuracy", "macro_f1", "macro_auc", "cv_mean", "cv_std", "ci_width", "nll"):
        assert isinstance(results[key], float) and math.isfinite(results[key]), key
    # smoke mode trains one epoch on 2,000 images: far above chance (10%), far below the full run
    assert 0.5 < results["test_accuracy"] < 1
    assert (
        0.4 < results["macro_f1"] <= 1 and abs(results["macro_f1"] - results["test_accuracy"]) < 0.1
    )
    assert 0.85 < results["macro_auc"] <= 1
    assert 0.2 < results["cv_mean"] < 1 and 0 <= results["cv_std"] < 0.3
    # the model beats a uniform guess (NLL ln 10, Brier 0.9) by both proper scores
    assert 0 < results["nll"] < math.log(10) and 0 < results["brier"] < 0.9
    assert results["metrics_agree_with_sklearn"] is True


def test_the_interval_is_the_normal_one_on_10000_test_images(smoke_run):
    results, _ = smoke_run(STEM)
    p = results["test_accuracy"]
    assert results["ci_width"] == pytest.approx(
        2 * 1.959964 * math.sqrt(p * (1 - p) / 10_000), rel=1e-4
    )
    assert results["ci_low"] < p < results["ci_high"]
    assert results["bootstrap_ci_width"] == pytest.approx(results["ci_width"], rel=0.25)
    assert 0 <= results["ece"] <= 1


def test_choosing_on_the_test_set_inflates_the_report_and_validation_does_not(smoke_run):
    results, _ = smoke_run(STEM)
    assert results["optimism_test_selection"] > 0.002
    assert abs(results["optimism_val_selection"]) < 0.005
    assert results["optimism_test_selection"] > results["optimism_val_selection"]


def test_every_comparison_with_sklearn_and_the_helpers_holds(smoke_run):
    _, nb = smoke_run(STEM)
    agreement = outputs_of(nb, "checks = {")
    assert agreement.count("agrees with scikit-learn: True") == 10 and "False" not in agreement
    assert "all agree: True" in outputs_of(nb, "torch_nll = ")
    assert "same count: True" in outputs_of(nb, "vectorized = ")
    assert "helpers.metrics agrees: True" in outputs_of(nb, "bin_of = torch.bucketize")
    modes = outputs_of(nb, "bn_net = ")
    assert "train mode: image 0 gets the same logits in both batches: False" in modes
    assert "eval  mode: image 0 gets the same logits in both batches: True" in modes
    assert "keeps 0.00 MB" in outputs_of(nb, "def forward_keeping")


def test_mcnemar_is_taught_and_checked_against_scipy(smoke_run):
    results, nb = smoke_run(STEM)
    assert 0 <= results["mcnemar_p"] <= 1
    out = outputs_of(nb, "def mcnemar_p(")
    assert "SciPy's binomtest agrees: True" in out and "helpers.metrics.mcnemar agrees: True" in out
    toy = outputs_of(nb, "for n_a, n_b in ((10, 10)")
    assert "only A 10, only B 10: p = 1.00000 (SciPy 1.00000)" in toy
    assert "only A  0, only B  6: p = 0.03125 (SciPy 0.03125)" in toy  # 2 / 64


def test_stratified_folds_keep_every_digit_within_one_image(smoke_run):
    _, nb = smoke_run(STEM)
    out = outputs_of(nb, "def stratified_folds(")
    spread = dict(re.findall(r"^(\w+)\s+folds of .* differ by at most (\d+)", out, re.M))
    assert int(spread["stratified"]) <= 1 < int(spread["random"])


def test_only_nll_and_brier_reward_the_honest_forecast(smoke_run):
    _, nb = smoke_run(STEM)
    out = outputs_of(nb, "p_event = 0.7")
    assert "NLL           : the best forecast is q = 0.70" in out
    assert "Brier         : the best forecast is q = 0.70" in out
    assert "absolute error: the best forecast is q = 0.99" in out


def test_claims_are_recorded_and_the_exercise_checks_pass(smoke_run):
    results, nb = smoke_run(STEM)
    claims = results["claims"]
    assert len(claims) >= 8 and all(isinstance(v, bool) for v in claims.values())
    assert claims["every metric written out agrees with scikit-learn (and PyTorch)"] is True
    for marker, sentence in (
        ("balanced_accuracy(cm)", "balanced_accuracy gives the worked-out answers"),
        ("worked_out = {", "wilson_interval gives the worked-out ends"),
        ("fit_temperature(factor * z_toy", "Your function, your measurements and your decision"),
    ):
        assert sentence in outputs_of(nb, marker), marker
