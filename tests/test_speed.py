"""helpers.speed: train_to_target (fractional epochs, when the checks happen, what is recorded),
the stopwatch, timing a step, channels-last and bfloat16."""

from __future__ import annotations

import time

import torch
from torch import nn

from helpers import speed
from helpers.data import InMemoryLoader
from helpers.models import small_cnn
from helpers.speed import train_to_target


def halves(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """An easy task: class 0 has ink in the left half of the image, class 1 in the right half."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 2, (n,), generator=g)
    images = torch.zeros(n, 28, 28, dtype=torch.uint8)
    images[labels == 0, :, :14] = 200
    images[labels == 1, :, 14:] = 200
    return images, labels


def setup(batch_size: int = 16, n: int = 160):
    torch.manual_seed(0)
    train = InMemoryLoader(
        *halves(n, 0), batch_size=batch_size, shuffle=True, generator=torch.Generator()
    )
    val = InMemoryLoader(*halves(64, 1), batch_size=64)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 2))
    return model, train, val


def test_reaches_an_easy_target_at_a_check_and_runs_the_whole_schedule():
    model, train, val = setup()  # 10 batches per epoch: a check every 2 steps (5 per epoch)
    r = train_to_target(model, train, val, epochs=1.5, max_lr=0.01, target=0.95, checks_per_epoch=5)
    assert r["steps"] == 15  # 1.5 epochs of 10 batches
    assert r["epochs_to_target"] is not None and r["seconds_to_target"] > 0
    assert r["epochs_to_target"] in {0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.5}
    assert r["seconds_to_target"] <= r["wall"] and r["cpu"] > 0
    epochs_checked = [e for e, _, _ in r["checks"]]
    assert epochs_checked[-1] == 1.5  # always checked after the last step
    # checks stop once the target is reached, apart from the final one
    assert epochs_checked.index(r["epochs_to_target"]) >= len(epochs_checked) - 2
    first = next(c for c in r["checks"] if c[2] >= 0.95)
    assert (first[0], first[1]) == (r["epochs_to_target"], r["seconds_to_target"])
    assert all(a < 0.95 for _, _, a in r["checks"][: r["checks"].index(first)])


def test_bf16_trains_and_checks_under_autocast_and_keeps_float32_weights(monkeypatch):
    import helpers.speed as speedrun

    model, train, val = setup()
    seen = []  # the dtype of a matrix product inside each validation check
    real_evaluate = speedrun.evaluate

    def spy(m, loader):
        seen.append((torch.ones(2, 2) @ torch.ones(2, 2)).dtype)
        return real_evaluate(m, loader)

    monkeypatch.setattr(speedrun, "evaluate", spy)
    r = train_to_target(model, train, val, epochs=1.0, max_lr=0.01, target=0.95, bf16=True)
    assert r["epochs_to_target"] is not None  # the easy task is still learned
    assert seen and set(seen) == {torch.bfloat16}
    assert model[1].weight.dtype == torch.float32
    monkeypatch.setattr(speedrun, "evaluate", spy)
    seen.clear()
    train_to_target(model, train, val, epochs=0.5, max_lr=0.01, target=0.95)
    assert set(seen) == {torch.float32}  # off by default


def test_an_unreachable_target_gives_none_and_checks_every_time():
    model, train, _ = setup()
    images, _ = halves(64, 1)
    shuffled = InMemoryLoader(images, halves(64, 2)[1], batch_size=64)  # labels unrelated: ~50%
    r = train_to_target(model, train, shuffled, epochs=0.5, max_lr=0.01, target=0.99)
    assert r["seconds_to_target"] is None and r["epochs_to_target"] is None
    assert r["steps"] == 5
    # 10 batches, 4 checks per epoch: every 2 steps, and after the last (5th) step
    assert [e for e, _, _ in r["checks"]] == [0.2, 0.4, 0.5]
    times = [t for _, t, _ in r["checks"]]
    assert times == sorted(times)


def test_stopwatch_measures_wall_and_cpu_time_separately():
    with speed.Stopwatch() as idle:
        time.sleep(0.05)  # wall time passes, CPU time barely
    assert idle.wall >= 0.05 and idle.cpu < idle.wall
    with speed.Stopwatch() as busy:
        start = time.process_time()
        while time.process_time() - start < 0.05:
            pass
        assert busy.elapsed() > 0
    assert busy.cpu >= 0.05 and busy.wall > 0
    text = busy.summary()
    assert "s wall" in text and "s CPU" in text and "cores busy" in text and "load" in text


def test_stopwatch_summary_survives_an_unknown_load():
    watch = speed.Stopwatch(wall=2.0, cpu=3.0)
    assert watch.summary() == "2.0 s wall, 3.0 s CPU (1.5 cores busy), load unknown -> unknown"


def test_channels_last_keeps_outputs_and_changes_the_layout():
    torch.manual_seed(0)
    reference = small_cnn()
    model = small_cnn()
    model.load_state_dict(reference.state_dict())
    assert speed.channels_last(model) is model
    assert model[3].weight.is_contiguous(memory_format=torch.channels_last)
    assert not model[3].weight.is_contiguous()
    x = torch.randn(4, 1, 28, 28)
    torch.testing.assert_close(model(x), reference(x), rtol=1e-4, atol=1e-5)


def test_seconds_per_image_is_positive_and_trains_the_model():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    before = model[1].weight.detach().clone()
    seconds = speed.seconds_per_image(model, 8, steps=2, repeats=2)
    assert 0 < seconds < 1
    assert not torch.equal(before, model[1].weight)  # the timed steps really updated it


def test_native_bf16_follows_the_cpu_flags_and_is_false_off_cpu_and_cuda(monkeypatch):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    assert speed.native_bf16("cpu") is False
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True, raising=False)
    assert speed.native_bf16(torch.device("cpu")) is True
    assert speed.native_bf16("meta") is False  # neither CPU nor CUDA: never
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert speed.native_bf16("cuda") is False


def test_native_bf16_is_false_on_a_torch_without_the_cpu_checks(monkeypatch):
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported", raising=False)
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported", raising=False)
    assert speed.native_bf16("cpu") is False


def test_autocast_bf16_computes_products_in_bfloat16_only_when_enabled():
    a, b = torch.randn(4, 8), torch.randn(8, 3)
    with speed.autocast_bf16("cpu", True):
        assert (a @ b).dtype == torch.bfloat16
    with speed.autocast_bf16("cpu", False):
        assert (a @ b).dtype == torch.float32


def test_seconds_per_image_in_bf16_trains_float32_weights():
    torch.manual_seed(0)
    model = speed.channels_last(small_cnn(batch_norm=True))
    before = model[0].weight.detach().clone()
    assert 0 < speed.seconds_per_image(model, 8, steps=1, repeats=1, bf16=True) < 1
    assert model[0].weight.dtype == torch.float32  # autocast casts copies, not the weights
    assert not torch.equal(before, model[0].weight)


def test_native_bf16_on_cuda_does_not_count_emulation(monkeypatch):
    asked = {}

    def supported(including_emulation: bool = True) -> bool:
        asked["including_emulation"] = including_emulation
        return including_emulation  # a GPU that only emulates bfloat16

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", supported)
    assert speed.native_bf16("cuda") is False
    assert asked == {"including_emulation": False}


def test_time_per_step_calls_the_step_and_returns_seconds():
    calls = []
    seconds = speed.time_per_step(lambda: calls.append(1), 4, warmup=2)
    assert len(calls) == 6 and seconds >= 0
