"""Plausible wrong answers to notebook 06's exercises (see README.md beside this file)."""

_TUNE = """
def tune_dropout(rates, seed_list):
    {measure}


def decide(scores):
    def beats(a, b):
        diffs = [x - y for x, y in zip(scores[a], scores[b])]
        return {beats}

    winners = [a for a in scores if all(beats(a, b) for b in scores if b != a)]
    return winners[0] if winners else None


dropout_scores = tune_dropout([0.2, 0.5, 0.7], seeds)
keep_rate = decide(dropout_scores)
"""
_TUNE_RIGHT = {
    "measure": 'return {r: [x["val_acc"] for x in harness.trained(baseline.but(dropout=r), '
    "seed_list)] for r in rates}",
    "beats": "min(diffs) > 0 and sum(diffs) / len(diffs) > 0.01",
}


def _tune(**change: str) -> str:
    return _TUNE.format(**(_TUNE_RIGHT | change))


_SMOOTHED = """
def smoothed_cross_entropy(logits, targets, eps=0.1):
    k = logits.shape[1]
    log_p = {log_p}
    q = {q}
    return {reduce}
"""
_SMOOTHED_RIGHT = {
    "log_p": "F.log_softmax(logits, dim=1)",
    "q": "eps / k + (1 - eps) * F.one_hot(targets, k)",
    "reduce": "-(q * log_p).sum(dim=1).mean()",
}


def _smoothed(**change: str) -> str:
    return _SMOOTHED.format(**(_SMOOTHED_RIGHT | change))


_RUNS = """
def augmentation_runs(n, seed_list):
    plain = {plain}
    with_aug = [r["val_acc"] for r in harness.trained({augmented}, seed_list)]
    without = [r["val_acc"] for r in harness.trained(plain, seed_list)]
    return {order}
"""
_RUNS_RIGHT = {
    "plain": "baseline.but(n=n, epochs=epochs_for(n))",
    "augmented": "plain.but(augment=True)",
    "order": "with_aug, without",
}


def _runs(**change: str) -> str:
    return _RUNS.format(**(_RUNS_RIGHT | change))


_GROUPS = """
def decay_groups(model, weight_decay):
    decay, keep = {split}
    return [{{"params": decay, "weight_decay": weight_decay}}, {{"params": keep{keep_decay}}}]
"""
_GROUPS_RIGHT = {
    "split": "[m.weight for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))], "
    "[p for m in model.modules() if not isinstance(m, (nn.Linear, nn.Conv2d)) "
    "for p in m.parameters(recurse=False)] + "
    "[m.bias for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]",
    "keep_decay": ', "weight_decay": 0.0',
}


def _groups(**change: str) -> str:
    return _GROUPS.format(**(_GROUPS_RIGHT | change))


