"""Plausible wrong answers to notebook 02's exercises (see README.md beside this file)."""

# Exercise 3's wrong answers share the parts a student got right.
_RATIOS = """
def sigmoid_ratios(gain):
    name = f"sigmoid, {gain} × Xavier"
    GRAD_SETUPS[name] = (torch.sigmoid, lambda n: gain * math.sqrt(2 / (n + 64)))
    ratios = []
    for s in range(5):
        z_norms, _, _ = layer_grad_norms(name, seed=s)
        ratios.append(z_norms[0] / z_norms[-1])
    return ratios
"""
_SATURATION = """
def sigmoid_saturation(gain):
    _, zs, _ = deep_mlp(f"sigmoid, {gain} × Xavier", seed=0)
    out = torch.sigmoid(torch.cat(zs).detach())
    slope = out * (1 - out)
    share = ((out < 0.05) | (out > 0.95)).double().mean().item()
    return share, slope.pow(2).mean().sqrt().item()
"""
_MEASURE_FIVE = """
measured, saturation = {}, {}
for gain in [1, 2, 4, 8, 16]:
    measured[gain], saturation[gain] = sigmoid_ratios(gain), sigmoid_saturation(gain)
"""
_MEASURE_ALL = """
measured, saturation = {}, {}
for gain in [1, 2, 4, 8, 16] + list(range(9, 16)):
    measured[gain], saturation[gain] = sigmoid_ratios(gain), sigmoid_saturation(gain)
level_gain = min(measured, key=lambda g: abs(sum(math.log(x) for x in measured[g])))
"""

