"""Classification metrics written with tensors: the ones notebook 05 derives step by step.

* :func:`confusion_matrix`: counts of (true class, predicted class) with one ``bincount``;
* :func:`precision_recall_f1`: per class, or averaged (``"macro"``, ``"micro"``, ``"weighted"``);
* :func:`roc_curve`, :func:`auc`, :func:`roc_auc`, :func:`roc_auc_ovr`: ROC curves and the area
  under them, one-vs-rest for several classes; :func:`precision_recall_curve`,
  :func:`average_precision`;
* :func:`normal_interval`, :func:`bootstrap_interval`: how sure a test score is;
* :func:`mcnemar`: whether two models evaluated on the same images differ (a paired test);
* :func:`calibration_bins`, :func:`expected_calibration_error`: the reliability diagram's numbers.

Conventions (the same as scikit-learn's, which the unit tests compare against):

* A class that is never predicted has precision 0, and a class absent from the targets has
  recall 0: scikit-learn's ``zero_division=0``. Such a class still counts in the macro average,
  so a model that ignores a class is penalised rather than excused. F1 is
  ``2 TP / (2 TP + FP + FN)``, 0 when that is 0/0.
* ROC AUC is undefined when the targets hold only one class (no positives or no negatives):
  these functions raise ``ValueError`` saying so, where recent scikit-learn returns NaN with a
  warning. A NaN headline number is a bug, not a result.
"""

from __future__ import annotations

import math

import torch

from ._internal.checks import check_choice, check_positive_int, check_range, check_type

AVERAGES = (None, "macro", "micro", "weighted")


def _labels(name: str, value: object) -> torch.Tensor:
    """A 1-D integer tensor of class indices >= 0 (bool is not accepted)."""
    check_type(name, value, torch.Tensor)
    if value.dim() != 1:
        raise ValueError(
            f"{name} must be a 1-D tensor of class indices, got shape {list(value.shape)}"
        )
    if value.dtype == torch.bool or value.is_floating_point() or value.is_complex():
        raise ValueError(f"{name} must hold integer class indices, got dtype {value.dtype}")
    if len(value) and int(value.min()) < 0:
        raise ValueError(f"{name} must hold class indices >= 0, got {int(value.min())}")
    return value.long().cpu()


def _binary(name: str, value: object) -> torch.Tensor:
    """A 1-D bool tensor from bool, or numbers that are all 0 or 1."""
    check_type(name, value, torch.Tensor)
    if value.dim() != 1:
        raise ValueError(f"{name} must be a 1-D tensor, got shape {list(value.shape)}")
    if value.dtype != torch.bool:
        if value.is_complex() or not bool(((value == 0) | (value == 1)).all()):
            raise ValueError(
                f"{name} must be bool or hold only 0 and 1, got dtype {value.dtype} "
                f"with values such as {value.unique()[:5].tolist()}"
            )
        value = value == 1
    return value.cpu()


def _scores(name: str, value: object, dim: int = 1) -> torch.Tensor:
    """A finite floating tensor with ``dim`` dimensions, as float64 on the CPU."""
    check_type(name, value, torch.Tensor)
    if value.dim() != dim:
        want = "[N]" if dim == 1 else "[N, C]"
        raise ValueError(f"{name} must be a {dim}-D tensor {want}, got shape {list(value.shape)}")
    if not value.is_floating_point():
        raise ValueError(
            f"{name} must be a floating-point tensor of scores, got dtype {value.dtype}"
        )
    if not bool(torch.isfinite(value).all()):
        raise ValueError(f"{name} must be finite, got NaN or infinite entries")
    return value.detach().double().cpu()


def _same_length(a_name: str, a: torch.Tensor, b_name: str, b: torch.Tensor) -> None:
    if len(a) != len(b):
        raise ValueError(
            f"{a_name} and {b_name} must have the same length, got {len(a)} and {len(b)}"
        )
    if len(a) == 0:
        raise ValueError(f"{a_name} and {b_name} must not be empty")


