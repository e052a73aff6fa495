"""helpers._internal.machine: the thread policy (torch gets the cores other programs leave free, at
least one), the CPU's name and the load."""

from __future__ import annotations

import multiprocessing
import os
import sys
import time

import pytest
import torch

from helpers._internal import machine as threads


@pytest.fixture
def keep_threads():
    """Restore torch's thread count after the test."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize(
    ("cores", "busy", "expected"),
    [(2, 0, 2), (2, 1, 1), (2, 2, 1), (2, 5, 1), (8, 2.6, 5), (8, 2.4, 6), (4, 0.4, 4)],
)
def test_choose_threads_gives_torch_the_free_cores_and_at_least_one(cores, busy, expected):
    assert threads.choose_threads(cores=cores, busy=busy) == expected


def test_choose_threads_refuses_a_negative_load():
    with pytest.raises(ValueError, match=r"busy must be >= 0, got -1"):
        threads.choose_threads(cores=2, busy=-1)


def test_without_any_load_figure_all_cores_are_used(monkeypatch):
    monkeypatch.setattr(threads, "_running_now", lambda: None)
    monkeypatch.delattr(os, "getloadavg", raising=False)
    assert threads.busy_cores() is None
    assert threads.choose_threads(cores=3) == 3


def _spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads Linux's /proc/stat")
def test_busy_cores_sees_a_program_that_started_a_moment_ago():
    quiet = threads.busy_cores()
    spinner = multiprocessing.get_context("spawn").Process(target=_spin, args=(20.0,))
    spinner.start()
    try:
        time.sleep(1.0)  # the spawned interpreter starts up, then spins
        busy = threads.busy_cores(samples=9)
    finally:
        spinner.terminate()
        spinner.join()
    assert busy is not None and quiet is not None
    assert busy >= 1, f"a spinning process runs, yet busy_cores() read {busy}"


def test_use_threads_sets_torch_and_says_why(monkeypatch, keep_threads):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    monkeypatch.setattr(threads, "busy_cores", lambda: 2.0)
    assert threads.use_threads() == "1 CPU thread (2 cores, all busy with other programs)"
    assert torch.get_num_threads() == 1
    monkeypatch.setattr(threads, "busy_cores", lambda: 0.0)
    assert threads.use_threads() == "2 CPU threads (2 cores, 0 busy with other programs)"
    assert torch.get_num_threads() == 2


def test_use_threads_respects_omp_num_threads_and_an_explicit_count(monkeypatch, keep_threads):
    torch.set_num_threads(1)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setattr(threads, "busy_cores", lambda: 0.0)
    assert threads.use_threads() == "1 CPU thread (OMP_NUM_THREADS)"
    assert torch.get_num_threads() == 1
    assert threads.use_threads(2) == "2 CPU threads (as asked)"
    assert torch.get_num_threads() == 2


def test_load_average_is_a_number_or_none(monkeypatch):
    load = threads.load_average()
    assert load is None or load >= 0
    monkeypatch.delattr(threads.os, "getloadavg")
    assert threads.load_average() is None
    assert "load average unknown" in threads.machine_summary()


def test_machine_summary_names_threads_cores_and_onednn():
    text = threads.machine_summary()
    assert f"{torch.get_num_threads()} torch CPU threads" in text
    assert "oneDNN" in text and "load average" in text


def test_cpu_model_reads_the_model_name_else_falls_back_to_platform(tmp_path, monkeypatch):
    info = tmp_path / "cpuinfo"
    info.write_text(
        "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9B14\n\n"
        "processor\t: 1\nmodel name\t: AMD EPYC 9B14\n"
    )
    assert threads.cpu_model(info) == "AMD EPYC 9B14"
    monkeypatch.setattr(threads.platform, "processor", lambda: "")
    monkeypatch.setattr(threads.platform, "machine", lambda: "arm64")
    assert threads.cpu_model(tmp_path / "missing") == "arm64"  # macOS, Windows: no /proc/cpuinfo
    info.write_text("processor\t: 0\nmodel name\t:\n")  # an empty name is no name
    assert threads.cpu_model(info) == "arm64"
