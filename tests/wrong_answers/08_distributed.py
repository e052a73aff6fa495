"""Plausible wrong answers to notebook 08's exercises (see README.md beside this file)."""

_AVERAGE = """
def average_gradients(model):
    world_size = dist.get_world_size()
    for param in model.parameters():
        if param.grad is not None:
{body}
"""


def _average(*lines: str) -> str:
    return _AVERAGE.format(body="\n".join(" " * 12 + line for line in lines))


_ORDERS = """
def epoch_orders(n, world_size, seed, call_set_epoch):
    sampler = DistributedSampler({sampler})
    orders = []
    for epoch in (0, 1):
        if {when}:
            sampler.set_epoch({epoch})
        orders.append(list(sampler))
    return orders


def agreement(orders):
    return sum(a == b for a, b in zip(*orders)) / len(orders[0])


agree = {{flag: [agreement({measured}) for s in range(5)] for flag in (True, False)}}
"""
_ORDERS_RIGHT = {
    "sampler": "range(n), num_replicas=world_size, rank=0, seed=seed",
    "when": "call_set_epoch",
    "epoch": "epoch",
    "measured": "epoch_orders(n_job, nproc, s, flag)",
}


def _orders(**change: str) -> str:
    return _ORDERS.format(**(_ORDERS_RIGHT | change))


_STEPS = """
def steps_per_rank(n, world_size, batch_size, pad):
{body}
"""

_ACCUMULATE = """
def accumulate(model, batches):
    k = len(batches)
{body}
"""


def _accumulate(body: str) -> str:
    return _ACCUMULATE.format(body=body)


WRONG = {
    "average_gradients": {
        "the sum over the ranks, never divided: an N times larger step": _average(
            "dist.all_reduce(param.grad)"
        ),
        "a hard-coded divisor: /= 2, right only on 2 ranks": _average(
            "dist.all_reduce(param.grad)", "param.grad /= 2"
        ),
        "the notebook's nproc as the divisor, not the group's world size": _average(
            "dist.all_reduce(param.grad)", "param.grad /= nproc"
        ),
        "each rank divides its own gradient, with no collective at all": _average(
            "param.grad /= world_size"
        ),
        "rank 0's gradient copied to every rank (broadcast), not the mean": _average(
            "dist.broadcast(param.grad, src=0)"
        ),
        "reduce to rank 0 only: the other ranks keep their own gradient": _average(
            "dist.reduce(param.grad, dst=0)", "param.grad /= world_size"
        ),
        "a copy all-reduced and divided; .grad itself never changes": _average(
            "total = param.grad.clone()", "dist.all_reduce(total)", "total /= world_size"
        ),
        "the weights averaged instead of the gradients": _average(
            "dist.all_reduce(param.data)", "param.data /= world_size"
        ),
        "a frozen parameter's missing gradient all-reduced too": """
def average_gradients(model):
    for param in model.parameters():
        dist.all_reduce(param.grad)
        param.grad /= dist.get_world_size()
""",
    },
    "epoch_orders": {
        "one replica: the sampler of a single process (num_replicas=1)": _orders(
            sampler="range(n), num_replicas=1, rank=0, seed=seed"
        ),
        "rank 1's sampler instead of rank 0's": _orders(
            sampler="range(n), num_replicas=world_size, rank=1, seed=seed"
        ),
        "shuffle left off": _orders(
            sampler="range(n), num_replicas=world_size, rank=0, shuffle=False, seed=seed"
        ),
        "the seed never passed: every seed deals seed 0's order": _orders(
            sampler="range(n), num_replicas=world_size, rank=0"
        ),
        "set_epoch(epoch + 1): every epoch shifted by one": _orders(epoch="epoch + 1"),
        "call_set_epoch ignored: set_epoch always called": _orders(when="True"),
        "the fractions compare an epoch's order with itself": _orders(
            measured="[epoch_orders(n_job, nproc, s, flag)[0]] * 2"
        ),
    },
    "steps_per_rank": {
        "the same count for every rank, padding or not": _STEPS.format(
            body="    return [-(-n // (world_size * batch_size))] * world_size"
        ),
        "no padding taken as dropping the tail, as drop_last does": _STEPS.format(
            body="    share = -(-n // world_size) if pad else n // world_size\n"
            "    return [-(-share // batch_size)] * world_size"
        ),
        "the last, smaller batch not counted as a step": _STEPS.format(
            body="    shares = [-(-n // world_size)] * world_size if pad else "
            "[len(range(r, n, world_size)) for r in range(world_size)]\n"
            "    return [share // batch_size for share in shares]"
        ),
        "rank 0 gets the whole remainder when not padded": _STEPS.format(
            body="    shares = [-(-n // world_size)] * world_size if pad else "
            "[n - (world_size - 1) * (n // world_size)] + [n // world_size] * (world_size - 1)\n"
            "    return [-(-share // batch_size) for share in shares]"
        ),
        "the extra index given to the last rank instead of the first": _STEPS.format(
            body="    shares = [-(-n // world_size)] * world_size if pad else "
            "[len(range(r, n, world_size)) for r in reversed(range(world_size))]\n"
            "    return [-(-share // batch_size) for share in shares]"
        ),
    },
    "accumulate": {
        "no no_sync: every micro-batch's backward all-reduces": _accumulate(
            "    for xb, yb in batches:\n        (F.cross_entropy(model(xb), yb) / k).backward()"
        ),
        "every backward inside no_sync: the gradients are never all-reduced": _accumulate(
            "    with model.no_sync():\n"
            "        for xb, yb in batches:\n"
            "            (F.cross_entropy(model(xb), yb) / k).backward()"
        ),
        "the losses not divided by k: k times the gradient": _accumulate(
            "    with model.no_sync():\n"
            "        for xb, yb in batches[:-1]:\n"
            "            F.cross_entropy(model(xb), yb).backward()\n"
            "    xb, yb = batches[-1]\n"
            "    F.cross_entropy(model(xb), yb).backward()"
        ),
        "forward outside no_sync, backward inside: DDP still all-reduces": _accumulate(
            "    for i, (xb, yb) in enumerate(batches):\n"
            "        loss = F.cross_entropy(model(xb), yb) / k\n"
            "        if i < k - 1:\n"
            "            with model.no_sync():\n"
            "                loss.backward()\n"
            "        else:\n"
            "            loss.backward()"
        ),
        "one backward of the summed losses: every micro-batch's graph in memory": _accumulate(
            "    sum(F.cross_entropy(model(xb), yb) for xb, yb in batches).div(k).backward()"
        ),
        "zero_grad before every micro-batch: only the last one's gradient is left": _accumulate(
            "    with model.no_sync():\n"
            "        for xb, yb in batches[:-1]:\n"
            "            model.zero_grad()\n"
            "            (F.cross_entropy(model(xb), yb) / k).backward()\n"
            "    model.zero_grad()\n"
            "    xb, yb = batches[-1]\n"
            "    (F.cross_entropy(model(xb), yb) / k).backward()"
        ),
    },
}
