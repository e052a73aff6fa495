"""Plausible wrong answers to notebook 04's exercises (see README.md beside this file)."""

WRONG = {
    "warmup_cosine": {
        "the warm-up starts at 0 and reaches the peak one step late": """
def warmup_cosine(step, total_steps, warmup_steps, peak_lr):
    if step < warmup_steps:
        return peak_lr * step / warmup_steps
    progress = (step - warmup_steps) / (total_steps - warmup_steps)
    return 0.5 * peak_lr * (1 + math.cos(math.pi * progress))
""",
        "the cosine's clock starts at step 0, not at the end of the warm-up": """
def warmup_cosine(step, total_steps, warmup_steps, peak_lr):
    if step < warmup_steps:
        return peak_lr * (step + 1) / warmup_steps
    return 0.5 * peak_lr * (1 + math.cos(math.pi * step / total_steps))
""",
        "the decay is measured from the warm-up's end but spread over all the steps": """
def warmup_cosine(step, total_steps, warmup_steps, peak_lr):
    if step < warmup_steps:
        return peak_lr * (step + 1) / warmup_steps
    progress = (step - warmup_steps) / total_steps
    return 0.5 * peak_lr * (1 + math.cos(math.pi * progress))
""",
        "the cosine without its factor 1/2: it starts at twice the peak": """
def warmup_cosine(step, total_steps, warmup_steps, peak_lr):
    if step < warmup_steps:
        return peak_lr * (step + 1) / warmup_steps
    progress = (step - warmup_steps) / (total_steps - warmup_steps)
    return peak_lr * (1 + math.cos(math.pi * progress))
""",
    },
    "rmsprop_window": {
        "every run uses the notebook's seed: the seeds are ignored": """
def rmsprop_window(rates, seeds):
    window = {}
    for rate in rates:
        window[rate] = []
        for _ in seeds:
            try:
                h = train_small(lambda p, r=rate: torch.optim.RMSprop(p, lr=r), seed, n_epochs=2)
                window[rate].append(h["val_acc"][-1])
            except TrainingDiverged:
                window[rate].append(0.0)
    return window
""",
        "the training accuracy instead of the validation accuracy": """
def rmsprop_window(rates, seeds):
    window = {}
    for rate in rates:
        window[rate] = []
        for s in seeds:
            try:
                h = train_small(lambda p, r=rate: torch.optim.RMSprop(p, lr=r), s, n_epochs=2)
                window[rate].append(h["train_acc"][-1])
            except TrainingDiverged:
                window[rate].append(0.0)
    return window
""",
        "Adam copied from the sweep, not RMSprop": """
def rmsprop_window(rates, seeds):
    window = {}
    for rate in rates:
        window[rate] = []
        for s in seeds:
            try:
                h = train_small(lambda p, r=rate: torch.optim.Adam(p, lr=r), s, n_epochs=2)
                window[rate].append(h["val_acc"][-1])
            except TrainingDiverged:
                window[rate].append(0.0)
    return window
""",
        "numbers typed in from the teacher's table instead of measured": """
def rmsprop_window(rates, seeds):
    typed = {1e-5: 0.53, 1e-4: 0.88, 1e-3: 0.93, 1e-2: 0.90, 1e-1: 0.22}
    return {rate: [typed.get(rate, 0.0)] * len(seeds) for rate in rates}
""",
        "the best epoch's accuracy instead of the last epoch's": """
def rmsprop_window(rates, seeds):
    window = {}
    for rate in rates:
        window[rate] = []
        for s in seeds:
            try:
                h = train_small(lambda p, r=rate: torch.optim.RMSprop(p, lr=r), s, n_epochs=2)
                window[rate].append(max(h["val_acc"]))
            except TrainingDiverged:
                window[rate].append(0.0)
    return window
""",
        "a diverged run not caught: TrainingDiverged stops the whole table": """
def rmsprop_window(rates, seeds):
    window = {}
    for rate in rates:
        window[rate] = []
        for s in seeds:
            h = train_small(lambda p, r=rate: torch.optim.RMSprop(p, lr=r), s, n_epochs=2)
            window[rate].append(h["val_acc"][-1])
    return window
""",
    },
    "cosine_rate": {
        "the cosine's mean taken as half the peak, with no schedule at all": """
def cosine_rate(step, total_steps, peak_lr):
    return 0.5 * peak_lr * (1 + math.cos(math.pi * step / total_steps))


def mean_rate(kind, peak_lr, total_steps):
    return peak_lr if kind == "constant" else peak_lr / 2
""",
        "a linear decay from the peak to 0: the same mean as the cosine's": """
def cosine_rate(step, total_steps, peak_lr):
    return peak_lr * (1 - step / total_steps)


def mean_rate(kind, peak_lr, total_steps):
    if kind == "constant":
        return peak_lr
    return sum(cosine_rate(t, total_steps, peak_lr) for t in range(total_steps)) / total_steps
""",
        "a full period of the cosine over the run: down and back up": """
def cosine_rate(step, total_steps, peak_lr):
    return 0.5 * peak_lr * (1 + math.cos(2 * math.pi * step / total_steps))


def mean_rate(kind, peak_lr, total_steps):
    if kind == "constant":
        return peak_lr
    return sum(cosine_rate(t, total_steps, peak_lr) for t in range(total_steps)) / total_steps
""",
        "the mean over steps 1 to T instead of the steps 0 to T-1 the run takes": """
def cosine_rate(step, total_steps, peak_lr):
    return 0.5 * peak_lr * (1 + math.cos(math.pi * step / total_steps))


def mean_rate(kind, peak_lr, total_steps):
    if kind == "constant":
        return peak_lr
    steps = range(1, total_steps + 1)
    return sum(cosine_rate(t, total_steps, peak_lr) for t in steps) / total_steps
""",
        "both schedules averaged as if they were cosine": """
def cosine_rate(step, total_steps, peak_lr):
    return 0.5 * peak_lr * (1 + math.cos(math.pi * step / total_steps))


def mean_rate(kind, peak_lr, total_steps):
    return sum(cosine_rate(t, total_steps, peak_lr) for t in range(total_steps)) / total_steps
""",
        "the sum of the rates, not their average": """
def cosine_rate(step, total_steps, peak_lr):
    return 0.5 * peak_lr * (1 + math.cos(math.pi * step / total_steps))


def mean_rate(kind, peak_lr, total_steps):
    if kind == "constant":
        return peak_lr * total_steps
    return sum(cosine_rate(t, total_steps, peak_lr) for t in range(total_steps))
""",
    },
}
