"""helpers.metrics.mcnemar: the paired test of notebook 05, against SciPy."""

from __future__ import annotations

import math

import pytest
import torch
from scipy import stats

from helpers.metrics import mcnemar


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


@pytest.mark.parametrize(
    "a, b, error, match",
    [
        (torch.tensor([1, 0]), torch.tensor([1, 0, 1]), ValueError, "same length"),
        (torch.tensor([1, 2]), torch.tensor([1, 0]), ValueError, "correct_a must be bool or hold"),
        (torch.ones(2, 2), torch.ones(2, 2), ValueError, "correct_a must be a 1-D tensor"),
        ([1, 0], torch.tensor([1, 0]), TypeError, "correct_a must be Tensor"),
    ],
)
def test_mcnemar_rejects_bad_input(a, b, error, match):
    with pytest.raises(error, match=match):
        mcnemar(a, b)
