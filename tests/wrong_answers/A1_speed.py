"""Plausible wrong answers to appendix A1's exercises (see README.md beside this file)."""

_TIMER = """
def time_on_device(step, steps, synchronize, warmup=2):
    for _ in range({warmup}):
        step()
    {before}
    start = time.perf_counter()
    for _ in range(steps):
        step()
    {after}
    return (time.perf_counter() - start) / {per}
"""
_TIMER_RIGHT = {
    "warmup": "warmup",
    "before": "synchronize()",
    "after": "synchronize()",
    "per": "steps",
}


def _timer(**change: str) -> str:
    return _TIMER.format(**(_TIMER_RIGHT | change))


_BATCHES = """
def mlp_step(batch_size):
    torch.manual_seed(seed)
    model = Net().to(dev)
    optimizer = {optimizer}
    x = torch.randn({size}, 1, 28, 28, device=dev)
    y = torch.randint(0, 10, ({size},), device=dev)

    def step():
        loss = F.cross_entropy(model(x), y)
        {train}

    return step


def plateau_of(per_image):
    sizes = list(per_image)
    for i, b in enumerate(sizes):
        if not any({beats} for c in sizes[{larger}]):
            return {last}


batch_sizes = [16, 64, 256, 1024, 4096]
mlp_times = interleaved({{b: mlp_step(b) for b in batch_sizes}}, repeats, round_ms)
per_image_mlp = {{b: {summary} for b in batch_sizes}}
plateau = plateau_of(per_image_mlp)
"""
_BATCHES_RIGHT = {
    "optimizer": "torch.optim.Adam(model.parameters(), lr=1e-3)",
    "size": "batch_size",
    "train": "optimizer.zero_grad(); loss.backward(); optimizer.step()",
    "summary": 'tuple(q / b for q in quartiles(mlp_times[b]["cpu"]))',
    "beats": "per_image[c][2] < per_image[b][0]",
    "larger": "i + 1 :",
    "last": "None if b == sizes[-1] else b",
}


def _batches(**change: str) -> str:
    return _BATCHES.format(**(_BATCHES_RIGHT | change))


def _inside(made_in_step: str) -> str:
    """The right answer, except that what `made_in_step` makes is made anew in every step."""
    parts = {
        "net": (
            "model = Net().to(dev)",
            "optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)",
        ),
        "optimizer": ("optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)",),
        "batch": (
            "x = torch.randn(batch_size, 1, 28, 28, device=dev)",
            "y = torch.randint(0, 10, (batch_size,), device=dev)",
        ),
    }[made_in_step]
    code = _batches()
    for line in parts:
        code = code.replace(f"    {line}\n", "", 1)
    inside = "".join(f"        {line}\n" for line in parts)
    return code.replace("    def step():\n", "    def step():\n" + inside, 1)


_PAY_BACK = """
def steps_to_pay_back(compile_seconds, eager, compiled):
    if {no_saving}:
        return None
    return {count}


pay_back = None
if compile_times is not None:
    eager_q = quartiles(compile_times["eager"]["wall"])
    compiled_q = quartiles(compile_times["compiled"]["wall"])
    pay_back = steps_to_pay_back(compile_seconds, eager_q, compiled_q)
"""
_PAY_BACK_RIGHT = {
    "no_saving": "compiled[2] >= eager[0]",
    "count": "math.ceil(compile_seconds / (eager[1] - compiled[1]))",
}


def _pay_back(**change: str) -> str:
    return "import math\n" + _PAY_BACK.format(**(_PAY_BACK_RIGHT | change))


WRONG = {
    "time_on_device": {
        "no synchronize at all: it times how fast the steps are queued": _timer(
            before="pass", after="pass"
        ),
        "synchronize only after the timed calls: the warm-up's work is timed too": _timer(
            before="pass"
        ),
        "synchronize only before the clock starts: it stops while the device still works": (
            _timer(after="pass")
        ),
        "no warm-up calls: the first call's one-off work is timed": _timer(warmup="0"),
        "the total time of the timed calls, not the time per call": _timer(per="1"),
        "one call too many in the denominator": _timer(per="(steps + 1)"),
    },
    "mlp_step": {
        "the forward pass only: no backward pass, no update": _batches(train="pass"),
        "backward but no optimizer.step(): the weights never move": _batches(
            train="optimizer.zero_grad(); loss.backward()"
        ),
        "plain SGD instead of Adam": _batches(
            optimizer="torch.optim.SGD(model.parameters(), lr=1e-3)"
        ),
        "seconds per step, not per image": _batches(
            summary='tuple(q for q in quartiles(mlp_times[b]["cpu"]))'
        ),
        "the batch size ignored: always 64 images": _batches(size="64"),
        "the median first, then the quartiles": _batches(
            summary="(lambda q: (q[1], q[0], q[2]))"
            '([q / b for q in quartiles(mlp_times[b]["cpu"])])'
        ),
        "(min, median, max) instead of the quartiles": _batches(
            summary="(lambda s: (min(s), statistics.median(s), max(s)))"
            '([t / b for t in mlp_times[b]["cpu"]])'
        ),
        "one round's time copied three times: no spread": _batches(
            summary='(mlp_times[b]["cpu"][0] / b,) * 3'
        ),
        "the largest batch size instead of None, since it is the cheapest per image": _batches(
            last="b"
        ),
        "the medians compared, the spread ignored": _batches(
            beats="per_image[c][1] < per_image[b][1]"
        ),
        "only the next larger batch size compared": _batches(larger="i + 1 : i + 2"),
        "a fresh network (and optimizer) made in every step": _inside("net"),
        "a fresh Adam, without its running averages, in every step": _inside("optimizer"),
        "a fresh random batch drawn in every step": _inside("batch"),
        "(mean - sd, mean, mean + sd) instead of the quartiles": _batches(
            summary="(lambda s: (statistics.mean(s) - statistics.stdev(s), statistics.mean(s), "
            'statistics.mean(s) + statistics.stdev(s)))([t / b for t in mlp_times[b]["cpu"]])'
        ),
    },
    "steps_to_pay_back": {
        "divides by the compiled step's time, not by the time it saves": _pay_back(
            count="math.ceil(compile_seconds / compiled[1])"
        ),
        "ignores the spread: a count whenever the compiled median is lower": _pay_back(
            no_saving="compiled[1] >= eager[1]"
        ),
        "rounds to the nearest step instead of up": _pay_back(
            count="round(compile_seconds / (eager[1] - compiled[1]))"
        ),
        "subtracts one eager step from the compile time (the prompt counts it)": _pay_back(
            count="math.ceil((compile_seconds - eager[1]) / (eager[1] - compiled[1]))"
        ),
        "a whole number as a float": _pay_back(
            count="float(math.ceil(compile_seconds / (eager[1] - compiled[1])))"
        ),
        "a negative count when compiling makes the step slower": _pay_back(
            no_saving="not (compiled[2] < eager[0] or compiled[0] > eager[2])"
        ),
    },
}
