"""Notebook 03 in smoke mode: the numbers it records and what it shows."""

from __future__ import annotations

import math

import papermill
import pytest
from conftest import outputs_of

STEM = "03_data_and_training_loop"


def test_records_sane_training_numbers(smoke_run):
    results, _ = smoke_run(STEM)
    assert results["smoke"] is True and results["epochs"] == 2 and results["recipe_images"] == 4000
    assert 0.5 < results["test_accuracy"] <= 1.0  # 10 classes: chance is 0.1
    assert 0.5 < results["val_accuracy"] <= 1.0
    assert 0.7 < results["baseline_val_accuracy"] < 0.9  # nearest class mean: about 81%
    assert 0 < results["val_loss"] < 1.5  # the written loop measures it; ln 10 = 2.3 untrained


def test_the_written_pieces_match_the_helpers_bit_for_bit(smoke_run):
    results, _ = smoke_run(STEM)
    assert results["fit_matches_loop"] is True  # the written loop == helpers.fit
    assert results["resume_matches"] is True  # checkpoint + resume == uninterrupted
    assert results["same_batches_as_dataloader"] is True
    assert results["in_memory_loader_matches"] is True
    assert results["normalization"] == {"mean": 0.1306, "std": 0.3081, "agrees": True}


def test_accuracy_is_a_staircase_and_the_timings_are_printed_with_their_spread(smoke_run):
    results, nb = smoke_run(STEM)
    assert 0.5 < results["accuracy_flat_share"] <= 1.0
    assert set(results["worker_seconds"]) == {"0", "1", "2"}
    assert all(len(runs) == 6 for runs in results["worker_seconds"].values())  # six repeats
    assert set(results["worker_cpu_seconds"]) == {"0", "1", "2"}
    assert all(len(runs) == 6 for runs in results["worker_cpu_seconds"].values())
    assert set(results["first_batch_waits"]) == {"False", "True"}
    waits = [s for run in results["first_batch_waits"].values() for s in run]
    assert len(waits) == 10  # five epochs each
    reads = [s for runs in results["worker_seconds"].values() for s in runs]
    for seconds in [*reads, *waits]:
        assert math.isfinite(seconds) and seconds > 0
    text = outputs_of(nb, "worker_seconds = {")
    for workers in (0, 1, 2):
        assert f"num_workers={workers}: median" in text and "over 6 repeats" in text
    assert text.count("ms per batch, ") == 6 and text.count("cores busy on average") == 3
    verdicts = outputs_of(nb, "def verdict")
    assert "PyTorch threads:" in verdicts
    pairs = [line for line in verdicts.splitlines() if line.startswith("  num_workers=")]
    assert len(pairs) == 3  # one verdict per pair of settings
    assert "  without workers, " in verdicts and "  with 2 workers, " in verdicts  # read in words
    text = outputs_of(nb, "five = Subset(")
    assert "persistent_workers=True : epoch 1 after" in text and "epochs 2-5: median" in text
    assert "in this run, epochs 2-5: " in text
    assert text.count("of that, in iter() itself: median") == 2  # the handshake, or the start
    assert "the workers' start method in this run: '" in text
    steps = outputs_of(nb, "step_ms, step_cpu")
    assert "ms wall-clock" in steps and "per batch read through the DataLoader" in steps
    assert steps.count(" ms CPU") == 2 and "by CPU time, reading one batch cost" in steps


def test_the_normalization_leak_is_measured(smoke_run):
    _, nb = smoke_run(STEM)
    text = outputs_of(nb, "def pixel_stats")
    assert "training split, 55,000 images: mean 0.130646, std 0.308100" in text
    assert "all 60,000 training images:  mean 0.130660, std 0.308108" in text
    assert "the 60,000-image values rounded to 4 decimals: True" in text
    shift = float(text.split("moves by at most ")[1].split()[0])
    assert 0 < shift < 1e-3


def test_the_claims_about_the_loss_and_the_optimizer_are_printed(smoke_run):
    _, nb = smoke_run(STEM)
    split = outputs_of(nb, "halfway_net = Net()")
    assert split.count("misclassified, mean loss") == 2 and "of the validation loss" in split
    assert split.count("images wrong both times, after epoch") == 2
    assert "the validation loss was lowest after epoch" in split
    step = outputs_of(nb, "stepped = Net()")
    assert "a fresh Adam's first step, lr 0.001: largest change of a weight 0.001000;" in step
    assert "exceeds 1e-6, 100.00% moved by lr within 1%" in step  # lr g / (|g| + 1e-8)
    fused = outputs_of(nb, "def fifty_steps")
    assert "helpers.adam is the fused implementation: True" in fused  # CPU builds have it
    assert "after 50 steps: batch losses that differ:" in fused
    fresh = outputs_of(nb, "fresh_adam = fit(")
    assert "without the optimizer's state: final weights equal the uninterrupted run's: False" in (
        fresh
    )


