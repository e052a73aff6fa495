"""Plausible wrong answers to notebook 07's exercises (see README.md beside this file)."""

WRONG = {
    "conv_output_size_dilated": {
        "the dilated kernel spans d * k pixels": """
def conv_output_size_dilated(size, kernel, stride=1, padding=0, dilation=1):
    return (size + 2 * padding - dilation * kernel) // stride + 1
""",
        "dilation ignored: the formula of section 2": """
def conv_output_size_dilated(size, kernel, stride=1, padding=0, dilation=1):
    return (size + 2 * padding - kernel) // stride + 1
""",
        "the span counts the gaps but not the first tap: d * (k - 1)": """
def conv_output_size_dilated(size, kernel, stride=1, padding=0, dilation=1):
    return (size + 2 * padding - dilation * (kernel - 1)) // stride + 1
""",
        "the span is d * k - 1": """
def conv_output_size_dilated(size, kernel, stride=1, padding=0, dilation=1):
    return (size + 2 * padding - (dilation * kernel - 1)) // stride + 1
""",
    },
    "receptive_field": {
        "the jump is updated before the field grows (j before r)": """
def receptive_field(layers):
    r, j = 1, 1
    for kernel, stride in layers:
        j *= stride
        r += (kernel - 1) * j
    return r
""",
        "strides ignored: every layer adds kernel - 1": """
def receptive_field(layers):
    r = 1
    for kernel, stride in layers:
        r += kernel - 1
    return r
""",
        "each layer's growth scaled by its own stride": """
def receptive_field(layers):
    r = 1
    for kernel, stride in layers:
        r += (kernel - 1) * stride
    return r
""",
    },
    "random_shift": {
        "one offset for the whole batch (notebook 06's pitfall)": """
def random_shift(x, max_shift, generator):
    dx, dy = torch.randint(-max_shift, max_shift + 1, (2,), generator=generator).tolist()
    return shift_images(x, dx, dy, BACKGROUND)
""",
        "randint's upper bound is exclusive: offsets never reach +max_shift": """
def random_shift(x, max_shift, generator):
    offsets = torch.randint(-max_shift, max_shift, (len(x), 2), generator=generator).tolist()
    return torch.stack([shift_images(img, dx, dy, BACKGROUND) for img, (dx, dy) in zip(x, offsets)])
""",
        "the border filled with 0, which after normalization is grey, not blank": """
def random_shift(x, max_shift, generator):
    offsets = torch.randint(-max_shift, max_shift + 1, (len(x), 2), generator=generator).tolist()
    return torch.stack([shift_images(img, dx, dy) for img, (dx, dy) in zip(x, offsets)])
""",
        "only horizontal shifts": """
def random_shift(x, max_shift, generator):
    offsets = torch.randint(-max_shift, max_shift + 1, (len(x),), generator=generator).tolist()
    return torch.stack([shift_images(img, dx, 0, BACKGROUND) for img, dx in zip(x, offsets)])
""",
    },
    "logits_alone": {
        "no eval(): batch norm uses the batch's statistics": """
def logits_alone(model, x):
    with torch.no_grad():
        return model(x.to(dev))
""",
        "eval() and the model left in evaluation mode": """
def logits_alone(model, x):
    model.eval()
    with torch.no_grad():
        return model(x.to(dev))
""",
        "eval(), then train() whatever mode the model came in": """
def logits_alone(model, x):
    model.eval()
    with torch.no_grad():
        logits = model(x.to(dev))
    model.train()
    return logits
""",
    },
}

WRONG["random_shift"].update(
    {
        "the generator ignored: offsets from the global random state": """
def random_shift(x, max_shift, generator):
    offsets = torch.randint(-max_shift, max_shift + 1, (len(x), 2)).tolist()
    return torch.stack([shift_images(img, dx, dy, BACKGROUND) for img, (dx, dy) in zip(x, offsets)])
""",
        "a fresh generator made inside: every batch gets the same offsets": """
def random_shift(x, max_shift, generator):
    fresh = torch.Generator().manual_seed(0)
    offsets = torch.randint(-max_shift, max_shift + 1, (len(x), 2), generator=fresh).tolist()
    return torch.stack([shift_images(img, dx, dy, BACKGROUND) for img, (dx, dy) in zip(x, offsets)])
""",
        "torch.roll: pixels pushed out wrap around to the other side": """
def random_shift(x, max_shift, generator):
    offsets = torch.randint(-max_shift, max_shift + 1, (len(x), 2), generator=generator).tolist()
    return torch.stack(
        [torch.roll(img, (dy, dx), dims=(-2, -1)) for img, (dx, dy) in zip(x, offsets)]
    )
""",
    }
)
WRONG["logits_alone"][
    "a deep copy predicts each image alone in training mode (batch-independent, but wrong)"
] = """
def logits_alone(model, x):
    alone = copy.deepcopy(model).train()
    with torch.no_grad():
        return torch.cat([alone(img[None]) for img in x.to(dev)])
"""
