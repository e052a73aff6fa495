"""helpers.checkpoints: round trip, exact resume, atomic writes, and one clear error for a
missing, truncated, corrupted, unsafe or mismatched file, with the objects left unchanged."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from helpers.checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from helpers.data import InMemoryLoader
from helpers.models import Net, mlp
from helpers.training import adam, fit

PAYLOAD_CALLS: list[str] = []


def _payload(message: str) -> None:
    """What a malicious pickle would run while loading (here: only records that it ran)."""
    PAYLOAD_CALLS.append(message)


class Malicious:
    def __reduce__(self):
        return (_payload, ("code ran while loading",))


def synthetic(n: int = 256, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Random uint8 'images' whose label is a function of the pixels, so a model can learn it."""
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 28, 28), dtype=torch.uint8, generator=g)
    labels = (images[:, :14].float().mean((1, 2)) > images[:, 14:].float().mean((1, 2))).long()
    return images, labels


def make_run(seed: int = 0, *, dropout: float = 0.0, schedule: bool = False, total_steps: int = 64):
    """A fresh (model, optimizer, scheduler, generator, loader), all seeded by ``seed``."""
    torch.manual_seed(seed)
    model = mlp(dropout=dropout) if dropout else Net()
    optimizer = adam(model, lr=3e-3)
    scheduler = (
        torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=total_steps)
        if schedule
        else None
    )
    generator = torch.Generator().manual_seed(seed)
    loader = InMemoryLoader(*synthetic(), batch_size=32, shuffle=True, generator=generator)
    return model, optimizer, scheduler, generator, loader


def params(model: nn.Module) -> list[torch.Tensor]:
    return [t.detach().clone() for t in model.state_dict().values()]


def test_round_trip_restores_every_state(tmp_path):
    model, optimizer, scheduler, generator, loader = make_run(schedule=True)
    fit(model, loader, epochs=2, optimizer=optimizer, scheduler=scheduler, progress=False)
    path = save_checkpoint(
        tmp_path / "ckpt.pt",
        model=model,
        optimizer=optimizer,
        scheduler=scheduler,
        generator=generator,
        epoch=2,
        extra={"history": {"loss": [1.5, 0.5]}, "note": "x"},
    )
    assert path == tmp_path / "ckpt.pt" and path.is_file()

    model2, optimizer2, scheduler2, generator2, _ = make_run(seed=7, schedule=True)
    state = load_checkpoint(
        path, model=model2, optimizer=optimizer2, scheduler=scheduler2, generator=generator2
    )
    assert state["epoch"] == 2
    assert state["extra"] == {"history": {"loss": [1.5, 0.5]}, "note": "x"}
    assert all(torch.equal(a, b) for a, b in zip(params(model), params(model2)))
    s1, s2 = optimizer.state_dict()["state"], optimizer2.state_dict()["state"]
    assert s1.keys() == s2.keys()
    for k in s1:
        for name in ("step", "exp_avg", "exp_avg_sq"):
            assert torch.equal(s1[k][name], s2[k][name])
    assert scheduler2.last_epoch == scheduler.last_epoch == 16
    assert scheduler2.get_last_lr() == scheduler.get_last_lr()
    assert torch.equal(
        torch.randperm(100, generator=generator), torch.randperm(100, generator=generator2)
    )


def test_the_file_needs_no_pickle_trust(tmp_path):
    model, optimizer, scheduler, generator, _ = make_run(schedule=True)
    path = save_checkpoint(
        tmp_path / "c.pt",
        model=model,
        optimizer=optimizer,
        scheduler=scheduler,
        generator=generator,
        epoch=0,
    )
    state = torch.load(
        path, weights_only=True
    )  # would raise if anything but plain data were inside
    assert {
        "format",
        "model",
        "optimizer",
        "scheduler",
        "generator",
        "epoch",
        "extra",
        "torch_rng",
        "optimizer_class",
    } <= set(state)


