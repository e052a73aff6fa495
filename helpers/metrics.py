"""The classification metrics notebook 05 derives, with scikit-learn's conventions (0/0 is 0),
except that where scikit-learn returns NaN (one class only), these raise ``ValueError``."""

from __future__ import annotations

import math
from statistics import NormalDist

import torch
import torch.nn.functional as F
from torch import Generator, Tensor


def confusion_matrix(
    targets: Tensor, predictions: Tensor, num_classes: int | None = None
) -> Tensor:
    """``[C, C]`` counts: entry ``[i, j]`` counts class ``i`` predicted as ``j``. Pass
    ``num_classes`` to give a class absent from both its row and column."""
    targets, predictions = targets.long().cpu(), predictions.long().cpu()
    assert targets.shape == predictions.shape, "one prediction per target"
    seen = int(max(targets.max(), predictions.max())) + 1
    num_classes = num_classes or seen
    if seen > num_classes:  # its count would land, silently, in another class's cell
        raise ValueError(f"num_classes is {num_classes}, but the labels hold class {seen - 1}")
    counts = torch.bincount(targets * num_classes + predictions, minlength=num_classes**2)
    return counts.view(num_classes, num_classes)


def precision_recall_f1(confusion: Tensor, average: str | None = None) -> dict:
    """Precision, recall, F1 and support of each class from a confusion matrix (float64 ``[C]``),
    or averaged (floats): ``"macro"`` over classes, ``"weighted"`` by support, ``"micro"`` over
    the pooled counts (then precision, recall and F1 all equal the accuracy)."""
    cm = confusion.long().cpu()
    tp, support = cm.diag().double(), cm.sum(1)
    fp, fn = cm.sum(0) - tp, support - tp
    if average == "micro":
        tp, fp, fn = tp.sum(), fp.sum(), fn.sum()

    def ratio(num: Tensor, den: Tensor) -> Tensor:
        return torch.where(den > 0, num / den.clamp(min=1), 0.0)  # 0/0 is 0

    scores = {"precision": ratio(tp, tp + fp), "recall": ratio(tp, tp + fn)}
    scores["f1"] = ratio(2 * tp, 2 * tp + fp + fn)  # the mean of the F1s, not F1 of the means
    if average is None:
        return {**scores, "support": support}
    assert average in ("macro", "micro", "weighted"), f"no average called {average!r}"
    weight = support.double() if average == "weighted" else torch.ones(tp.shape)
    mean = {key: float((v * weight).sum() / weight.sum()) for key, v in scores.items()}
    return {**mean, "support": int(support.sum())}


def _ranked(scores: Tensor, targets: Tensor, what: str, negatives: bool = True):
    """The distinct scores (descending), with the true and false positives at ``score >= it``."""
    scores, targets = scores.detach().double().cpu(), targets.cpu().bool()
    positives = int(targets.sum())
    if positives == 0 or (negatives and positives == len(targets)):  # a rate would be 0/0
        only = "negatives" if positives == 0 else "positives"
        raise ValueError(f"{what} is undefined when the targets hold only {only}")
    order = torch.argsort(scores, descending=True, stable=True)
    s, t = scores[order], targets[order].double()
    tps, fps = t.cumsum(0), (1 - t).cumsum(0)
    last = torch.ones(len(s), dtype=torch.bool)  # a threshold takes all tied scores at once:
    last[:-1] = s[1:] != s[:-1]  # keep the last position of each run of ties
    return s[last], tps[last], fps[last]


def roc_curve(scores: Tensor, targets: Tensor) -> tuple[Tensor, ...]:
    """``(fpr, tpr, thresholds)``: the rates of false and true positives when ``scores >=
    thresholds[i]`` is called positive, from ``inf`` (the point (0, 0)) down; ``targets`` bool or
    0/1. scikit-learn's ``roc_curve(..., drop_intermediate=False)``."""
    thresholds, tps, fps = _ranked(scores, targets, "the ROC curve")
    fpr, tpr = F.pad(fps / fps[-1], (1, 0)), F.pad(tps / tps[-1], (1, 0))
    return fpr, tpr, F.pad(thresholds, (1, 0), value=math.inf)


def roc_auc(scores: Tensor, targets: Tensor) -> float:
    """Area under the ROC curve (trapezoids): the chance that a random positive scores higher
    than a random negative (ties count one half)."""
    fpr, tpr, _ = roc_curve(scores, targets)
    return float(torch.trapezoid(tpr, fpr))


def roc_auc_ovr(probs: Tensor, targets: Tensor, average: str | None = "macro") -> Tensor | float:
    """One-vs-rest ROC AUC from scores ``probs [N, C]``: class ``k`` scored by ``probs[:, k]``
    against the rest. ``average`` ``None`` (the ``C`` AUCs), ``"macro"`` or ``"weighted"``."""
    n_classes = probs.shape[1]
    support = torch.bincount(targets.cpu(), minlength=n_classes)
    undefined = [k for k, n in enumerate(support.tolist()) if n in (0, len(targets))]
    if undefined:
        raise ValueError(
            f"one-vs-rest ROC AUC is undefined for class(es) {undefined}: the targets need "
            "examples of each class and of the others"
        )
    aucs = [roc_auc(probs[:, k], targets == k) for k in range(n_classes)]
    per_class = torch.tensor(aucs, dtype=torch.float64)
    if average is None:
        return per_class
    weight = {"macro": torch.ones(n_classes), "weighted": support.double()}[average]
    return float((per_class * weight).sum() / weight.sum())