def confusion_matrix(
    targets: torch.Tensor, predictions: torch.Tensor, num_classes: int | None = None
) -> torch.Tensor:
    """Counts ``[C, C]`` (int64): entry ``[i, j]`` is the number of examples of class ``i``
    predicted as ``j``.

    Rows are true classes, columns predicted ones (scikit-learn's layout). Computed with one
    ``bincount`` over ``targets * C + predictions``. ``num_classes`` defaults to one more than the
    largest index seen; pass it so that a class absent from both still gets its row and column.
    """
    targets, predictions = _labels("targets", targets), _labels("predictions", predictions)
    _same_length("targets", targets, "predictions", predictions)
    seen = int(max(targets.max(), predictions.max())) + 1
    if num_classes is None:
        num_classes = seen
    check_positive_int("num_classes", num_classes)
    if seen > num_classes:
        raise ValueError(
            f"num_classes is {num_classes}, but targets or predictions hold class index {seen - 1}"
        )
    counts = torch.bincount(
        targets * num_classes + predictions, minlength=num_classes * num_classes
    )
    return counts.view(num_classes, num_classes)


def _confusion(name: str, value: object) -> torch.Tensor:
    check_type(name, value, torch.Tensor)
    if value.dim() != 2 or value.shape[0] != value.shape[1] or value.shape[0] == 0:
        raise ValueError(
            f"{name} must be a square [C, C] tensor of counts, got shape {list(value.shape)}"
        )
    if value.is_floating_point() or value.dtype == torch.bool or int(value.min()) < 0:
        raise ValueError(
            f"{name} must hold non-negative integer counts (see confusion_matrix), "
            f"got dtype {value.dtype}"
        )
    if int(value.sum()) == 0:
        raise ValueError(f"{name} must count at least one example, got all zeros")
    return value.long().cpu()