WRONG = {
    "sigmoid_layer_backward": {
        "the sigmoid's derivative forgotten: the linear layer's backward only": """
def sigmoid_layer_backward(x, weight, bias, grad_out):
    G = grad_out
    return {"weight": G.T @ x, "bias": G.sum(0), "input": G @ weight}
""",
        "the sigmoid's derivative written as s instead of s(1 - s)": """
def sigmoid_layer_backward(x, weight, bias, grad_out):
    s = torch.sigmoid(x @ weight.T + bias)
    G = grad_out * s
    return {"weight": G.T @ x, "bias": G.sum(0), "input": G @ weight}
""",
        "the derivative taken at the pre-activation z, z(1 - z), not at the output": """
def sigmoid_layer_backward(x, weight, bias, grad_out):
    z = x @ weight.T + bias
    G = grad_out * z * (1 - z)
    return {"weight": G.T @ x, "bias": G.sum(0), "input": G @ weight}
""",
        "the bias gradient averaged over the batch": """
def sigmoid_layer_backward(x, weight, bias, grad_out):
    s = torch.sigmoid(x @ weight.T + bias)
    G = grad_out * s * (1 - s)
    return {"weight": G.T @ x, "bias": G.mean(0), "input": G @ weight}
""",
    },
    "numerical_gradient": {
        "a forward difference (f(x + eps) - f(x)) / eps": """
def numerical_gradient(f, x, eps=1e-6):
    x = x.detach().clone()
    flat = x.view(-1)
    grad = torch.zeros_like(flat)
    base = float(f(x))
    for i in range(flat.numel()):
        original = flat[i].item()
        flat[i] = original + eps
        grad[i] = (float(f(x)) - base) / eps
        flat[i] = original
    return grad.view_as(x)
""",
        "the central difference divided by eps instead of 2 eps": """
def numerical_gradient(f, x, eps=1e-6):
    x = x.detach().clone()
    flat = x.view(-1)
    grad = torch.zeros_like(flat)
    for i in range(flat.numel()):
        original = flat[i].item()
        flat[i] = original + eps
        up = float(f(x))
        flat[i] = original - eps
        down = float(f(x))
        flat[i] = original
        grad[i] = (up - down) / eps
    return grad.view_as(x)
""",
        "each entry left at x - eps instead of restored": """
def numerical_gradient(f, x, eps=1e-6):
    x = x.detach().clone()
    flat = x.view(-1)
    grad = torch.zeros_like(flat)
    for i in range(flat.numel()):
        original = flat[i].item()
        flat[i] = original + eps
        up = float(f(x))
        flat[i] = original - eps
        down = float(f(x))
        grad[i] = (up - down) / (2 * eps)
    return grad.view_as(x)
""",
        "the caller's x perturbed in place (no copy), and not restored": """
def numerical_gradient(f, x, eps=1e-6):
    flat = x.detach().view(-1)
    grad = torch.zeros_like(flat)
    for i in range(flat.numel()):
        flat[i] += eps
        up = float(f(x))
        flat[i] -= 2 * eps
        down = float(f(x))
        grad[i] = (up - down) / (2 * eps)
    return grad.view_as(x)
""",
        "autograd instead of finite differences": """
def numerical_gradient(f, x, eps=1e-6):
    x = x.detach().clone().requires_grad_()
    return torch.autograd.grad(f(x), x)[0]
""",
        "the gradient stored in float32, torch.zeros's default dtype": """
def numerical_gradient(f, x, eps=1e-6):
    x = x.detach().clone()
    flat = x.view(-1)
    grad = torch.zeros(flat.numel())
    for i in range(flat.numel()):
        original = flat[i].item()
        flat[i] = original + eps
        up = float(f(x))
        flat[i] = original - eps
        down = float(f(x))
        flat[i] = original
        grad[i] = (up - down) / (2 * eps)
    return grad.view_as(x)
""",
        "every entry perturbed at once: one directional derivative copied everywhere": """
def numerical_gradient(f, x, eps=1e-6):
    x = x.detach().clone()
    slope = (float(f(x + eps)) - float(f(x - eps))) / (2 * eps)
    return torch.full_like(x, slope)
""",
    },
    "sigmoid_ratios": {
        "the notebook's seed used five times instead of the weight seeds 0 to 4": """
def sigmoid_ratios(gain):
    name = f"sigmoid, {gain} × Xavier"
    GRAD_SETUPS[name] = (torch.sigmoid, lambda n: gain * math.sqrt(2 / (n + 64)))
    return [layer_grad_norms(name)[0][0] / layer_grad_norms(name)[0][-1] for s in range(5)]
"""
        + _SATURATION
        + _MEASURE_ALL,
        "the ratio upside down, ||G_last|| / ||G_1||": """
def sigmoid_ratios(gain):
    name = f"sigmoid, {gain} × Xavier"
    GRAD_SETUPS[name] = (torch.sigmoid, lambda n: gain * math.sqrt(2 / (n + 64)))
    ratios = []
    for s in range(5):
        z_norms, _, _ = layer_grad_norms(name, seed=s)
        ratios.append(z_norms[-1] / z_norms[0])
    return ratios
"""
        + _SATURATION
        + _MEASURE_ALL,
        "the gain applied to the variance, not to the standard deviation": """
def sigmoid_ratios(gain):
    name = f"sigmoid, {gain} × Xavier"
    GRAD_SETUPS[name] = (torch.sigmoid, lambda n: math.sqrt(gain * 2 / (n + 64)))
    ratios = []
    for s in range(5):
        z_norms, _, _ = layer_grad_norms(name, seed=s)
        ratios.append(z_norms[0] / z_norms[-1])
    return ratios
"""
        + _SATURATION
        + _MEASURE_ALL,
        "the set-up registered, but section 8's 'sigmoid, Xavier' measured for every gain": """
def sigmoid_ratios(gain):
    GRAD_SETUPS[f"sigmoid, {gain} × Xavier"] = (
        torch.sigmoid,
        lambda n: gain * math.sqrt(2 / (n + 64)),
    )
    ratios = []
    for s in range(5):
        z_norms, _, _ = layer_grad_norms("sigmoid, Xavier", seed=s)
        ratios.append(z_norms[0] / z_norms[-1])
    return ratios
"""
        + _SATURATION
        + _MEASURE_ALL,
        "the best of the first five gains (8) hard-coded, none in between tried": _RATIOS
        + _SATURATION
        + _MEASURE_FIVE
        + "level_gain = 8\n",
        "the first gain whose ratios exceed 1 (16), not narrowed down": _RATIOS
        + _SATURATION
        + _MEASURE_FIVE
        + "level_gain = 16\n",
        "the guess (gain 4) kept instead of reading the measurements": _RATIOS
        + _SATURATION
        + _MEASURE_ALL
        + "level_gain = 4\n",
        "a level gain typed in (11) that was never measured": _RATIOS
        + _SATURATION
        + _MEASURE_FIVE
        + "level_gain = 11\n",
        "the ratios typed in from a printout": """
def sigmoid_ratios(gain):
    GRAD_SETUPS[f"sigmoid, {gain} × Xavier"] = (
        torch.sigmoid,
        lambda n: gain * math.sqrt(2 / (n + 64)),
    )
    table = {1: 1.1e-12, 2: 6e-8, 4: 2e-4, 8: 0.1, 9: 0.3, 10: 0.8, 11: 2.0, 12: 4.0}
    table.update({13: 8.0, 14: 15.0, 15: 33.0, 16: 66.0})
    return [table[gain] * (1 + 0.1 * s) for s in range(5)]
"""
        + _SATURATION
        + _MEASURE_ALL,
        "saturation judged on the pre-activation z instead of the output σ(z)": _RATIOS
        + """
def sigmoid_saturation(gain):
    _, zs, _ = deep_mlp(f"sigmoid, {gain} × Xavier", seed=0)
    z = torch.cat(zs).detach()
    out = torch.sigmoid(z)
    slope = out * (1 - out)
    share = ((z < 0.05) | (z > 0.95)).double().mean().item()
    return share, slope.pow(2).mean().sqrt().item()
"""
        + _MEASURE_ALL,
        "the mean of σ' instead of its root-mean-square": _RATIOS
        + """
def sigmoid_saturation(gain):
    _, zs, _ = deep_mlp(f"sigmoid, {gain} × Xavier", seed=0)
    out = torch.sigmoid(torch.cat(zs).detach())
    slope = out * (1 - out)
    share = ((out < 0.05) | (out > 0.95)).double().mean().item()
    return share, slope.mean().item()
"""
        + _MEASURE_ALL,
        "σ' taken as the sigmoid's output σ(z), not σ(z)(1 - σ(z))": _RATIOS
        + """
def sigmoid_saturation(gain):
    _, zs, _ = deep_mlp(f"sigmoid, {gain} × Xavier", seed=0)
    out = torch.sigmoid(torch.cat(zs).detach())
    share = ((out < 0.05) | (out > 0.95)).double().mean().item()
    return share, out.pow(2).mean().sqrt().item()
"""
        + _MEASURE_ALL,
        "saturation and σ' measured on weight seed 4, the last of the five, not seed 0": _RATIOS
        + """
def sigmoid_saturation(gain):
    _, zs, _ = deep_mlp(f"sigmoid, {gain} × Xavier", seed=4)
    out = torch.sigmoid(torch.cat(zs).detach())
    slope = out * (1 - out)
    share = ((out < 0.05) | (out > 0.95)).double().mean().item()
    return share, slope.pow(2).mean().sqrt().item()
"""
        + _MEASURE_ALL,
        "the RMS of σ' over hidden layers 1 to 19 only, the ones the gradient goes back to": _RATIOS
        + """
def sigmoid_saturation(gain):
    _, zs, _ = deep_mlp(f"sigmoid, {gain} × Xavier", seed=0)
    out = torch.sigmoid(torch.cat(zs).detach())
    share = ((out < 0.05) | (out > 0.95)).double().mean().item()
    below = torch.sigmoid(torch.cat(zs[:-1]).detach())
    return share, (below * (1 - below)).pow(2).mean().sqrt().item()
"""
        + _MEASURE_ALL,
        "saturation measured at level_gain whatever the gain (a typo in the function)": _RATIOS
        + """
def sigmoid_saturation(gain):
    _, zs, _ = deep_mlp(f"sigmoid, {level_gain} × Xavier", seed=0)
    out = torch.sigmoid(torch.cat(zs).detach())
    slope = out * (1 - out)
    share = ((out < 0.05) | (out > 0.95)).double().mean().item()
    return share, slope.pow(2).mean().sqrt().item()


measured = {g: sigmoid_ratios(g) for g in [1, 2, 4, 8, 16] + list(range(9, 16))}
level_gain = min(measured, key=lambda g: abs(sum(math.log(x) for x in measured[g])))
saturation = {g: sigmoid_saturation(g) for g in measured}
""",
        "saturation measured on section 8's 'sigmoid, Xavier' (gain 1) for every gain": _RATIOS
        + """
def sigmoid_saturation(gain):
    _, zs, _ = deep_mlp("sigmoid, Xavier", seed=0)
    out = torch.sigmoid(torch.cat(zs).detach())
    slope = out * (1 - out)
    share = ((out < 0.05) | (out > 0.95)).double().mean().item()
    return share, slope.pow(2).mean().sqrt().item()
"""
        + _MEASURE_ALL,
    },
    "value_tanh": {
        "`=` instead of `+=` in the backward rule": """
def value_tanh(self):
    out = Value(math.tanh(self.data), (self,), "tanh")

    def _backward():
        self.grad = (1 - out.data**2) * out.grad

    out._backward = _backward
    return out


Value.tanh = value_tanh
""",
        "the derivative evaluated with the input, 1 - x², not with the output": """
def value_tanh(self):
    out = Value(math.tanh(self.data), (self,), "tanh")

    def _backward():
        self.grad += (1 - self.data**2) * out.grad

    out._backward = _backward
    return out


Value.tanh = value_tanh
""",
        "the upstream gradient out.grad left out of the chain rule": """
def value_tanh(self):
    out = Value(math.tanh(self.data), (self,), "tanh")

    def _backward():
        self.grad += 1 - out.data**2

    out._backward = _backward
    return out


Value.tanh = value_tanh
""",
        "the backward rule written but never attached to out": """
def value_tanh(self):
    out = Value(math.tanh(self.data), (self,), "tanh")

    def _backward():
        self.grad += (1 - out.data**2) * out.grad

    return out


Value.tanh = value_tanh
""",
    },
}
