"""helpers.cpu: load bookkeeping, the stopwatch, channels-last and the per-image step timer."""

from __future__ import annotations

import time

import pytest
import torch
from torch import nn

from helpers import cpu
from helpers.models import small_cnn


def test_load_average_is_a_number_or_none(monkeypatch):
    load = cpu.load_average()
    assert load is None or load >= 0
    monkeypatch.delattr(cpu.os, "getloadavg")
    assert cpu.load_average() is None
    assert "load average unknown" in cpu.machine_summary()


def test_machine_summary_names_threads_cores_and_onednn():
    text = cpu.machine_summary()
    assert f"{torch.get_num_threads()} torch CPU threads" in text
    assert "oneDNN" in text and "load average" in text


def test_cpu_model_reads_the_model_name_else_falls_back_to_platform(tmp_path, monkeypatch):
    info = tmp_path / "cpuinfo"
    info.write_text(
        "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9B14\n\n"
        "processor\t: 1\nmodel name\t: AMD EPYC 9B14\n"
    )
    assert cpu.cpu_model(info) == "AMD EPYC 9B14"
    monkeypatch.setattr(cpu.platform, "processor", lambda: "")
    monkeypatch.setattr(cpu.platform, "machine", lambda: "arm64")
    assert cpu.cpu_model(tmp_path / "missing") == "arm64"  # macOS, Windows: no /proc/cpuinfo
    info.write_text("processor\t: 0\nmodel name\t:\n")  # an empty name is no name
    assert cpu.cpu_model(info) == "arm64"


def test_stopwatch_measures_wall_and_cpu_time_separately():
    with cpu.Stopwatch() as idle:
        time.sleep(0.05)  # wall time passes, CPU time barely
    assert idle.wall >= 0.05 and idle.cpu < idle.wall
    with cpu.Stopwatch() as busy:
        start = time.process_time()
        while time.process_time() - start < 0.05:
            pass
        assert busy.elapsed() > 0
    assert busy.cpu >= 0.05 and busy.wall > 0
    text = busy.summary()
    assert "s wall" in text and "s CPU" in text and "cores busy" in text and "load" in text


def test_stopwatch_summary_survives_an_unknown_load():
    watch = cpu.Stopwatch(wall=2.0, cpu=3.0)
    assert watch.summary() == "2.0 s wall, 3.0 s CPU (1.5 cores busy), load unknown -> unknown"


def test_channels_last_keeps_outputs_and_changes_the_layout():
    torch.manual_seed(0)
    reference = small_cnn()
    model = small_cnn()
    model.load_state_dict(reference.state_dict())
    assert cpu.channels_last(model) is model
    assert model[3].weight.is_contiguous(memory_format=torch.channels_last)
    assert not model[3].weight.is_contiguous()
    x = torch.randn(4, 1, 28, 28)
    torch.testing.assert_close(model(x), reference(x), rtol=1e-4, atol=1e-5)
    with pytest.raises(TypeError, match="model must be Module"):
        cpu.channels_last("not a model")


def test_seconds_per_image_is_positive_and_trains_the_model():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    before = model[1].weight.detach().clone()
    seconds = cpu.seconds_per_image(model, 8, steps=2, repeats=2)
    assert 0 < seconds < 1
    assert not torch.equal(before, model[1].weight)  # the timed steps really updated it


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"batch_size": 0}, "batch_size must be an integer >= 1, got 0"),
        ({"batch_size": 4, "steps": 0}, "steps must be an integer >= 1, got 0"),
        ({"batch_size": 4, "repeats": -1}, "repeats must be an integer >= 1, got -1"),
    ],
)
def test_seconds_per_image_rejects_bad_counts(kwargs, message):
    with pytest.raises(ValueError) as err:
        cpu.seconds_per_image(nn.Linear(784, 10), **kwargs)
    assert message in str(err.value)


def test_native_bf16_follows_the_cpu_flags_and_is_false_off_cpu_and_cuda(monkeypatch):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    assert cpu.native_bf16("cpu") is False
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True, raising=False)
    assert cpu.native_bf16(torch.device("cpu")) is True
    assert cpu.native_bf16("meta") is False  # neither CPU nor CUDA: never
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert cpu.native_bf16("cuda") is False


def test_native_bf16_is_false_on_a_torch_without_the_cpu_checks(monkeypatch):
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported", raising=False)
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported", raising=False)
    assert cpu.native_bf16("cpu") is False


def test_autocast_bf16_computes_products_in_bfloat16_only_when_enabled():
    a, b = torch.randn(4, 8), torch.randn(8, 3)
    with cpu.autocast_bf16("cpu", True):
        assert (a @ b).dtype == torch.bfloat16
    with cpu.autocast_bf16("cpu", False):
        assert (a @ b).dtype == torch.float32
    with pytest.raises(TypeError, match="enabled must be bool"):
        cpu.autocast_bf16("cpu", 1)


def test_seconds_per_image_in_bf16_trains_float32_weights():
    torch.manual_seed(0)
    model = cpu.channels_last(small_cnn(batch_norm=True))
    before = model[0].weight.detach().clone()
    assert 0 < cpu.seconds_per_image(model, 8, steps=1, repeats=1, bf16=True) < 1
    assert model[0].weight.dtype == torch.float32  # autocast casts copies, not the weights
    assert not torch.equal(before, model[0].weight)


def test_native_bf16_on_cuda_does_not_count_emulation(monkeypatch):
    asked = {}

    def supported(including_emulation: bool = True) -> bool:
        asked["including_emulation"] = including_emulation
        return including_emulation  # a GPU that only emulates bfloat16

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", supported)
    assert cpu.native_bf16("cuda") is False
    assert asked == {"including_emulation": False}
