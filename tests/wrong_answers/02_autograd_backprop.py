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
        "every entry perturbed at once: one directional derivative copied everywhere": """
def numerical_gradient(f, x, eps=1e-6):
    x = x.detach().clone()
    slope = (float(f(x + eps)) - float(f(x - eps))) / (2 * eps)
    return torch.full_like(x, slope)
""",
    },
    "vanishing_ratios": {
        "the notebook's seed used five times instead of seeds 0 to 4": """
def vanishing_ratios(depth):
    ratios = []
    for s in range(5):
        norms = preactivation_grad_norms("sigmoid, Xavier", depth=depth, seed=seed)
        ratios.append(norms[0] / norms[-1])
    return ratios


first_vanishing_depth = 8
""",
        "the ratio upside down, ||G_depth|| / ||G_1||": """
def vanishing_ratios(depth):
    ratios = []
    for s in range(5):
        norms = preactivation_grad_norms("sigmoid, Xavier", depth=depth, seed=s)
        ratios.append(norms[-1] / norms[0])
    return ratios


first_vanishing_depth = 8
""",
        "the wrong set-up (ReLU with He initialization)": """
def vanishing_ratios(depth):
    ratios = []
    for s in range(5):
        norms = preactivation_grad_norms("ReLU, He", depth=depth, seed=s)
        ratios.append(norms[0] / norms[-1])
    return ratios


first_vanishing_depth = 8
""",
        "the right measurements, but the depth guessed (6) rather than read off them": """
def vanishing_ratios(depth):
    ratios = []
    for s in range(5):
        norms = preactivation_grad_norms("sigmoid, Xavier", depth=depth, seed=s)
        ratios.append(norms[0] / norms[-1])
    return ratios


first_vanishing_depth = 6
""",
        "the ratios hard-coded from a printout": """
def vanishing_ratios(depth):
    table = {2: 0.23, 4: 0.013, 6: 7.5e-4, 8: 4e-5, 12: 1.1e-7, 16: 3.7e-10}
    return [table[depth] * (1 + 0.01 * s) for s in range(5)]


first_vanishing_depth = 8
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