def precision_recall_curve(scores: Tensor, targets: Tensor) -> tuple[Tensor, ...]:
    """``(precision, recall, thresholds)`` when ``scores >= thresholds[i]`` is called positive,
    the thresholds increasing, then a last point (1, 0): scikit-learn's layout."""
    thresholds, tps, fps = _ranked(scores, targets, "the precision-recall curve", negatives=False)
    precision, recall = (tps / (tps + fps)).flip(0), (tps / tps[-1]).flip(0)
    return F.pad(precision, (0, 1), value=1.0), F.pad(recall, (0, 1)), thresholds.flip(0)


def average_precision(scores: Tensor, targets: Tensor) -> float:
    """``sum_n (R_n - R_{n-1}) P_n``: a step-wise area under the precision-recall curve."""
    precision, recall, _ = precision_recall_curve(scores, targets)
    return float(-(recall.diff() * precision[:-1]).sum())


def normal_interval(values: Tensor, confidence: float = 0.95) -> tuple[float, float]:
    """``mean ± z s / sqrt(N)``: the normal-approximation confidence interval for the mean. For
    0/1 values, the Wald interval of an accuracy, poor near 0 or 1 on few examples."""
    x = values.detach().double().cpu()
    z = NormalDist().inv_cdf((1 + confidence) / 2)  # 1.96 for 0.95
    half = z * float(x.std(correction=0)) / math.sqrt(len(x))
    return float(x.mean()) - half, float(x.mean()) + half


def bootstrap_interval(
    values: Tensor, confidence: float = 0.95, n_boot: int = 1000, generator: Generator | None = None
) -> tuple[float, float]:
    """The percentile-bootstrap confidence interval for the mean of ``values``: the quantiles of
    the means of ``n_boot`` resamples with replacement, drawn from ``generator``."""
    x, means = values.detach().double().cpu(), []
    block = max(1, min(n_boot, 2_000_000 // len(x)))  # an index matrix of at most 16 MB
    for start in range(0, n_boot, block):
        idx = torch.randint(len(x), (min(block, n_boot - start), len(x)), generator=generator)
        means.append(x[idx].mean(1))
    q = torch.tensor([(1 - confidence) / 2, (1 + confidence) / 2], dtype=torch.float64)
    low, high = torch.quantile(torch.cat(means), q).tolist()
    return low, high


def mcnemar(correct_a: Tensor, correct_b: Tensor) -> dict[str, int | float]:
    """McNemar's exact test on the same examples: if models A and B were equally good, ``only_a``
    (A right, B wrong) would be binomial(``only_a + only_b``, 1/2); p as ``stats.binomtest``."""
    a, b = correct_a.cpu().bool(), correct_b.cpu().bool()
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    n = only_a + only_b
    k = torch.arange(min(only_a, only_b) + 1, dtype=torch.float64)
    log_pmf = math.lgamma(n + 1) - torch.lgamma(k + 1) - torch.lgamma(n - k + 1) - n * math.log(2)
    p_value = min(1.0, 2 * float(log_pmf.exp().sum()))  # both tails: P(X <= min) twice
    return {"only_a": only_a, "only_b": only_b, "p_value": p_value}


def calibration_bins(confidences: Tensor, correct: Tensor, n_bins: int = 10) -> dict[str, Tensor]:
    """A reliability diagram's numbers in ``n_bins`` equal bins of confidence (``edges[b] < c <=
    edges[b + 1]``, as scikit-learn): ``"edges"``, ``"count"``, and the mean ``"confidence"``
    and ``"accuracy"`` of each bin (NaN when empty)."""
    conf = confidences.detach().double().cpu()
    if conf.min() < 0 or conf.max() > 1:  # logits, say: they would pile up in the end bins
        raise ValueError(
            f"confidences must lie in [0, 1], got [{conf.min():.3g}, {conf.max():.3g}]"
        )
    edges = torch.linspace(0, 1, n_bins + 1, dtype=torch.float64)
    bins = torch.bucketize(conf, edges[1:-1])
    count = torch.bincount(bins, minlength=n_bins)

    def mean(weights: Tensor) -> Tensor:
        return torch.bincount(bins, weights=weights, minlength=n_bins) / count  # empty: 0/0, NaN

    accuracy = mean(correct.cpu().double())
    return {"edges": edges, "count": count, "confidence": mean(conf), "accuracy": accuracy}


def expected_calibration_error(confidences: Tensor, correct: Tensor, n_bins: int = 10) -> float:
    """``sum_b (n_b / N) |accuracy_b - confidence_b|`` over the bins of :func:`calibration_bins`."""
    bins = calibration_bins(confidences, correct, n_bins)
    gap = (bins["accuracy"] - bins["confidence"]).abs().nan_to_num()  # empty bins weigh nothing
    return float((bins["count"] * gap).sum() / bins["count"].sum())
