"""Plausible wrong answers to notebook 01's exercises (see README.md beside this file)."""

_DEEP_MLP = """
class DeepMLP(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        self.layers = {layers}

    def forward(self, x):
        x = {flatten}
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if {relu_when}:
                x = torch.relu(x)
        return x
"""
_RIGHT = {
    "layers": "nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))",
    "flatten": "x.flatten(1)",
    "relu_when": "i < len(self.layers) - 1",
}


def _deep_mlp(**change: str) -> str:
    return _DEEP_MLP.format(**(_RIGHT | change))


_TANH = """
def tanh_ratio(x, init, seed):
    m = preactivation_moments(x, init, {args})
    return {ratio}


ratios = {{i: [tanh_ratio(x_std, i, s) for s in {seeds}] for i in ("Xavier normal", "He normal")}}
level = [i for i, r in ratios.items() if all(0.8 <= v <= 1.25 for v in r)]
level_init = {decision}
"""
_TANH_RIGHT = {
    "args": "activation=torch.tanh, depth=20, width=128, seed=seed",
    "seeds": "range(5)",
    "ratio": "m[19] / m[9]",
    "decision": "level[0] if len(level) == 1 else None",
}


def _tanh(**change: str) -> str:
    return _TANH.format(**(_TANH_RIGHT | change))


_DEAD = """
def dead_units(model, x):
    z = model.fc1(x.flatten(1))
    return torch.nonzero({dead}).flatten().tolist()
"""

WRONG = {
    "DeepMLP": {
        "built with nn.Sequential, which the prompt forbids": """
class DeepMLP(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        layers = [nn.Flatten()]
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        self.net = nn.Sequential(*layers[:-1])

    def forward(self, x):
        return self.net(x)
""",
        "layers in a plain Python list: the optimizer never sees them": _deep_mlp(
            layers="[nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])]"
        ),
        "a ReLU after the last layer too": _deep_mlp(relu_when="True"),
        "no ReLU at all: the layers collapse into one linear map": _deep_mlp(relu_when="False"),
        "view(-1, n_in): a wrongly shaped batch passes silently": _deep_mlp(
            flatten="x.view(-1, self.layers[0].in_features)"
        ),
        "squeeze(1): drops the channel but leaves each image 28 x 28": _deep_mlp(
            flatten="x.squeeze(1)"
        ),
        "one ReLU after a loop over all layers but the last (an indentation slip)": """
class DeepMLP(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))

    def forward(self, x):
        x = x.flatten(1)
        for layer in self.layers[:-1]:
            x = layer(x)
        x = torch.relu(x)
        return self.layers[-1](x)
""",
        "a ReLU only after the first layer": _deep_mlp(relu_when="i == 0"),
        "a ReLU only before the last layer": _deep_mlp(relu_when="i == len(self.layers) - 2"),
        "a ReLU before each layer: the input is clipped, the hidden outputs are not": """
class DeepMLP(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))

    def forward(self, x):
        x = x.flatten(1)
        for layer in self.layers:
            x = layer(torch.relu(x))
        return x
""",
    },
    "tanh_ratio": {
        "layer 20 over layer 2, the transient included": _tanh(ratio="m[19] / m[1]"),
        "off by one: list index 10 is layer 11": _tanh(ratio="m[19] / m[10]"),
        "ReLU, preactivation_moments' default activation, instead of tanh": _tanh(
            args="depth=20, width=128, seed=seed"
        ),
        "the seed is never passed: five copies of one network": _tanh(
            args="activation=torch.tanh, depth=20, width=128"
        ),
        "width left at preactivation_moments' default, section 6's 256": _tanh(
            args="activation=torch.tanh, depth=20, seed=seed"
        ),
        "the five seeds measured in another order than 0 to 4": _tanh(seeds="(0, 2, 1, 3, 4)"),
        "the decision typed in, not read from the measurements": _tanh(decision='"Xavier normal"'),
    },
    "dead_units": {
        "hard-coded: the units the check planted once": """
def dead_units(model, x):
    return [3, 70]
""",
        "a very negative bias taken for death": """
def dead_units(model, x):
    return torch.nonzero(model.fc1.bias < -50).flatten().tolist()
""",
        "strictly negative: misses a unit stuck at exactly 0, where ReLU' is 0 too": _DEAD.format(
            dead="(z < 0).all(dim=0)"
        ),
        "silent on some example instead of on every one": _DEAD.format(dead="(z <= 0).any(dim=0)"),
        "the wrong axis: examples instead of units": _DEAD.format(dead="(z <= 0).all(dim=1)"),
        "judged from the weights alone: every weight and the bias ≤ 0": """
def dead_units(model, x):
    w, b = model.fc1.weight, model.fc1.bias
    return torch.nonzero((w <= 0).all(dim=1) & (b <= 0)).flatten().tolist()
""",
        "a tiny average output taken for death": _DEAD.format(
            dead="torch.relu(z).mean(dim=0) < 1e-6"
        ),
        "a list of 0-dim tensors, not of Python ints": """
def dead_units(model, x):
    z = model.fc1(x.flatten(1))
    return list(torch.nonzero((z <= 0).all(dim=0)).flatten())
""",
    },
}
