"""helpers.metrics against scikit-learn and SciPy on random and edge inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

sklearn_metrics = pytest.importorskip("sklearn.metrics")
from scipy import stats  # noqa: E402  (scikit-learn depends on SciPy)
from sklearn.calibration import calibration_curve  # noqa: E402

from helpers.metrics import (  # noqa: E402
    average_precision,
    bootstrap_interval,
    calibration_bins,
    confusion_matrix,
    expected_calibration_error,
    mcnemar,
    normal_interval,
    precision_recall_curve,
    precision_recall_f1,
    roc_auc,
    roc_auc_ovr,
    roc_curve,
)


def random_labels(seed: int, n: int = 500, classes: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    """Targets and predictions that agree about 60% of the time."""
    g = torch.Generator().manual_seed(seed)
    targets = torch.randint(classes, (n,), generator=g)
    noise = torch.randint(classes, (n,), generator=g)
    predictions = torch.where(torch.rand(n, generator=g) < 0.6, targets, noise)
    return targets, predictions


def random_probs(seed: int, n: int = 400, classes: int = 5, decimals: int | None = None):
    """Softmax scores that favour the true class, optionally rounded to force ties."""
    g = torch.Generator().manual_seed(seed)
    targets = torch.randint(classes, (n,), generator=g)
    logits = torch.randn(n, classes, generator=g, dtype=torch.float64)
    logits[torch.arange(n), targets] += 1.5
    probs = logits.softmax(1)
    if decimals is not None:
        probs = probs.round(decimals=decimals)
        probs = probs / probs.sum(1, keepdim=True)
    return probs, targets


# --- confusion matrix -------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_confusion_matrix_matches_sklearn(seed):
    targets, predictions = random_labels(seed)
    cm = confusion_matrix(targets, predictions, 10)
    want = sklearn_metrics.confusion_matrix(
        targets.numpy(), predictions.numpy(), labels=list(range(10))
    )
    assert cm.dtype == torch.int64 and cm.shape == (10, 10)
    assert np.array_equal(cm.numpy(), want)
    assert int(cm.sum()) == len(targets) and int(cm.diag().sum()) == int(
        (targets == predictions).sum()
    )


def test_confusion_matrix_toy_example_and_layout():
    targets = torch.tensor([0, 0, 1, 1, 2, 2, 2])
    predictions = torch.tensor([0, 1, 1, 1, 2, 0, 0])
    assert confusion_matrix(targets, predictions).tolist() == [[1, 1, 0], [0, 2, 0], [2, 0, 1]]
    # a class absent from both still gets its row and column when num_classes says so
    assert confusion_matrix(targets, predictions, 4)[3].tolist() == [0, 0, 0, 0]
    assert confusion_matrix(targets, predictions, 4)[:, 3].tolist() == [0, 0, 0, 0]
    # uint8 and int32 labels are fine
    assert confusion_matrix(targets.to(torch.uint8), predictions.int()).sum() == 7


def test_confusion_matrix_refuses_a_class_beyond_num_classes():
    # without the check, class 5 of 3 would be counted silently in row 1 (5 = 1 * 3 + 2)
    with pytest.raises(ValueError, match="num_classes is 3, but the labels hold class 5"):
        confusion_matrix(torch.tensor([0, 1]), torch.tensor([0, 5]), 3)


# --- precision, recall, F1 --------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("average", [None, "macro", "micro", "weighted"])
def test_precision_recall_f1_match_sklearn(seed, average):
    targets, predictions = random_labels(seed, classes=7)
    got = precision_recall_f1(confusion_matrix(targets, predictions, 7), average=average)
    p, r, f, s = sklearn_metrics.precision_recall_fscore_support(
        targets.numpy(),
        predictions.numpy(),
        labels=list(range(7)),
        average=average,
        zero_division=0,
    )
    if average is None:
        for key, want in (("precision", p), ("recall", r), ("f1", f)):
            assert got[key].dtype == torch.float64 and got[key].shape == (7,)
            assert np.allclose(got[key].numpy(), want, atol=1e-12)
        assert np.array_equal(got["support"].numpy(), s)
    else:
        assert got["precision"] == pytest.approx(p, abs=1e-12)
        assert got["recall"] == pytest.approx(r, abs=1e-12)
        assert got["f1"] == pytest.approx(f, abs=1e-12)
        assert got["support"] == len(targets)


def test_micro_average_equals_accuracy():
    targets, predictions = random_labels(3)
    micro = precision_recall_f1(confusion_matrix(targets, predictions, 10), "micro")
    accuracy = float((targets == predictions).double().mean())
    assert (
        micro["precision"]
        == micro["recall"]
        == pytest.approx(micro["f1"])
        == pytest.approx(accuracy)
    )


def test_a_class_never_predicted_has_precision_zero_like_sklearn_zero_division_0():
    # class 2 is never predicted; class 3 is neither present nor predicted
    targets = torch.tensor([0, 1, 2, 2, 0])
    predictions = torch.tensor([0, 1, 1, 1, 0])
    got = precision_recall_f1(confusion_matrix(targets, predictions, 4))
    assert got["precision"].tolist() == pytest.approx([1.0, 1 / 3, 0.0, 0.0])
    assert got["recall"].tolist() == pytest.approx([1.0, 1.0, 0.0, 0.0])
    assert got["f1"].tolist() == pytest.approx([1.0, 0.5, 0.0, 0.0])
    assert not any(torch.isnan(got[k]).any() for k in ("precision", "recall", "f1"))
    for average in ("macro", "weighted", "micro"):
        p, r, f, _ = sklearn_metrics.precision_recall_fscore_support(
            targets.numpy(),
            predictions.numpy(),
            labels=[0, 1, 2, 3],
            average=average,
            zero_division=0,
        )
        ours = precision_recall_f1(confusion_matrix(targets, predictions, 4), average)
        assert (ours["precision"], ours["recall"], ours["f1"]) == pytest.approx((p, r, f))
    # the absent, never-predicted class 3 still counts in the macro average (as with sklearn's
    # labels=)
    assert precision_recall_f1(confusion_matrix(targets, predictions, 4), "macro")[
        "recall"
    ] == pytest.approx(0.5)


def test_macro_f1_is_the_mean_of_per_class_f1_not_the_f1_of_the_means():
    targets = torch.tensor([0, 0, 0, 1, 1, 2])
    predictions = torch.tensor([0, 0, 1, 1, 2, 2])
    per_class = precision_recall_f1(confusion_matrix(targets, predictions))
    macro = precision_recall_f1(confusion_matrix(targets, predictions), "macro")
    assert macro["f1"] == pytest.approx(float(per_class["f1"].mean()))
    harmonic = 2 * macro["precision"] * macro["recall"] / (macro["precision"] + macro["recall"])
    assert macro["f1"] != pytest.approx(harmonic)


# --- ROC, AUC, precision-recall -----------------------------------------------------------------


@pytest.mark.parametrize("seed, decimals", [(0, None), (1, 1), (2, 2)])
def test_roc_curve_and_auc_match_sklearn_with_and_without_ties(seed, decimals):
    probs, targets = random_probs(seed, decimals=decimals)
    scores, positive = probs[:, 0], targets == 0
    fpr, tpr, thresholds = roc_curve(scores, positive)
    want_fpr, want_tpr, want_thr = sklearn_metrics.roc_curve(
        positive.numpy(), scores.numpy(), drop_intermediate=False
    )
    assert np.allclose(fpr.numpy(), want_fpr) and np.allclose(tpr.numpy(), want_tpr)
    assert np.array_equal(thresholds.numpy(), want_thr)
    assert roc_auc(scores, positive) == pytest.approx(
        sklearn_metrics.roc_auc_score(positive.numpy(), scores.numpy())
    )


def test_roc_auc_is_the_probability_that_a_positive_outranks_a_negative():
    scores = torch.tensor([0.1, 0.4, 0.4, 0.8, 0.8, 0.3])
    targets = torch.tensor([0, 0, 1, 1, 1, 0])
    pos, neg = scores[targets == 1], scores[targets == 0]
    pairs = (pos[:, None] > neg[None, :]).double() + 0.5 * (pos[:, None] == neg[None, :]).double()
    assert roc_auc(scores, targets) == pytest.approx(float(pairs.mean()))
    assert (
        roc_auc(scores, targets.bool())
        == roc_auc(scores, targets)
        == roc_auc(scores, targets.double())
    )
    assert roc_auc(-scores, targets) == pytest.approx(1 - roc_auc(scores, targets))


@pytest.mark.parametrize("seed, decimals", [(0, None), (3, 1)])
@pytest.mark.parametrize("average", [None, "macro", "weighted"])
def test_roc_auc_ovr_matches_sklearn(seed, decimals, average):
    probs, targets = random_probs(seed, classes=6, decimals=decimals)
    got = roc_auc_ovr(probs, targets, average)
    want = sklearn_metrics.roc_auc_score(
        targets.numpy(), probs.numpy(), multi_class="ovr", average=average
    )
    if average is None:
        assert got.shape == (6,) and np.allclose(got.numpy(), want)
    else:
        assert isinstance(got, float) and got == pytest.approx(want)


def test_roc_auc_ovr_accepts_float32_logits_and_targets_on_any_integer_dtype():
    probs, targets = random_probs(4, classes=3)
    assert roc_auc_ovr(probs.float(), targets.int()) == pytest.approx(
        roc_auc_ovr(probs, targets), abs=1e-6
    )


def test_a_single_class_present_raises_instead_of_a_silent_nan():
    scores = torch.tensor([0.2, 0.7, 0.9])
    with pytest.raises(ValueError, match="only positives"):
        roc_auc(scores, torch.tensor([1, 1, 1]))
    with pytest.raises(ValueError, match="only negatives"):
        roc_curve(scores, torch.tensor([False, False, False]))
    probs, _ = random_probs(0, n=6, classes=3)
    with pytest.raises(ValueError, match=r"undefined for class\(es\) \[2\]"):
        roc_auc_ovr(probs, torch.tensor([0, 1, 0, 1, 0, 1]))
    with pytest.raises(ValueError, match=r"undefined for class\(es\) \[0, 1, 2\]"):
        roc_auc_ovr(probs, torch.zeros(6, dtype=torch.long))
    with pytest.raises(ValueError, match="no.*|only negatives"):
        precision_recall_curve(scores, torch.tensor([0, 0, 0]))


@pytest.mark.parametrize("seed, decimals", [(0, None), (1, 1), (5, 2)])
def test_precision_recall_curve_and_average_precision_match_sklearn(seed, decimals):
    probs, targets = random_probs(seed, decimals=decimals)
    scores, positive = probs[:, 2], targets == 2
    precision, recall, thresholds = precision_recall_curve(scores, positive)
    want_p, want_r, want_t = sklearn_metrics.precision_recall_curve(
        positive.numpy(), scores.numpy()
    )
    assert np.allclose(precision.numpy(), want_p) and np.allclose(recall.numpy(), want_r)
    assert np.array_equal(thresholds.numpy(), want_t)
    assert average_precision(scores, positive) == pytest.approx(
        sklearn_metrics.average_precision_score(positive.numpy(), scores.numpy())
    )


def test_precision_recall_curve_when_every_example_is_positive():
    precision, recall, _ = precision_recall_curve(torch.tensor([0.3, 0.6]), torch.tensor([1, 1]))
    assert precision.tolist() == [1.0, 1.0, 1.0] and recall.tolist() == [1.0, 0.5, 0.0]


# --- confidence intervals ---------------------------------------------------------------------


def test_normal_interval_is_the_wald_interval_for_an_accuracy():
    correct = torch.cat([torch.ones(9750), torch.zeros(250)]).bool()
    low, high = normal_interval(correct)
    half = stats.norm.ppf(0.975) * math.sqrt(0.975 * 0.025 / 10_000)
    assert (low, high) == pytest.approx((0.975 - half, 0.975 + half), abs=1e-12)
    assert high - low == pytest.approx(0.00612, abs=1e-5)
    low99, high99 = normal_interval(correct, confidence=0.99)
    assert low99 < low and high99 > high
    assert normal_interval(torch.ones(10, dtype=torch.bool)) == (
        1.0,
        1.0,
    )  # documented weakness at p = 1


def test_normal_interval_of_paired_differences():
    diff = torch.tensor([1, 0, 0, -1, 0, 1, 1, 0], dtype=torch.float32)
    low, high = normal_interval(diff)
    half = stats.norm.ppf(0.975) * float(diff.double().std(correction=0)) / math.sqrt(8)
    assert (low, high) == pytest.approx((0.25 - half, 0.25 + half))


def test_bootstrap_interval_is_reproducible_and_close_to_the_normal_one():
    g = torch.Generator().manual_seed(0)
    correct = torch.rand(5000, generator=g) < 0.9
    a = bootstrap_interval(correct, n_boot=2000, generator=torch.Generator().manual_seed(1))
    b = bootstrap_interval(correct, n_boot=2000, generator=torch.Generator().manual_seed(1))
    c = bootstrap_interval(correct, n_boot=2000, generator=torch.Generator().manual_seed(2))
    assert a == b and a != c
    low, high = normal_interval(correct)
    mean = float(correct.double().mean())
    assert a[0] < mean < a[1]
    assert (a[1] - a[0]) == pytest.approx(high - low, rel=0.15)
    assert bootstrap_interval(torch.full((50,), 3.0), generator=g) == pytest.approx((3.0, 3.0))


def test_bootstrap_interval_handles_more_resamples_than_one_block():
    values = torch.arange(3000, dtype=torch.float64) % 2
    low, high = bootstrap_interval(values, n_boot=2500, generator=torch.Generator().manual_seed(0))
    assert low < 0.5 < high and high - low < 0.05


# --- calibration ------------------------------------------------------------------------------


@pytest.mark.parametrize("seed, n_bins", [(0, 10), (1, 15), (2, 7)])
def test_calibration_bins_match_sklearn_calibration_curve(seed, n_bins):
    probs, targets = random_probs(seed, n=1000)
    confidence, predicted = probs.max(1)
    correct = predicted == targets
    bins = calibration_bins(confidence, correct, n_bins)
    want_true, want_pred = calibration_curve(
        correct.numpy(), confidence.numpy(), n_bins=n_bins, strategy="uniform"
    )
    filled = bins["count"] > 0
    assert np.allclose(bins["accuracy"][filled].numpy(), want_true)
    assert np.allclose(bins["confidence"][filled].numpy(), want_pred)
    assert int(bins["count"].sum()) == 1000 and bins["edges"].shape == (n_bins + 1,)
    ece = expected_calibration_error(confidence, correct, n_bins)
    manual = sum(
        int(n) / 1000 * abs(a - c)
        for n, a, c in zip(
            bins["count"][filled],
            bins["accuracy"][filled].tolist(),
            bins["confidence"][filled].tolist(),
        )
    )
    assert ece == pytest.approx(manual) and 0 <= ece <= 1


def test_calibration_toy_example_edges_and_empty_bins():
    confidence = torch.tensor([0.1, 0.15, 0.5, 0.55, 0.95, 1.0], dtype=torch.float64)
    correct = torch.tensor([0, 0, 1, 0, 1, 1])
    bins = calibration_bins(confidence, correct, n_bins=10)
    # 0.1 sits on an edge and belongs to the lower bin (edges[b] < c <= edges[b + 1]); in float32
    # it is 0.10000000149 and lands in the next bin, as it would with scikit-learn
    assert calibration_bins(confidence.float(), correct, n_bins=10)["count"][:2].tolist() == [0, 2]
    assert bins["count"].tolist() == [1, 1, 0, 0, 1, 1, 0, 0, 0, 2]
    assert torch.isnan(bins["accuracy"][2]) and torch.isnan(bins["confidence"][2])
    assert bins["accuracy"][9] == 1.0 and bins["confidence"][9] == pytest.approx(0.975)
    ece = (
        0.1 + 0.15 + 0.5 + 0.55 + 2 * 0.025
    ) / 6  # each bin: share of examples * |accuracy - confidence|
    assert expected_calibration_error(confidence, correct) == pytest.approx(ece)


def test_a_perfectly_calibrated_model_has_zero_ece():
    confidence = torch.tensor([0.75] * 4 + [0.5] * 2)
    correct = torch.tensor([1, 1, 1, 0, 1, 0])
    assert expected_calibration_error(confidence, correct) == pytest.approx(0.0)


def test_calibration_refuses_confidences_outside_0_1():
    # logits passed by mistake would pile up, silently, in the first and last bins
    with pytest.raises(ValueError, match=r"confidences must lie in \[0, 1\]"):
        expected_calibration_error(torch.tensor([0.5, 1.2]), torch.tensor([1, 0]))


# --- McNemar's test ---------------------------------------------------------------------------


def pair(only_a: int, only_b: int, both: int = 50, neither: int = 7):
    a = [1] * only_a + [0] * only_b + [1] * both + [0] * neither
    b = [0] * only_a + [1] * only_b + [1] * both + [0] * neither
    return torch.tensor(a), torch.tensor(b)


@pytest.mark.parametrize("only_a, only_b", [(10, 10), (15, 5), (5, 15), (60, 40), (0, 6), (1, 0)])
def test_mcnemar_counts_and_matches_scipy_binomtest(only_a, only_b):
    result = mcnemar(*pair(only_a, only_b))
    assert (result["only_a"], result["only_b"]) == (only_a, only_b)
    want = stats.binomtest(min(only_a, only_b), only_a + only_b).pvalue
    assert math.isclose(result["p_value"], want, rel_tol=1e-9)


def test_mcnemar_known_values_and_symmetry():
    assert mcnemar(*pair(0, 6))["p_value"] == pytest.approx(2 / 64)
    assert mcnemar(*pair(10, 10))["p_value"] == 1.0
    a, b = pair(15, 5)
    assert mcnemar(a, b)["p_value"] == mcnemar(b, a)["p_value"]
    # agreement on every example: nothing to test, p = 1
    assert mcnemar(torch.tensor([True, False]), torch.tensor([True, False]))["p_value"] == 1.0


def test_mcnemar_accepts_bool_and_float_and_ignores_concordant_examples():
    a, b = pair(12, 3, both=10)
    a2, b2 = pair(12, 3, both=1000, neither=500)
    assert mcnemar(a.bool(), b.double())["p_value"] == mcnemar(a2, b2)["p_value"]