def precision_recall_f1(
    confusion: torch.Tensor, average: str | None = None
) -> dict[str, torch.Tensor | float | int]:
    """Precision, recall, F1 and support from a confusion matrix (rows true, columns predicted).

    Per class ``k``: precision ``TP / (TP + FP)`` (column ``k``), recall ``TP / (TP + FN)``
    (row ``k``), F1 their harmonic mean ``2 TP / (2 TP + FP + FN)``, support the row's total.
    A 0/0 is 0 (scikit-learn's ``zero_division=0``): a class never predicted has precision 0.

    ``average=None`` returns float64 tensors ``[C]`` (support: int64). Otherwise floats:
    ``"macro"`` the plain mean over classes (macro F1 is the mean of the per-class F1, not the
    F1 of macro precision and recall), ``"weighted"`` the mean weighted by support, ``"micro"``
    from the pooled counts (for single-label classification all three equal the accuracy).
    ``support`` is then the total number of examples.
    """
    cm = _confusion("confusion", confusion)
    check_choice("average", average, AVERAGES)
    tp = cm.diag().double()
    predicted, support = cm.sum(0).double(), cm.sum(1)
    fp, fn = predicted - tp, support.double() - tp

    def ratio(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
        return torch.where(den > 0, num / den.clamp(min=1), torch.zeros_like(num))

    if average == "micro":
        tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
    precision, recall, f1 = ratio(tp, tp + fp), ratio(tp, tp + fn), ratio(2 * tp, 2 * tp + fp + fn)
    if average is None:
        return {"precision": precision, "recall": recall, "f1": f1, "support": support}
    if average == "macro":
        precision, recall, f1 = precision.mean(), recall.mean(), f1.mean()
    elif average == "weighted":
        w = support.double() / support.sum()
        precision, recall, f1 = (precision * w).sum(), (recall * w).sum(), (f1 * w).sum()
    return {
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "support": int(support.sum()),
    }


def _ranked(
    scores: torch.Tensor, targets: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Distinct thresholds (descending) with the true and false positives at ``score >=
    threshold``."""
    order = torch.argsort(scores, descending=True, stable=True)
    s, t = scores[order], targets[order].double()
    tps, fps = torch.cumsum(t, 0), torch.cumsum(1 - t, 0)
    # keep the last position of each run of tied scores: a threshold takes all ties at once
    last = torch.ones(len(s), dtype=torch.bool)
    last[:-1] = s[1:] != s[:-1]
    return s[last], tps[last], fps[last]


def _check_two_classes(targets: torch.Tensor, what: str, need_negative: bool = True) -> None:
    positives = int(targets.sum())
    if positives == 0 or (need_negative and positives == len(targets)):
        only = "negatives" if positives == 0 else "positives"
        raise ValueError(
            f"{what} is undefined when targets hold only {only} ({len(targets)} examples, "
            f"{positives} positive): it needs at least one example of each class"
        )


def roc_curve(
    scores: torch.Tensor, targets: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The ROC curve of a binary problem: ``(fpr, tpr, thresholds)``, float64 tensors.

    ``scores [N]`` are higher for "more positive"; ``targets [N]`` bool or 0/1. Point ``i`` is the
    rate of false and true positives when everything scored ``>= thresholds[i]`` is called
    positive. Thresholds are the distinct scores in decreasing order after a first ``inf`` (the
    point (0, 0)); ties move together. The same points as scikit-learn's
    ``roc_curve(..., drop_intermediate=False)``. Raises ``ValueError`` when ``targets`` hold one
    class only.
    """
    scores, targets = _scores("scores", scores), _binary("targets", targets)
    _same_length("scores", scores, "targets", targets)
    _check_two_classes(targets, "the ROC curve")
    thresholds, tps, fps = _ranked(scores, targets)
    zero = torch.zeros(1, dtype=torch.float64)
    tpr = torch.cat([zero, tps / tps[-1]])
    fpr = torch.cat([zero, fps / fps[-1]])
    return fpr, tpr, torch.cat([torch.tensor([math.inf], dtype=torch.float64), thresholds])


def auc(x: torch.Tensor, y: torch.Tensor) -> float:
    """Area under the curve through the points ``(x[i], y[i])`` by the trapezoidal rule; ``x``
    monotonic."""
    x, y = _scores("x", x), _scores("y", y)
    _same_length("x", x, "y", y)
    if len(x) < 2:
        raise ValueError(f"x and y need at least 2 points for an area, got {len(x)}")
    dx = x.diff()
    if not (bool((dx >= 0).all()) or bool((dx <= 0).all())):
        raise ValueError(
            "x must be monotonic (increasing or decreasing), as a curve's false positive rate is"
        )
    return abs(float(torch.trapezoid(y, x)))


def roc_auc(scores: torch.Tensor, targets: torch.Tensor) -> float:
    """Area under the ROC curve of a binary problem: the probability that a random positive
    scores higher than a random negative (ties count one half). Raises ``ValueError`` for one
    class only."""
    fpr, tpr, _ = roc_curve(scores, targets)
    return auc(fpr, tpr)


def roc_auc_ovr(
    probs: torch.Tensor, targets: torch.Tensor, average: str | None = "macro"
) -> torch.Tensor | float:
    """One-vs-rest ROC AUC of a ``C``-class problem from scores ``probs [N, C]`` (softmax outputs,
    say).

    Class ``k``'s AUC takes ``probs[:, k]`` as the score and ``targets == k`` as positives.
    ``average=None`` returns the ``C`` per-class AUCs (float64 tensor), ``"macro"`` their mean,
    ``"weighted"`` their mean weighted by each class's number of examples (scikit-learn's
    ``roc_auc_score(..., multi_class="ovr")``). Raises ``ValueError`` naming any class that has no
    example in ``targets`` (its AUC is undefined), rather than returning NaN.
    """
    probs = _scores("probs", probs, dim=2)
    targets = _labels("targets", targets)
    _same_length("probs", probs, "targets", targets)
    check_choice("average", average, (None, "macro", "weighted"))
    n_classes = probs.shape[1]
    if n_classes < 2:
        raise ValueError(f"probs must have a column per class, at least 2, got {n_classes}")
    if int(targets.max()) >= n_classes:
        raise ValueError(
            f"targets hold class {int(targets.max())} but probs has only {n_classes} columns"
        )
    support = torch.bincount(targets, minlength=n_classes)
    absent = [k for k in range(n_classes) if support[k] == 0 or support[k] == len(targets)]
    if absent:
        raise ValueError(
            f"one-vs-rest ROC AUC is undefined for class(es) {absent}: targets must hold both "
            "examples of each class and examples of other classes"
        )
    per_class = torch.tensor(
        [roc_auc(probs[:, k], targets == k) for k in range(n_classes)], dtype=torch.float64
    )
    if average is None:
        return per_class
    if average == "macro":
        return float(per_class.mean())
    return float((per_class * support.double()).sum() / support.sum())


def precision_recall_curve(
    scores: torch.Tensor, targets: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The precision-recall curve of a binary problem: ``(precision, recall, thresholds)``.

    scikit-learn's layout: ``thresholds`` are the distinct scores in increasing order, and
    ``precision[i]``, ``recall[i]`` hold when everything scored ``>= thresholds[i]`` is called
    positive; one last point (precision 1, recall 0) closes the curve. Raises ``ValueError`` when
    there is no positive example (recall is undefined).
    """
    scores, targets = _scores("scores", scores), _binary("targets", targets)
    _same_length("scores", scores, "targets", targets)
    _check_two_classes(targets, "the precision-recall curve", need_negative=False)
    thresholds, tps, fps = _ranked(scores, targets)
    precision, recall = tps / (tps + fps), tps / tps[-1]
    one, zero = torch.ones(1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)
    return (
        torch.cat([precision.flip(0), one]),
        torch.cat([recall.flip(0), zero]),
        thresholds.flip(0),
    )


def average_precision(scores: torch.Tensor, targets: torch.Tensor) -> float:
    """Average precision ``sum_n (R_n - R_{n-1}) P_n`` over the thresholds (scikit-learn's
    ``average_precision_score``): a step-wise area under the precision-recall curve."""
    precision, recall, _ = precision_recall_curve(scores, targets)
    return float(-(recall.diff() * precision[:-1]).sum())


def _values(name: str, value: object) -> torch.Tensor:
    """A non-empty 1-D tensor of bool or numbers, as float64."""
    check_type(name, value, torch.Tensor)
    if value.dim() != 1 or len(value) == 0:
        raise ValueError(
            f"{name} must be a non-empty 1-D tensor (one value per test example), "
            f"got shape {list(value.shape)}"
        )
    if value.is_complex():
        raise ValueError(f"{name} must be real, got dtype {value.dtype}")
    value = value.detach().double().cpu()
    if not bool(torch.isfinite(value).all()):
        raise ValueError(f"{name} must be finite, got NaN or infinite entries")
    return value


def normal_interval(values: torch.Tensor, confidence: float = 0.95) -> tuple[float, float]:
    """A normal-approximation confidence interval for the mean of ``values``: ``(low, high)``.

    ``mean ± z * s / sqrt(N)`` with ``s`` the standard deviation (dividing by ``N``) and ``z`` the
    normal quantile for ``confidence`` (1.96 for 0.95). For 0/1 values (``predictions == targets``)
    this is the textbook (Wald) interval of an accuracy, ``p ± z sqrt(p (1 - p) / N)``; it is poor
    when ``p`` is near 0 or 1 on few examples (its width is 0 at ``p = 1``).
    """
    x = _values("values", values)
    check_range("confidence", confidence, 1e-6, 1 - 1e-6)
    z = float(torch.special.ndtri(torch.tensor((1 + confidence) / 2, dtype=torch.float64)))
    mean, std = float(x.mean()), float(x.std(correction=0))
    half = z * std / math.sqrt(len(x))
    return mean - half, mean + half


def bootstrap_interval(
    values: torch.Tensor,
    confidence: float = 0.95,
    n_boot: int = 1000,
    generator: torch.Generator | None = None,
) -> tuple[float, float]:
    """A percentile-bootstrap confidence interval for the mean of ``values``: ``(low, high)``.

    Draws ``n_boot`` resamples of the ``N`` values with replacement (indices from ``generator``, a
    CPU ``torch.Generator``, so the interval is reproducible), takes each resample's mean, and
    returns the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles of those means.
    ``values`` may be 0/1 correctness (an accuracy) or paired differences between two models.
    """
    x = _values("values", values)
    check_range("confidence", confidence, 1e-6, 1 - 1e-6)
    check_positive_int("n_boot", n_boot)
    check_type("generator", generator, (torch.Generator, type(None)))
    n, means = len(x), []
    block = max(1, min(n_boot, 2_000_000 // n))  # bound the index matrix to about 16 MB
    for start in range(0, n_boot, block):
        idx = torch.randint(n, (min(block, n_boot - start), n), generator=generator)
        means.append(x[idx].mean(1))
    q = torch.tensor([(1 - confidence) / 2, (1 + confidence) / 2], dtype=torch.float64)
    low, high = torch.quantile(torch.cat(means), q).tolist()
    return low, high


def mcnemar(correct_a: torch.Tensor, correct_b: torch.Tensor) -> dict[str, int | float]:
    """McNemar's exact test of two models scored on the same examples.

    ``correct_a`` and ``correct_b`` ``[N]`` (bool or 0/1) say which examples each model gets
    right. Only the discordant examples count: ``only_a`` (A right, B wrong) and ``only_b``. If
    the models were equally good, ``only_a`` would be binomial with ``only_a + only_b`` trials and
    probability 1/2; the two-sided p-value is ``min(1, 2 P(X <= min(only_a, only_b)))``, the
    same as ``scipy.stats.binomtest(min(only_a, only_b), only_a + only_b).pvalue``. With no
    discordant example the p-value is 1. Returns ``{"only_a", "only_b", "p_value"}``.
    """
    a = _binary("correct_a", correct_a)
    b = _binary("correct_b", correct_b)
    _same_length("correct_a", a, "correct_b", b)
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    n = only_a + only_b
    k = torch.arange(min(only_a, only_b) + 1, dtype=torch.float64)
    log_pmf = math.lgamma(n + 1) - torch.lgamma(k + 1) - torch.lgamma(n - k + 1) - n * math.log(2)
    p_value = min(1.0, 2 * float(log_pmf.exp().sum()))
    return {"only_a": only_a, "only_b": only_b, "p_value": p_value}


def calibration_bins(
    confidences: torch.Tensor, correct: torch.Tensor, n_bins: int = 10
) -> dict[str, torch.Tensor]:
    """The numbers behind a reliability diagram: ``n_bins`` equal-width bins of confidence on [0,
    1].

    ``confidences [N]`` in [0, 1] (the largest softmax probability, say) and ``correct [N]`` (bool
    or 0/1) give a dict of float64 tensors: ``"edges" [n_bins + 1]``, ``"count" [n_bins]`` (int64),
    ``"confidence"`` and ``"accuracy" [n_bins]``, the mean confidence and the share correct in each
    bin. Bin ``b`` holds ``edges[b] < c <= edges[b + 1]`` (the first one includes 0), as in
    scikit-learn's ``calibration_curve``. An empty bin has count 0 and NaN for its confidence and
    accuracy (there is nothing to average); mask with ``count > 0``.
    """
    conf = _scores("confidences", confidences)
    correct = _binary("correct", correct)
    _same_length("confidences", conf, "correct", correct)
    check_positive_int("n_bins", n_bins)
    if float(conf.min()) < 0 or float(conf.max()) > 1:
        raise ValueError(
            "confidences must lie in [0, 1], "
            f"got values in [{float(conf.min())}, {float(conf.max())}]"
        )
    edges = torch.linspace(0, 1, n_bins + 1, dtype=torch.float64)
    bins = torch.bucketize(conf, edges[1:-1], right=False)
    count = torch.bincount(bins, minlength=n_bins)
    conf_sum = torch.bincount(bins, weights=conf, minlength=n_bins)
    correct_sum = torch.bincount(bins, weights=correct.double(), minlength=n_bins)
    nan = torch.full((n_bins,), math.nan, dtype=torch.float64)
    mean_conf = torch.where(count > 0, conf_sum / count.clamp(min=1), nan)
    accuracy = torch.where(count > 0, correct_sum / count.clamp(min=1), nan)
    return {"edges": edges, "count": count, "confidence": mean_conf, "accuracy": accuracy}


def expected_calibration_error(
    confidences: torch.Tensor, correct: torch.Tensor, n_bins: int = 10
) -> float:
    """ECE: ``sum_b (n_b / N) |accuracy_b - confidence_b|`` over the bins of
    :func:`calibration_bins`.

    0 for a perfectly calibrated model; empty bins weigh nothing. Between 0 and 1.
    """
    bins = calibration_bins(confidences, correct, n_bins)
    filled = bins["count"] > 0
    weight = bins["count"][filled].double() / bins["count"].sum()
    return float((weight * (bins["accuracy"][filled] - bins["confidence"][filled]).abs()).sum())
