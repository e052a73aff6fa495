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
    typed = {1e-5: 0.55, 1e-4: 0.91, 1e-3: 0.92, 1e-2: 0.85, 1e-1: 0.2}
    return {rate: [typed[rate]] * len(seeds) for rate in rates}
""",
    },
    "mean_rate": {
        "the cosine's average taken as the peak: the decay forgotten": """
def mean_rate(kind, peak_lr, total_steps):
    return peak_lr
""",
        "both schedules averaged as if they were cosine": """
def mean_rate(kind, peak_lr, total_steps):
    rates = [0.5 * peak_lr * (1 + math.cos(math.pi * t / total_steps)) for t in range(total_steps)]
    return sum(rates) / total_steps
""",
        "the sum of the rates, not their average": """
def mean_rate(kind, peak_lr, total_steps):
    if kind == "constant":
        return peak_lr * total_steps
    return sum(0.5 * peak_lr * (1 + math.cos(math.pi * t / total_steps))
               for t in range(total_steps))
""",
        "the average of the cosine factor, without the peak rate": """
def mean_rate(kind, peak_lr, total_steps):
    if kind == "constant":
        return peak_lr
    factors = [0.5 * (1 + math.cos(math.pi * t / total_steps)) for t in range(total_steps)]
    return sum(factors) / total_steps
""",
    },
}
