"""helpers.distributed and scripts/ddp_train.py: sharding, rank-0 logging, the torchrun launcher
(failures, timeouts, each under a hard timeout), and the script's training function in this
process as a world of one. The script's real multi-process runs (training, a crashed rank) are
notebook 08's smoke run, checked in test_nb08_distributed.py: each torchrun launch costs seconds."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import time

import pytest
import torch
import torch.distributed as dist
from conftest import ROOT

import helpers.distributed as distributed
from helpers._internal.torchrun import DistributedRunError, _failure, launch
from helpers.checkpoints import load_checkpoint
from helpers.distributed import init_distributed, print0

SCRIPT = ROOT / "scripts" / "ddp_train.py"
HARD_TIMEOUT = 60.0  # seconds: a distributed test that runs longer has hung, and fails


def load_script():
    spec = importlib.util.spec_from_file_location("ddp_train", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


@pytest.mark.slow  # torchrun
def test_a_hung_job_is_killed_at_the_timeout(tmp_path):
    script = tmp_path / "hang.py"
    script.write_text("import time\ntime.sleep(600)\n")
    start = time.perf_counter()
    with pytest.raises(DistributedRunError, match="did not finish within 8.0 s and was stopped"):
        launch(script, nproc=2, timeout_s=8.0)
    assert time.perf_counter() - start < 20
    alive = subprocess.run(["pgrep", "-f", str(script)], capture_output=True, text=True)
    assert alive.stdout.strip() == "", "a rank of the killed job is still running"


@pytest.mark.slow  # torchrun
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
    assert (args.batch_size, args.lr, args.epochs, args.resume) == (64, 1e-3, 3, None)


def test_the_script_never_averages_gradients_by_hand():
    # exercise 1 of notebook 08 asks for that; the student package ships this script
    source = SCRIPT.read_text()
    assert "average_gradients" not in source
    assert not re.search(r"all_reduce\([^)]*grad", source), "the script all-reduces a gradient"


# --- the script's train() in this process, as a world of one (the notebook's baseline) --------


@pytest.fixture
def world_of_one():
    """This process as rank 0 of a gloo group of one; the group is left afterwards."""
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    try:
        yield load_script()
    finally:
        dist.destroy_process_group()


@pytest.mark.slow  # trains on MNIST
def test_train_logs_once_per_epoch_checkpoints_and_resumes_exactly(
    world_of_one, mnist_splits, data_dir, tmp_path, capsys, monkeypatch
):
    script, cpu = world_of_one, torch.device("cpu")
    monkeypatch.setattr(script, "mnist_splits", lambda *_: mnist_splits)  # loaded once

    def run(*extra):
        args = ["--subset", "1000", "--data-dir", data_dir, "--out", "unused", *map(str, extra)]
        return script.train(script.parse_args(args), 0, 1, cpu)

    straight = run("--epochs", 2, "--checkpoint", tmp_path / "straight.pt")
    assert capsys.readouterr().out.count("epoch ") == 2  # rank 0 logs every epoch once
    assert straight["samples_per_rank"] == 1000 and straight["steps_per_epoch"] == 16
    assert 0.3 < straight["test_accuracy"] <= 1.0  # 1,000 images, two epochs: above chance
    assert len(straight["history"]["first_indices"]) == 2
    assert load_checkpoint(tmp_path / "straight.pt", model=script.Net())["epoch"] == 2
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".tmp"]
    saved = load_checkpoint(tmp_path / "straight.pt", model=script.Net())["extra"]
    assert saved["history"] == straight["history"] and saved["world_size"] == 1
    first = run("--epochs", 1, "--checkpoint", tmp_path / "first.pt")
    resumed = run("--epochs", 2, "--resume", tmp_path / "first.pt")
    # epoch 2 again, from epoch 1's weights and Adam state, with epoch 2's shuffle (set_epoch),
    # after epoch 1's history, which the checkpoint holds
    assert first["history"]["train_loss"] == straight["history"]["train_loss"][:1]
    assert resumed["history"]["first_indices"] == straight["history"]["first_indices"]
    assert resumed["history"]["train_loss"] == straight["history"]["train_loss"]
    assert resumed["history"]["test_accuracy"] == straight["history"]["test_accuracy"]
    with pytest.raises(ValueError, match="has finished 2 epochs"):
        run("--epochs", 2, "--resume", tmp_path / "straight.pt")
    crash = ["--crash-rank", 0, "--crash-epoch", 2, "--crash-step", 5]
    with pytest.raises(RuntimeError, match="simulated crash on rank 0 at step 5"):
        run("--epochs", 3, "--checkpoint", tmp_path / "crashed.pt", *crash)
    survived = load_checkpoint(tmp_path / "crashed.pt", model=script.Net())  # epoch 1's
    assert survived["epoch"] == 1
    assert survived["extra"]["history"]["train_loss"] == first["history"]["train_loss"]
