"""Plausible wrong answers to notebook 05's exercises (see README.md beside this file)."""

_BALANCED = """
def balanced_accuracy(confusion):
    images = confusion.sum(1)
    present = images > 0
    return {value}
"""

_WILSON = """
def wilson_interval(correct, n, z=1.96):
    p_hat = correct / n
    denominator = {denominator}
    centre = {centre}
    half_width = {half_width}
    return centre - half_width, centre + half_width
"""
_WILSON_RIGHT = {
    "denominator": "1 + z**2 / n",
    "centre": "(p_hat + z**2 / (2 * n)) / denominator",
    "half_width": "z / denominator * math.sqrt(p_hat * (1 - p_hat) / n + z**2 / (4 * n**2))",
}


def _wilson(**change: str) -> str:
    return _WILSON.format(**(_WILSON_RIGHT | change))


_TEMPERATURE = """
def fit_temperature(logits, targets, grid):
    losses = torch.stack([{loss} for t in grid])
    return grid[losses.argmin()].item()


val_logits, val_targets = predict(model, loaders["val"])
temperature = fit_temperature(val_logits, val_targets, grid)
conf_before = logits.softmax(1).max(1).values
conf_after = {conf_after}
ece_before = hm.expected_calibration_error(conf_before, right)
ece_after = {ece_after}
drops = torch.zeros({resamples}, dtype=torch.float64)
for b in range({resamples}):
    i = resample(b)
    j = {other}
    before_i = hm.expected_calibration_error(conf_before[i], right[i])
    after_j = hm.expected_calibration_error(conf_after[j], right[j])
    drops[b] = {drop}
quantiles = torch.tensor({quantiles}, dtype=torch.float64)
drop_interval = {interval}


def shows_improvement(interval):
    return {rule}
"""
_TEMPERATURE_RIGHT = {
    "loss": "nn.functional.cross_entropy(logits / t, targets)",
    "conf_after": "(logits / temperature).softmax(1).max(1).values",
    "ece_after": "hm.expected_calibration_error(conf_after, right)",
    "resamples": "n_boot",
    "other": "i",
    "drop": "before_i - after_j",
    "quantiles": "[0.025, 0.975]",
    "interval": "tuple(drops.quantile(quantiles).tolist())",
    "rule": "interval[0] > 0",
}


def _temperature(**change: str) -> str:
    return _TEMPERATURE.format(**(_TEMPERATURE_RIGHT | change))


WRONG = {
    "balanced_accuracy": {
        "the mean precision: columns instead of rows": _BALANCED.format(
            value="(confusion.diag() / confusion.sum(0).clamp(min=1)).double().mean().item()"
        ),
        "plain accuracy: the diagonal over everything": _BALANCED.format(
            value="(confusion.diag().sum() / confusion.sum()).item()"
        ),
        "a class without images counted as recall 0": _BALANCED.format(
            value="(confusion.diag() / images.clamp(min=1)).double().mean().item()"
        ),
        "the classes with recall 0 left out along with those without images": _BALANCED.format(
            value="(lambda r: r[r > 0].mean().item())(confusion.diag() / confusion.sum(1))"
        ),
        "a class without images left in: 0/0 is NaN": _BALANCED.format(
            value="(confusion.diag() / images).double().mean().item()"
        ),
        "integer division: every recall below 1 becomes 0": _BALANCED.format(
            value="(confusion.diag()[present] // images[present]).double().mean().item()"
        ),
    },
    "wilson_interval": {
        "the normal interval: zero width at 10 out of 10": _wilson(
            denominator="1", centre="p_hat", half_width="z * math.sqrt(p_hat * (1 - p_hat) / n)"
        ),
        "the standard error of p-hat: the z²/(4n²) term forgotten": _wilson(
            half_width="z / denominator * math.sqrt(p_hat * (1 - p_hat) / n)"
        ),
        "z instead of z² in the centre": _wilson(centre="(p_hat + z / (2 * n)) / denominator"),
        "z instead of z² in the denominator": _wilson(denominator="1 + z / n"),
        "Agresti and Coull's interval, a different one": """
def wilson_interval(correct, n, z=1.96):
    n_tilde = n + z**2
    p_tilde = (correct + z**2 / 2) / n_tilde
    half_width = z * math.sqrt(p_tilde * (1 - p_tilde) / n_tilde)
    return p_tilde - half_width, p_tilde + half_width
""",
        "the ends found on a grid of 1,001 values of p": """
def wilson_interval(correct, n, z=1.96):
    p_hat = correct / n
    p = torch.linspace(0, 1, 1001, dtype=torch.float64)
    kept = p[(p_hat - p).abs() <= z * (p * (1 - p) / n).sqrt()]
    return kept.min().item(), kept.max().item()
""",
    },
    "fit_temperature": {
        "T chosen by accuracy, which no temperature changes": _temperature(
            loss="-((logits / t).argmax(1) == targets).float().mean()"
        ),
        "logits multiplied by T instead of divided": _temperature(
            loss="nn.functional.cross_entropy(logits * t, targets)"
        ),
        "the confidence in the true class, not the largest probability": _temperature(
            conf_after="(logits / temperature).softmax(1).gather(1, targets[:, None]).squeeze(1)"
        ),
        "the ECE after measured on the validation images": _temperature(
            ece_after="hm.expected_calibration_error((val_logits / temperature).softmax(1)"
            ".max(1).values, (val_logits.argmax(1) == val_targets).double())"
        ),
        "unpaired: the ECE after measured on another resample than the ECE before": _temperature(
            other="resample(n_boot + b)"
        ),
        "the drops of the ECE after alone, not of the drop": _temperature(drop="after_j"),
        "100 resamples, a number typed in instead of n_boot": _temperature(resamples="100"),
        "a 90% interval": _temperature(quantiles="[0.05, 0.95]"),
        "a normal interval from the drops' mean and SD": _temperature(
            interval="(drops.mean().item() - 1.96 * drops.std().item(), "
            "drops.mean().item() + 1.96 * drops.std().item())"
        ),
        "the interval typed in as (-1, 1), so nothing is ever improved": _temperature(
            interval="(-1.0, 1.0)"
        ),
        "the decision typed in: always improved": _temperature(rule="True"),
        "the decision from the measured ECEs, not the interval": _temperature(
            rule="ece_after < ece_before"
        ),
        "the decision from the upper end: improved whenever the interval reaches above 0": (
            _temperature(rule="interval[1] > 0")
        ),
        "the decision from the interval's midpoint": _temperature(
            rule="(interval[0] + interval[1]) / 2 > 0"
        ),
    },
}