WRONG = {
    "tune_dropout": {
        "training accuracy instead of validation accuracy": _tune(
            measure='return {r: [x["train_acc"] for x in harness.trained(baseline.but(dropout=r), '
            "seed_list)] for r in rates}"
        ),
        "the gap instead of the validation accuracy": _tune(
            measure='return {r: [x["gap"] for x in harness.trained(baseline.but(dropout=r), '
            "seed_list)] for r in rates}"
        ),
        "one seed's run, repeated for every seed": _tune(
            measure="return {r: [harness.trained(baseline.but(dropout=r), seed_list[:1])[0]"
            '["val_acc"]] * len(seed_list) for r in rates}'
        ),
        "the best mean wins, however small its lead": _tune(beats="sum(diffs) > 0"),
        "a tie on a seed counts as a win": _tune(
            beats="min(diffs) >= 0 and sum(diffs) / len(diffs) > 0.01"
        ),
        "the scores sorted before pairing, not paired by seed": _tune(
            beats="min(x - y for x, y in zip(sorted(scores[a]), sorted(scores[b]))) > 0 "
            "and sum(diffs) / len(diffs) > 0.01"
        ),
        "the seeds in reverse order": _tune(
            measure='return {r: [x["val_acc"] for x in harness.trained(baseline.but(dropout=r), '
            "seed_list[::-1])] for r in rates}"
        ),
        "a lead on average is enough, even with a lost seed": _tune(
            beats="sum(diffs) / len(diffs) > 0.01"
        ),
        "more than a point on every seed, instead of on average": _tune(beats="min(diffs) > 0.01"),
        "the best mean compared with the runner-up only": """
def tune_dropout(rates, seed_list):
    return {r: [x["val_acc"] for x in harness.trained(baseline.but(dropout=r), seed_list)]
            for r in rates}


def decide(scores):
    mean = {r: sum(v) / len(v) for r, v in scores.items()}
    best, second = sorted(scores, key=mean.get, reverse=True)[:2]
    diffs = [x - y for x, y in zip(scores[best], scores[second])]
    return best if min(diffs) > 0 and sum(diffs) / len(diffs) > 0.01 else None


dropout_scores = tune_dropout([0.2, 0.5, 0.7], seeds)
keep_rate = decide(dropout_scores)
""",
        "every rate compared with the first rate only": """
def tune_dropout(rates, seed_list):
    return {r: [x["val_acc"] for x in harness.trained(baseline.but(dropout=r), seed_list)]
            for r in rates}


def decide(scores):
    rates = list(scores)
    first = rates[0]
    for a in rates[1:]:
        diffs = [x - y for x, y in zip(scores[a], scores[first])]
        if min(diffs) > 0 and sum(diffs) / len(diffs) > 0.01:
            return a
    return None


dropout_scores = tune_dropout([0.2, 0.5, 0.7], seeds)
keep_rate = decide(dropout_scores)
""",
    },
    "smoothed_cross_entropy": {
        "eps / (K - 1) on the other classes, 1 - eps on the true one": _smoothed(
            q="torch.full_like(log_p, eps / (k - 1)).scatter(1, targets[:, None], 1 - eps)"
        ),
        "summed over the batch instead of averaged": _smoothed(reduce="-(q * log_p).sum()"),
        "eps / K added on top of the one-hot target: q sums to 1 + eps": _smoothed(
            q="eps / k + F.one_hot(targets, k)"
        ),
        "log(softmax(...)): -inf for a very negative logit": _smoothed(
            log_p="torch.log(torch.softmax(logits, dim=1))"
        ),
        "K fixed at 10, MNIST's number of classes": _smoothed(
            q="eps / 10 + (1 - eps) * F.one_hot(targets, 10)"
        ),
        "softmax over the batch dimension": _smoothed(log_p="F.log_softmax(logits, dim=0)"),
    },
    "augmentation_runs": {
        "the same number of epochs at every size, not the same number of steps": _runs(
            plain="baseline.but(n=n)"
        ),
        "n never passed: always the first 1,000 images": _runs(
            plain="baseline.but(epochs=epochs_for(n))"
        ),
        "augmentation never switched on": _runs(augmented="plain"),
        "the augmented runs at the default epochs, the plain ones at the step budget": _runs(
            augmented="baseline.but(n=n, augment=True)"
        ),
        "the two lists returned in the wrong order": _runs(order="without, with_aug"),
    },
    "decay_groups": {
        "every parameter named 'weight' decayed, norm layers' scales included": _groups(
            split='[p for n, p in model.named_parameters() if n.endswith("weight")], '
            '[p for n, p in model.named_parameters() if n.endswith("bias")]'
        ),
        "no weight_decay in the second group: AdamW's default 0.01 applies": _groups(keep_decay=""),
        "only nn.Linear weights decayed: the convolution kernel is left out": _groups(
            split="[m.weight for m in model.modules() if isinstance(m, nn.Linear)], "
            "[p for m in model.modules() if not isinstance(m, nn.Linear) "
            "for p in m.parameters(recurse=False)] + "
            "[m.bias for m in model.modules() if isinstance(m, nn.Linear)]"
        ),
        "every parameter in the decayed group": _groups(split="list(model.parameters()), []"),
        "the weights in both groups": _groups(
            split="[p for p in model.parameters() if p.dim() > 1], list(model.parameters())"
        ),
        "every tensor of 2 or more dimensions decayed, a 3-d LayerNorm scale too": _groups(
            split="[p for p in model.parameters() if p.dim() > 1], "
            "[p for p in model.parameters() if p.dim() <= 1]"
        ),
    },
}