@pytest.mark.parametrize("dropout, schedule", [(0.0, False), (0.3, True)])
def test_resuming_reproduces_an_uninterrupted_run_exactly(tmp_path, dropout, schedule):
    epochs, split = 4, 2
    steps = epochs * 8  # 256 images / batch 32
    model, optimizer, scheduler, _, loader = make_run(
        dropout=dropout, schedule=schedule, total_steps=steps
    )
    reference = fit(
        model, loader, epochs=epochs, optimizer=optimizer, scheduler=scheduler, progress=False
    )
    expected = params(model)

    model, optimizer, scheduler, generator, loader = make_run(
        dropout=dropout, schedule=schedule, total_steps=steps
    )
    first = fit(
        model, loader, epochs=split, optimizer=optimizer, scheduler=scheduler, progress=False
    )
    save_checkpoint(
        tmp_path / "mid.pt",
        model=model,
        optimizer=optimizer,
        scheduler=scheduler,
        generator=generator,
        epoch=split,
    )
    torch.manual_seed(1234)  # the "new process": other random state, other initial weights
    model, optimizer, scheduler, generator, loader = make_run(
        seed=99, dropout=dropout, schedule=schedule, total_steps=steps
    )
    state = load_checkpoint(
        tmp_path / "mid.pt",
        model=model,
        optimizer=optimizer,
        scheduler=scheduler,
        generator=generator,
    )
    second = fit(
        model,
        loader,
        epochs=epochs - state["epoch"],
        optimizer=optimizer,
        scheduler=scheduler,
        progress=False,
    )
    assert first["batch_loss"] + second["batch_loss"] == reference["batch_loss"]
    assert all(torch.equal(a, b) for a, b in zip(params(model), expected))


def test_without_the_generator_state_the_batch_order_differs(tmp_path):
    model, optimizer, _, generator, loader = make_run()
    fit(model, loader, epochs=1, optimizer=optimizer, progress=False)
    save_checkpoint(
        tmp_path / "c.pt", model=model, optimizer=optimizer, generator=generator, epoch=1
    )
    next_order = torch.randperm(256, generator=copy.deepcopy(generator))
    fresh = torch.Generator().manual_seed(0)
    assert not torch.equal(
        torch.randperm(256, generator=fresh), next_order
    )  # re-seeding replays epoch 1
    restored = torch.Generator()
    load_checkpoint(tmp_path / "c.pt", model=model, generator=restored)
    assert torch.equal(torch.randperm(256, generator=restored), next_order)


def test_restore_rng_puts_back_the_global_random_state(tmp_path):
    model = Net()
    torch.manual_seed(5)
    save_checkpoint(tmp_path / "c.pt", model=model)
    expected = torch.rand(3)
    torch.manual_seed(6)
    load_checkpoint(tmp_path / "c.pt", model=model, restore_rng=False)
    assert not torch.equal(torch.rand(3), expected)
    load_checkpoint(tmp_path / "c.pt", model=model)
    assert torch.equal(torch.rand(3), expected)


def test_writes_are_atomic_and_leave_no_temporary_files(tmp_path, monkeypatch):
    model = Net()
    path = save_checkpoint(tmp_path / "sub" / "c.pt", model=model, epoch=1)  # creates the folder
    assert sorted(p.name for p in path.parent.iterdir()) == ["c.pt"]
    before = path.read_bytes()

    def crash(obj, fh, *args, **kwargs):
        fh.write(b"PK\x03\x04 half a file")
        raise KeyboardInterrupt("power cut mid-write")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, model=model, epoch=2)
    assert path.read_bytes() == before  # the previous checkpoint is intact
    assert sorted(p.name for p in path.parent.iterdir()) == ["c.pt"]
    monkeypatch.undo()
    assert load_checkpoint(path, model=model)["epoch"] == 1