def test_pytorch_s_own_dataset_tools_are_shown(smoke_run):
    _, nb = smoke_run(STEM)
    split = outputs_of(nb, "random_split(")
    assert "random_split: Subsets of 55,000 and 5,000" in split
    assert "train and validation overlap: False" in split
    assert "same pixels and labels as our Dataset, on all 1,000 items: True" in outputs_of(
        nb, "TensorDataset("
    )
    text = outputs_of(nb, "class MNISTTensors")
    assert "same labels and pixels as torchvision's, on 1,000 items: True" in text


def test_a_shuffled_order_is_the_dataloaders_only_after_its_extra_draw(smoke_run):
    results, nb = smoke_run(STEM)
    assert results["shuffled_batches_as_dataloader"] is True
    text = outputs_of(nb, "first_five = list(")
    assert "generator seeded alike: the DataLoader's first 5 batches: False" in text
    assert "one number skipped: the DataLoader's first 5 batches: True" in text
    text = outputs_of(nb, "for skip_unused in")
    assert "unused permutation skipped: False; 2.1's epochs replayed: False" in text
    assert "unused permutation skipped: True; 2.1's epochs replayed: True" in text


def test_in_memory_pixels_match_for_every_pixel_value_and_whole_batches_are_shown(smoke_run):
    _, nb = smoke_run(STEM)
    text = outputs_of(nb, "every_value = ")
    assert "same labels, same pixels (within 1e-6): True" in text
    assert "all 256 pixel values, both ways, the same within 1e-6: True" in text
    text = outputs_of(nb, "by_batch = BatchSampler(")
    assert "16 batches; the first, from one call with 64 indices: images (64, 1, 28, 28)" in text


def test_the_written_loop_measures_the_validation_loss_as_fit_does(smoke_run):
    _, nb = smoke_run(STEM)
    text = outputs_of(nb, "val_gap =")
    gap = float(text.split("largest relative difference ")[1].split()[0])
    assert gap < 1e-5
    assert "validation: loss" in outputs_of(nb, "loop_seconds, loop_cpu =")


def test_claims_are_recorded_and_the_exact_ones_hold_even_in_smoke_mode(smoke_run):
    results, _ = smoke_run(STEM)
    claims = results["claims"]
    assert len(claims) == 8 and all(isinstance(v, bool) for v in claims.values())
    for claim in (
        "helpers.fit reproduces the written-out loop",
        "resuming from the checkpoint reproduces the uninterrupted run",
        "our Dataset gives torchvision's pixels and labels (1,000 items)",
        "in-memory batches = DataLoader's (1e-6), shuffled too if its seed draw is skipped",
    ):
        assert claims[claim] is True, claim


def test_shows_the_checkpoint_guards_at_work(smoke_run):
    _, nb = smoke_run(STEM)
    assert "resume matches the uninterrupted run, bit for bit: True" in outputs_of(
        nb, "resume_matches ="
    )
    text = outputs_of(nb, "class Surprise")
    assert "!!! this line was printed by code hidden in the checkpoint file !!!" in text
    assert "UnpicklingError: WeightsUnpickler error: Unsupported global: GLOBAL print" in text
    assert "downloaded.pt contains Python objects" in text and "not loaded, for safety" in text
    assert "weights_only=False" not in text.split("load_checkpoint:")[1]  # never suggested
    assert (
        "CheckpointError: cannot read checkpoint <checkpoint_dir>/damaged.pt: "
        "the file is truncated or corrupted" in outputs_of(nb, "damaged_path")
    )


def test_an_epoch_count_below_two_fails_in_the_setup_cell(smoke_run):
    with pytest.raises(papermill.PapermillExecutionError) as err:
        smoke_run(STEM, epochs=1)  # resuming halfway needs two epochs
    assert err.value.ename == "ValueError"
    assert "epochs must be >= 2, got 1" in err.value.evalue
    assert err.value.exec_count == 3
