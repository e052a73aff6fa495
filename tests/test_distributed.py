"""helpers.distributed and scripts/ddp_train.py: sharding, rank-0 logging, the torchrun launcher
(failures, timeouts), and real 2-process runs on the CPU with gloo, each under a hard timeout."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import time

import pytest
import torch
from conftest import ROOT

import helpers.distributed as distributed
from helpers._internal.torchrun import DistributedRunError, _failure, launch
from helpers.checkpoints import load_checkpoint
from helpers.distributed import init_distributed, print0, shard_indices

SCRIPT = ROOT / "scripts" / "ddp_train.py"
HARD_TIMEOUT = 60.0  # seconds: a distributed test that runs longer has hung, and fails


def load_script():
    spec = importlib.util.spec_from_file_location("ddp_train", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- sharding ---------------------------------------------------------------------------------


def test_shards_are_disjoint_equal_and_cover_the_data():
    shards = [shard_indices(10, rank=r, world_size=2, epoch=0, seed=0) for r in range(2)]
    assert [len(s) for s in shards] == [5, 5]
    assert sorted(torch.cat(shards).tolist()) == list(range(10))


def test_uneven_data_is_padded_so_every_rank_takes_the_same_number_of_steps():
    shards = [shard_indices(7, rank=r, world_size=3, epoch=0, seed=1) for r in range(3)]
    assert [len(s) for s in shards] == [3, 3, 3]
    assert set(torch.cat(shards).tolist()) == set(range(7))  # 2 indices are seen twice


def test_set_epoch_reshuffles_and_the_same_epoch_repeats():
    a0 = shard_indices(1000, rank=0, world_size=2, epoch=0, seed=3)
    assert torch.equal(a0, shard_indices(1000, rank=0, world_size=2, epoch=0, seed=3))
    assert not torch.equal(a0, shard_indices(1000, rank=0, world_size=2, epoch=1, seed=3))
    unshuffled = shard_indices(6, rank=1, world_size=2, shuffle=False)
    assert unshuffled.tolist() == [1, 3, 5]


# --- rank 0 logging and init --------------------------------------------------------------------


def test_print0_prints_on_rank_0_only(monkeypatch, capsys):
    monkeypatch.setenv("RANK", "1")
    print0("from rank 1")
    monkeypatch.setenv("RANK", "0")
    print0("from rank 0")
    assert capsys.readouterr().out == "from rank 0\n"


def test_init_outside_torchrun_says_how_to_launch(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match="torchrun --standalone --nproc_per_node"):
        init_distributed()


# --- the launcher -------------------------------------------------------------------------------


def test_cleanup_collects_cycles_before_leaving_the_group(monkeypatch):
    # cycles are collected while the group still exists, not at interpreter exit (without
    # this, 6 of 82 two-rank launches aborted at exit); and no group: nothing to do
    calls = []
    monkeypatch.setattr(distributed.dist, "is_initialized", lambda: True)
    monkeypatch.setattr(distributed.gc, "collect", lambda: calls.append("collect"))
    monkeypatch.setattr(distributed.dist, "destroy_process_group", lambda: calls.append("destroy"))
    distributed.cleanup()
    assert calls == ["collect", "destroy"]
    monkeypatch.setattr(distributed.dist, "is_initialized", lambda: False)
    distributed.cleanup()
    assert calls == ["collect", "destroy"]


def test_failure_names_the_root_cause_rank_and_error():
    report = (
        "[1]:\n  rank      : 0 (local_rank: 0)\n  exitcode  : -15\n"
        "  RuntimeError: Connection closed by peer\n"
        "Root Cause (first observed failure):\n[0]:\n  rank      : 1 (local_rank: 1)\n"
        "  exitcode  : 1 (pid: 7)\n  traceback : Traceback (most recent call last):\n"
        "  ValueError: boom on rank 1\n=====\n"
    )
    assert _failure(report) == "rank 1 failed first: ValueError: boom on rank 1"
    killed = "Root Cause:\n  rank      : 0 (local_rank: 0)\n  exitcode  : -9 (pid: 3)\n"
    assert _failure(killed) == "rank 0 failed first: exit code -9 (SIGKILL)"
    aborted = (
        "terminate called after throwing an instance of 'gloo::IoException'\n"
        "  what():  [../gloo/transport/tcp/pair.cc:534] Connection closed by peer\n"
        "Root Cause:\n  rank      : 0 (local_rank: 0)\n  exitcode  : -6 (pid: 3)\n"
    )
    assert _failure(aborted) == (
        "rank 0 failed first: exit code -6 (SIGABRT): what():  "
        "[../gloo/transport/tcp/pair.cc:534] Connection closed by peer"
    )


def test_launch_refuses_a_missing_script(tmp_path):
    with pytest.raises(FileNotFoundError, match="script must be an existing file"):
        launch(tmp_path / "nope.py")


def test_a_hung_job_is_killed_at_the_timeout(tmp_path):
    script = tmp_path / "hang.py"
    script.write_text("import time\ntime.sleep(600)\n")
    start = time.perf_counter()
    with pytest.raises(DistributedRunError, match="did not finish within 8.0 s and was stopped"):
        launch(script, nproc=2, timeout_s=8.0)
    assert time.perf_counter() - start < 20
    alive = subprocess.run(["pgrep", "-f", str(script)], capture_output=True, text=True)
    assert alive.stdout.strip() == "", "a rank of the killed job is still running"


def test_a_failing_rank_is_named_with_its_error(tmp_path):
    script = tmp_path / "fail.py"
    script.write_text(
        "import os\nif os.environ['RANK'] == '1':\n    raise ValueError('bad shard on rank 1')\n"
    )
    with pytest.raises(DistributedRunError) as err:
        launch(script, nproc=2, timeout_s=HARD_TIMEOUT)
    assert "rank 1 failed first: ValueError: bad shard on rank 1" in str(err.value)


def test_script_arguments_are_checked():
    module = load_script()
    with pytest.raises(SystemExit):
        module.parse_args(["--epochs", "0", "--out", "x.json"])
    args = module.parse_args(["--out", "x.json"])
    assert (args.task, args.batch_size, args.lr, args.epochs) == ("train", 64, 1e-3, 3)


# --- real 2-process runs (gloo on the CPU) ------------------------------------------------------


def test_ddp_gradient_equals_the_single_process_gradient(data_dir):
    result = launch(
        SCRIPT, ["--task", "gradcheck", "--data-dir", data_dir], nproc=2, timeout_s=HARD_TIMEOUT
    )
    assert (result["world_size"], result["backend"], result["shard_size"]) == (2, "gloo", 32)
    assert result["max_abs_diff_ddp"] <= 1e-6
    assert result["max_abs_diff_by_hand"] <= 1e-6
    assert result["max_abs_weight_diff_across_ranks_after_step"] == 0.0
    assert result["grad_norm"] > 1e-3  # a gradient that is not trivially zero


def test_two_process_smoke_run_trains_logs_once_and_checkpoints(data_dir, tmp_path):
    ckpt = tmp_path / "ddp.pt"
    args = ["--subset", "2000", "--epochs", "1", "--data-dir", data_dir, "--checkpoint", ckpt]
    result = launch(SCRIPT, args, nproc=2, timeout_s=HARD_TIMEOUT)
    assert (result["world_size"], result["threads"]) == (2, max(1, os.cpu_count() // 2))
    assert result["samples_per_rank"] == 1000 and result["steps_per_epoch"] == 1000 // 32 + 1
    assert 0.3 < result["test_accuracy"] <= 1.0  # 2,000 images, one epoch: far above chance
    assert result["log"].count("epoch 1:") == 1  # rank 0 logs, rank 1 does not
    model = load_script().Net()
    assert load_checkpoint(ckpt, model=model)["epoch"] == 1
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".tmp"]


def test_a_crashed_rank_ends_the_job_with_a_clear_message(data_dir):
    args = ["--subset", "2000", "--epochs", "1", "--data-dir", data_dir, "--crash-rank", "1"]
    start = time.perf_counter()
    with pytest.raises(DistributedRunError) as err:
        launch(SCRIPT, args, nproc=2, timeout_s=HARD_TIMEOUT)
    assert "rank 1 failed first: RuntimeError: simulated crash on rank 1 at step 3" in str(
        err.value
    )
    assert time.perf_counter() - start < HARD_TIMEOUT  # it ended; it was not killed at the timeout
