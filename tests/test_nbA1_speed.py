"""Appendix A1 (speed) in smoke mode: what it records and prints, and the committed full run."""

from __future__ import annotations

import re

import nbformat
from conftest import NOTEBOOK_DIR, outputs_of

STEM = "A1_speed"
EXACT = (  # claims about equal results, which hold on any machine, under any load, in smoke mode
    "in-memory batches = the DataLoader's (largest pixel difference ≤ 1e-6)",
    "for-loop, foreach and fused Adam: the same update (within 1e-6)",
    "autocast: bfloat16 logits; float32 loss, weights and gradients",
    "autocast changes the loss by under 1%",
    "compiled step's first loss = eager's (within 1e-4), or not compiled",
)


def test_the_exact_claims_hold_even_in_smoke_mode(smoke_run):
    results, _ = smoke_run(STEM)
    claims = results["claims"]
    assert len(claims) == 8 and all(isinstance(v, bool) for v in claims.values())
    for claim in EXACT:
        assert claims[claim] is True, claim


def test_records_the_recipe_and_the_data_path(smoke_run):
    results, _ = smoke_run(STEM)
    recipe = results["recipe"]
    assert recipe["steps"] == 4  # 0.25 of an epoch of 4,000 images in batches of 256 (16 steps)
    assert recipe["checks"][-1][0] == 0.25 and 0 < recipe["wall"] and 0 <= recipe["cpu"]
    assert 0.1 < results["test_accuracy"] <= 1.0
    assert min(results["memory_speedup"].values()) > 1  # wall and CPU; several x in a full run
    assert results["compiled"] is False  # smoke mode never compiles


def test_every_timing_is_printed_with_its_spread_and_a_verdict(smoke_run):
    results, nb = smoke_run(STEM)
    quartet = r"[\d.]+ \[ *[\d.]+ to +[\d.]+\]"  # median [lower quartile to upper quartile]
    rows = re.compile(rf"^\S.*\S +{quartet} +{quartet} +\d+ +[\d.]+$")  # + turn ms, calls
    clock = r"\((faster beyond the spread|slower beyond the spread|IQRs overlap)\)"
    verdict = re.compile(
        rf"^in this run, .+ took [\d.]+x the time of .+ in wall time {clock}, "
        rf"[\d.]+x in CPU time {clock}; medians: (a finding|no finding by the both-clocks rule)$"
    )
    for marker, n_rows in (
        ("demo = interleaved(", 3),
        ("data_times = interleaved(", 4),
        ("adam_times = interleaved(", 4),
        ("add_times = interleaved(", 2),
        ("cnn_times = interleaved(", 4 if results["bf16"] else 3),  # a row for native bfloat16
    ):
        lines = outputs_of(nb, marker).splitlines()
        assert sum(bool(rows.match(line)) for line in lines) == n_rows, (marker, lines)
        assert any(verdict.match(line) for line in lines), (marker, lines)
        if marker == "demo = interleaved(":  # turns bounded by time: at least round_ms (5 in smoke)
            turns = [float(line.split()[-2]) for line in lines if rows.match(line)]
            assert min(turns) >= 5, turns
    assert "try_compile=False: torch.compile skipped" in outputs_of(nb, "def own_loader")


def test_the_committed_full_run_compiled_and_timed_the_recipe():
    nb = nbformat.read(NOTEBOOK_DIR / f"{STEM}.ipynb", as_version=4)
    compiled = outputs_of(nb, "same_loss = compile_seconds is None")
    assert "the first compiled step, compiling included, took" in compiled
    assert re.search(r"in this run, compiled took [\d.]+x the time of eager", compiled)
    recipe = outputs_of(nb, 'if run["seconds_to_target"] is not None')
    assert re.search(r"in this run, time to 99% validation accuracy: [\d.]+ s", recipe)
    table = outputs_of(nb, "run = train_to_target(")
    assert re.search(r"s wall, [\d.]+ s CPU \([\d.]+ cores busy\), load", table)
    assert re.search(
        r"in this run, time to 99% validation accuracy: [\d.]+ s wall, [\d.]+ s CPU", recipe
    )
    assert "epochs done | wall seconds | CPU seconds | validation accuracy" in table
