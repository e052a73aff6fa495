"""Plausible wrong answers to notebook 02's exercises (see README.md beside this file)."""

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
    ratios = []
    for s in range(5):
        z_norms, _ = layer_grad_norms(name)
        ratios.append(z_norms[0] / z_norms[-1])
    return ratios


gains = [1, 2, 4, 8, 16]
best_gain = 8
""",
        "the ratio upside down, ||G_last|| / ||G_1||": """
def sigmoid_ratios(gain):
    name = f"sigmoid, {gain} × Xavier"
    GRAD_SETUPS[name] = (torch.sigmoid, lambda n: gain * math.sqrt(2 / (n + 64)))
    ratios = []
    for s in range(5):
        z_norms, _ = layer_grad_norms(name, seed=s)
        ratios.append(z_norms[-1] / z_norms[0])
    return ratios


gains = [1, 2, 4, 8, 16]
measured = {g: sigmoid_ratios(g) for g in gains}
best_gain = min(gains, key=lambda g: max(max(measured[g]), 1 / min(measured[g])))
""",
        "the gain applied to the variance, not to the standard deviation": """
def sigmoid_ratios(gain):
    name = f"sigmoid, {gain} × Xavier"
    GRAD_SETUPS[name] = (torch.sigmoid, lambda n: math.sqrt(gain * 2 / (n + 64)))
    ratios = []
    for s in range(5):
        z_norms, _ = layer_grad_norms(name, seed=s)
        ratios.append(z_norms[0] / z_norms[-1])
    return ratios


gains = [1, 2, 4, 8, 16]
measured = {g: sigmoid_ratios(g) for g in gains}
best_gain = min(gains, key=lambda g: max(max(measured[g]), 1 / min(measured[g])))
""",
        "the set-up registered, but section 8's 'sigmoid, Xavier' measured for every gain": """
def sigmoid_ratios(gain):
    GRAD_SETUPS[f"sigmoid, {gain} × Xavier"] = (
        torch.sigmoid,
        lambda n: gain * math.sqrt(2 / (n + 64)),
    )
    ratios = []
    for s in range(5):
        z_norms, _ = layer_grad_norms("sigmoid, Xavier", seed=s)
        ratios.append(z_norms[0] / z_norms[-1])
    return ratios


gains = [1, 2, 4, 8, 16]
measured = {g: sigmoid_ratios(g) for g in gains}
best_gain = min(gains, key=lambda g: max(max(measured[g]), 1 / min(measured[g])))
""",
        "the right measurements, but the guess (gain 4) kept instead of reading them": """
def sigmoid_ratios(gain):
    name = f"sigmoid, {gain} × Xavier"
    GRAD_SETUPS[name] = (torch.sigmoid, lambda n: gain * math.sqrt(2 / (n + 64)))
    ratios = []
    for s in range(5):
        z_norms, _ = layer_grad_norms(name, seed=s)
        ratios.append(z_norms[0] / z_norms[-1])
    return ratios


gains = [1, 2, 4, 8, 16]
best_gain = 4
""",
        "the gain with the largest gradient at layer 1 taken as the best": """
def sigmoid_ratios(gain):
    name = f"sigmoid, {gain} × Xavier"
    GRAD_SETUPS[name] = (torch.sigmoid, lambda n: gain * math.sqrt(2 / (n + 64)))
    ratios = []
    for s in range(5):
        z_norms, _ = layer_grad_norms(name, seed=s)
        ratios.append(z_norms[0] / z_norms[-1])
    return ratios


gains = [1, 2, 4, 8, 16]
measured = {g: sigmoid_ratios(g) for g in gains}
best_gain = max(gains, key=lambda g: min(measured[g]))
""",
        "the ratios typed in from a printout": """
def sigmoid_ratios(gain):
    GRAD_SETUPS[f"sigmoid, {gain} × Xavier"] = (
        torch.sigmoid,
        lambda n: gain * math.sqrt(2 / (n + 64)),
    )
    table = {1: 1.1e-12, 2: 6e-8, 4: 2e-4, 8: 0.1, 16: 60.0}
    return [table[gain] * (1 + 0.1 * s) for s in range(5)]


gains = [1, 2, 4, 8, 16]
best_gain = 8
""",
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