@pytest.mark.parametrize("damage", ["truncated", "empty", "garbage", "zeroed middle"])
def test_a_damaged_file_gives_a_clear_error_naming_it(tmp_path, damage):
    model = Net()
    path = save_checkpoint(tmp_path / "damaged.pt", model=model, optimizer=adam(model), epoch=3)
    blob = path.read_bytes()
    damaged = {
        "truncated": blob[: len(blob) // 2],
        "empty": b"",
        "garbage": b"this is not a checkpoint\n" * 40,
        "zeroed middle": blob[:100] + bytes(400) + blob[500:],
    }[damage]
    path.write_bytes(damaged)
    with pytest.raises(CheckpointError, match="truncated or corrupted") as err:
        load_checkpoint(path, model=Net())
    assert str(path) in str(err.value)
    assert "earlier checkpoint" in str(err.value)


def test_an_unsafe_pickle_is_refused_and_its_code_never_runs(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": 1, "model": Net().state_dict(), "surprise": Malicious()}, path)
    PAYLOAD_CALLS.clear()
    with pytest.raises(CheckpointError, match="contains Python objects") as err:
        load_checkpoint(path, model=Net())
    message = str(err.value)
    assert str(path) in message and "_payload" in message and "not loaded, for safety" in message
    assert "weights_only" not in message and "truncated" not in message  # never "turn it off"
    assert err.value.__cause__ is None and err.value.__suppress_context__  # no torch advice chained
    assert PAYLOAD_CALLS == []
    torch.load(path, weights_only=False)  # what the guard protects against: the payload runs
    assert PAYLOAD_CALLS == ["code ran while loading"]


def test_a_file_that_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save(Net().state_dict(), path)  # a bare state_dict, not save_checkpoint's format
    with pytest.raises(CheckpointError, match="not a checkpoint written by save_checkpoint") as err:
        load_checkpoint(path, model=Net())
    assert str(path) in str(err.value)


def test_missing_file_missing_state_and_wrong_model(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.pt"):
        load_checkpoint(tmp_path / "nowhere.pt", model=Net())
    model = Net()
    path = save_checkpoint(tmp_path / "model_only.pt", model=model)
    with pytest.raises(CheckpointError, match="holds no optimizer state"):
        load_checkpoint(path, model=model, optimizer=adam(model))
    other = mlp((784, 32, 10))
    before = params(other)
    with pytest.raises(CheckpointError, match="does not fit this model") as err:
        load_checkpoint(path, model=other)
    assert str(path) in str(err.value) and "nothing was changed" in str(err.value)
    assert "Missing key(s) in state_dict" in str(err.value)  # PyTorch's own check, quoted
    assert all(torch.equal(a, b) for a, b in zip(before, params(other)))


def test_a_mismatched_optimizer_is_refused_before_anything_is_loaded(tmp_path):
    model = Net()
    optimizer = adam(model)
    fit(
        model,
        InMemoryLoader(*synthetic(64), batch_size=32),
        epochs=1,
        optimizer=optimizer,
        progress=False,
    )
    path = save_checkpoint(tmp_path / "c.pt", model=model, optimizer=optimizer)
    target = Net()
    before = params(target)
    wrong = adam(nn.Linear(784, 10))  # an optimizer over another model's 2 tensors
    with pytest.raises(CheckpointError, match="does not fit this optimizer .*group") as err:
        load_checkpoint(path, model=target, optimizer=wrong)
    assert str(path) in str(err.value)
    assert all(torch.equal(a, b) for a, b in zip(before, params(target)))
    # same number of tensors, other shapes: the moments do not fit
    shaped = nn.Sequential(nn.Linear(784, 64), nn.Linear(64, 128), nn.Linear(128, 10))
    with pytest.raises(CheckpointError, match="does not fit this optimizer"):
        load_checkpoint(path, model=target, optimizer=adam(shaped))
    assert all(torch.equal(a, b) for a, b in zip(before, params(target)))
    with pytest.raises(CheckpointError, match="the state of Adam, not SGD"):  # another kind
        load_checkpoint(path, model=target, optimizer=torch.optim.SGD(target.parameters(), 0.1))
    assert all(torch.equal(a, b) for a, b in zip(before, params(target)))
    state = load_checkpoint(path, model=target, optimizer=adam(target))  # the right pair loads
    assert all(torch.equal(a, b) for a, b in zip(params(model), params(target)))
    assert state["optimizer"]["state"]


def test_a_checkpoint_without_a_valid_random_state_changes_nothing(tmp_path):
    model = Net()
    state = {"format": 1, "model": Net().state_dict(), "epoch": 0, "extra": {}}
    torch.save(state, tmp_path / "no_rng.pt")
    before = params(model)
    with pytest.raises(CheckpointError, match="random state .* or with restore_rng=False"):
        load_checkpoint(tmp_path / "no_rng.pt", model=model)
    assert all(torch.equal(a, b) for a, b in zip(before, params(model)))
    load_checkpoint(tmp_path / "no_rng.pt", model=model, restore_rng=False)
    assert not all(torch.equal(a, b) for a, b in zip(before, params(model)))


def test_a_full_disk_says_so_and_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    import errno
    import os

    import helpers._internal.files

    model = Net()
    path = save_checkpoint(tmp_path / "c.pt", model=model, epoch=1)
    before = path.read_bytes()

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(helpers._internal.files.os, "fsync", full)
    with pytest.raises(OSError, match="no space left on device") as err:
        save_checkpoint(path, model=model, epoch=2)
    monkeypatch.setattr(helpers._internal.files.os, "fsync", os.fsync)
    assert str(path) in str(err.value) and err.value.errno == errno.ENOSPC
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pt"]
