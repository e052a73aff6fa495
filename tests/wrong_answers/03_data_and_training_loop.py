"""Plausible wrong answers to notebook 03's exercises (see README.md beside this file)."""

WRONG = {
    "train_epochs": {
        "no zero_grad: gradients pile up across steps": """
def train_epochs(model, loader, optimizer, epochs, accumulate=1):
    criterion = nn.CrossEntropyLoss()
    model.train()
    losses = []
    optimizer.zero_grad()
    for _ in range(epochs):
        for i, (x, y) in enumerate(loader, start=1):
            loss = criterion(model(x), y)
            (loss / accumulate).backward()
            losses.append(loss.item())
            if i % accumulate == 0:
                optimizer.step()
    return losses
""",
        "zero_grad between backward and step: every step has a zero gradient": """
def train_epochs(model, loader, optimizer, epochs, accumulate=1):
    criterion = nn.CrossEntropyLoss()
    model.train()
    losses = []
    optimizer.zero_grad()
    for _ in range(epochs):
        for i, (x, y) in enumerate(loader, start=1):
            loss = criterion(model(x), y)
            (loss / accumulate).backward()
            losses.append(loss.item())
            if i % accumulate == 0:
                optimizer.zero_grad()
                optimizer.step()
    return losses
""",
        "step before backward: each step uses no gradient or the last batch's": """
def train_epochs(model, loader, optimizer, epochs, accumulate=1):
    criterion = nn.CrossEntropyLoss()
    model.train()
    losses = []
    optimizer.zero_grad()
    for _ in range(epochs):
        for i, (x, y) in enumerate(loader, start=1):
            loss = criterion(model(x), y)
            if i % accumulate == 0:
                optimizer.step()
                optimizer.zero_grad()
            (loss / accumulate).backward()
            losses.append(loss.item())
    return losses
""",
        "keeps the loss tensors (and every graph) instead of floats": """
def train_epochs(model, loader, optimizer, epochs, accumulate=1):
    criterion = nn.CrossEntropyLoss()
    model.train()
    losses = []
    optimizer.zero_grad()
    for _ in range(epochs):
        for i, (x, y) in enumerate(loader, start=1):
            loss = criterion(model(x), y)
            (loss / accumulate).backward()
            losses.append(loss)
            if i % accumulate == 0:
                optimizer.step()
                optimizer.zero_grad()
    return losses
""",
        "never switches the model to training mode": """
def train_epochs(model, loader, optimizer, epochs, accumulate=1):
    criterion = nn.CrossEntropyLoss()
    losses = []
    optimizer.zero_grad()
    for _ in range(epochs):
        for i, (x, y) in enumerate(loader, start=1):
            loss = criterion(model(x), y)
            (loss / accumulate).backward()
            losses.append(loss.item())
            if i % accumulate == 0:
                optimizer.step()
                optimizer.zero_grad()
    return losses
""",
        "model.train() after the loop instead of before it": """
def train_epochs(model, loader, optimizer, epochs, accumulate=1):
    criterion = nn.CrossEntropyLoss()
    losses = []
    optimizer.zero_grad()
    for _ in range(epochs):
        for i, (x, y) in enumerate(loader, start=1):
            loss = criterion(model(x), y)
            (loss / accumulate).backward()
            losses.append(loss.item())
            if i % accumulate == 0:
                optimizer.step()
                optimizer.zero_grad()
    model.train()
    return losses
""",
        "one mean loss per epoch instead of every batch's": """
def train_epochs(model, loader, optimizer, epochs, accumulate=1):
    criterion = nn.CrossEntropyLoss()
    model.train()
    losses = []
    optimizer.zero_grad()
    for _ in range(epochs):
        epoch_losses = []
        for i, (x, y) in enumerate(loader, start=1):
            loss = criterion(model(x), y)
            (loss / accumulate).backward()
            epoch_losses.append(loss.item())
            if i % accumulate == 0:
                optimizer.step()
                optimizer.zero_grad()
        losses.append(sum(epoch_losses) / len(epoch_losses))
    return losses
""",
        "accumulates without dividing: each step takes the sum of k gradients": """
def train_epochs(model, loader, optimizer, epochs, accumulate=1):
    criterion = nn.CrossEntropyLoss()
    model.train()
    losses = []
    optimizer.zero_grad()
    for _ in range(epochs):
        for i, (x, y) in enumerate(loader, start=1):
            loss = criterion(model(x), y)
            loss.backward()
            losses.append(loss.item())
            if i % accumulate == 0:
                optimizer.step()
                optimizer.zero_grad()
    return losses
""",
        "zero_grad before every backward: only the last batch of each group counts": """
def train_epochs(model, loader, optimizer, epochs, accumulate=1):
    criterion = nn.CrossEntropyLoss()
    model.train()
    losses = []
    optimizer.zero_grad()
    for _ in range(epochs):
        for i, (x, y) in enumerate(loader, start=1):
            loss = criterion(model(x), y)
            optimizer.zero_grad()
            (loss / accumulate).backward()
            losses.append(loss.item())
            if i % accumulate == 0:
                optimizer.step()
    return losses
""",
        "ignores accumulate: a step after every batch": """
def train_epochs(model, loader, optimizer, epochs, accumulate=1):
    criterion = nn.CrossEntropyLoss()
    model.train()
    losses = []
    for _ in range(epochs):
        for x, y in loader:
            loss = criterion(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return losses
""",
        "records the divided loss instead of each batch's own": """
def train_epochs(model, loader, optimizer, epochs, accumulate=1):
    criterion = nn.CrossEntropyLoss()
    model.train()
    losses = []
    optimizer.zero_grad()
    for _ in range(epochs):
        for i, (x, y) in enumerate(loader, start=1):
            loss = criterion(model(x), y) / accumulate
            loss.backward()
            losses.append(loss.item())
            if i % accumulate == 0:
                optimizer.step()
                optimizer.zero_grad()
    return losses
""",
        "appends the window's mean loss k times instead of every batch's own": """
def train_epochs(model, loader, optimizer, epochs, accumulate=1):
    criterion = nn.CrossEntropyLoss()
    model.train()
    losses, window = [], []
    optimizer.zero_grad()
    for _ in range(epochs):
        for i, (x, y) in enumerate(loader, start=1):
            loss = criterion(model(x), y)
            (loss / accumulate).backward()
            window.append(loss.item())
            if i % accumulate == 0:
                optimizer.step()
                optimizer.zero_grad()
                losses += [sum(window) / len(window)] * accumulate
                window = []
    return losses
""",
        "counts batches from 0: steps after the first batch of each group": """
def train_epochs(model, loader, optimizer, epochs, accumulate=1):
    criterion = nn.CrossEntropyLoss()
    model.train()
    losses = []
    optimizer.zero_grad()
    for _ in range(epochs):
        for i, (x, y) in enumerate(loader):
            loss = criterion(model(x), y)
            (loss / accumulate).backward()
            losses.append(loss.item())
            if i % accumulate == 0:
                optimizer.step()
                optimizer.zero_grad()
    return losses
""",
        "calls helpers.fit, which the prompt rules out": """
def train_epochs(model, loader, optimizer, epochs, accumulate=1):
    return fit(model, loader, epochs=epochs, optimizer=optimizer, progress=False)["batch_loss"]
""",
        "clears .grad only after a step: gradients left by earlier use reach the first step": """
def train_epochs(model, loader, optimizer, epochs, accumulate=1):
    criterion = nn.CrossEntropyLoss()
    model.train()
    losses = []
    for _ in range(epochs):
        for i, (x, y) in enumerate(loader, start=1):
            loss = criterion(model(x), y)
            (loss / accumulate).backward()
            losses.append(loss.item())
            if i % accumulate == 0:
                optimizer.step()
                optimizer.zero_grad()
    return losses
""",
        "sums k losses into one graph and one backward: memory for k batches, not one": """
def train_epochs(model, loader, optimizer, epochs, accumulate=1):
    criterion = nn.CrossEntropyLoss()
    model.train()
    losses, total = [], 0.0
    optimizer.zero_grad()
    for _ in range(epochs):
        for i, (x, y) in enumerate(loader, start=1):
            loss = criterion(model(x), y)
            total = total + loss / accumulate
            losses.append(loss.item())
            if i % accumulate == 0:
                total.backward()
                optimizer.step()
                optimizer.zero_grad()
                total = 0.0
    return losses
""",
    },
    "order_experiment": {
        "one generator for all seeds: each shuffled run after the first gets another order": """
def order_experiment(order, seeds):
    images, labels = splits["train"][0][:5000], splits["train"][1][:5000]
    if order == "sorted":
        by_label = torch.argsort(labels, stable=True)
        images, labels = images[by_label], labels[by_label]
    accuracies, g = [], torch.Generator().manual_seed(seeds[0])
    for s in seeds:
        torch.manual_seed(s)
        model = Net().to(dev)
        batches = InMemoryLoader(images, labels, batch_size=64, shuffle=order == "shuffled",
                                 generator=g, device=dev)
        fit(model, batches, epochs=1, optimizer=torch.optim.Adam(model.parameters(), lr=1e-3),
            progress=False)
        accuracies.append(evaluate(model, InMemoryLoader(*splits["val"], device=dev))["accuracy"])
    return accuracies
""",
        "accuracy measured on the training images, not the validation images": """
def order_experiment(order, seeds):
    images, labels = splits["train"][0][:5000], splits["train"][1][:5000]
    if order == "sorted":
        by_label = torch.argsort(labels, stable=True)
        images, labels = images[by_label], labels[by_label]
    accuracies = []
    for s in seeds:
        torch.manual_seed(s)
        model = Net().to(dev)
        batches = InMemoryLoader(images, labels, batch_size=64, shuffle=order == "shuffled",
                                 generator=torch.Generator().manual_seed(s), device=dev)
        fit(model, batches, epochs=1, optimizer=torch.optim.Adam(model.parameters(), lr=1e-3),
            progress=False)
        accuracies.append(evaluate(model, InMemoryLoader(images, labels, device=dev))["accuracy"])
    return accuracies
""",
        "hard-coded accuracies instead of measured ones": """
def order_experiment(order, seeds):
    return [0.88, 0.88, 0.89] if order == "shuffled" else [0.12, 0.15, 0.21]
""",
        "'sorted' is the original order, not shuffled but never sorted": """
def order_experiment(order, seeds):
    images, labels = splits["train"][0][:5000], splits["train"][1][:5000]
    accuracies = []
    for s in seeds:
        torch.manual_seed(s)
        model = Net().to(dev)
        batches = InMemoryLoader(images, labels, batch_size=64, shuffle=order == "shuffled",
                                 generator=torch.Generator().manual_seed(s), device=dev)
        fit(model, batches, epochs=1, optimizer=torch.optim.Adam(model.parameters(), lr=1e-3),
            progress=False)
        accuracies.append(evaluate(model, InMemoryLoader(*splits["val"], device=dev))["accuracy"])
    return accuracies
""",
        "the same seed for every run: three copies of one measurement": """
def order_experiment(order, seeds):
    images, labels = splits["train"][0][:5000], splits["train"][1][:5000]
    if order == "sorted":
        by_label = torch.argsort(labels, stable=True)
        images, labels = images[by_label], labels[by_label]
    accuracies = []
    for s in seeds:
        torch.manual_seed(0)
        model = Net().to(dev)
        batches = InMemoryLoader(images, labels, batch_size=64, shuffle=order == "shuffled",
                                 generator=torch.Generator().manual_seed(0), device=dev)
        fit(model, batches, epochs=1, optimizer=torch.optim.Adam(model.parameters(), lr=1e-3),
            progress=False)
        accuracies.append(evaluate(model, InMemoryLoader(*splits["val"], device=dev))["accuracy"])
    return accuracies
""",
        "argsort without stable=True: each digit's images lose their order": """
def order_experiment(order, seeds):
    images, labels = splits["train"][0][:5000], splits["train"][1][:5000]
    if order == "sorted":
        by_label = torch.argsort(labels)
        images, labels = images[by_label], labels[by_label]
    accuracies = []
    for s in seeds:
        torch.manual_seed(s)
        model = Net().to(dev)
        batches = InMemoryLoader(images, labels, batch_size=64, shuffle=order == "shuffled",
                                 generator=torch.Generator().manual_seed(s), device=dev)
        fit(model, batches, epochs=1, optimizer=torch.optim.Adam(model.parameters(), lr=1e-3),
            progress=False)
        accuracies.append(evaluate(model, InMemoryLoader(*splits["val"], device=dev))["accuracy"])
    return accuracies
""",
        "one network for all seeds: each run goes on training the last one": """
def order_experiment(order, seeds):
    images, labels = splits["train"][0][:5000], splits["train"][1][:5000]
    if order == "sorted":
        by_label = torch.argsort(labels, stable=True)
        images, labels = images[by_label], labels[by_label]
    torch.manual_seed(seeds[0])
    model = Net().to(dev)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    accuracies = []
    for s in seeds:
        batches = InMemoryLoader(images, labels, batch_size=64, shuffle=order == "shuffled",
                                 generator=torch.Generator().manual_seed(s), device=dev)
        fit(model, batches, epochs=1, optimizer=optimizer, progress=False)
        accuracies.append(evaluate(model, InMemoryLoader(*splits["val"], device=dev))["accuracy"])
    return accuracies
""",
        "the seed set after the network is created: its weights are not the seed's": """
def order_experiment(order, seeds):
    images, labels = splits["train"][0][:5000], splits["train"][1][:5000]
    if order == "sorted":
        by_label = torch.argsort(labels, stable=True)
        images, labels = images[by_label], labels[by_label]
    accuracies = []
    for s in seeds:
        model = Net().to(dev)
        torch.manual_seed(s)
        batches = InMemoryLoader(images, labels, batch_size=64, shuffle=order == "shuffled",
                                 generator=torch.Generator().manual_seed(s), device=dev)
        fit(model, batches, epochs=1, optimizer=torch.optim.Adam(model.parameters(), lr=1e-3),
            progress=False)
        accuracies.append(evaluate(model, InMemoryLoader(*splits["val"], device=dev))["accuracy"])
    return accuracies
""",
        "the sorted images are shuffled too, so both orders are random": """
def order_experiment(order, seeds):
    images, labels = splits["train"][0][:5000], splits["train"][1][:5000]
    if order == "sorted":
        by_label = torch.argsort(labels, stable=True)
        images, labels = images[by_label], labels[by_label]
    accuracies = []
    for s in seeds:
        torch.manual_seed(s)
        model = Net().to(dev)
        batches = InMemoryLoader(images, labels, batch_size=64, shuffle=True,
                                 generator=torch.Generator().manual_seed(s), device=dev)
        fit(model, batches, epochs=1, optimizer=torch.optim.Adam(model.parameters(), lr=1e-3),
            progress=False)
        accuracies.append(evaluate(model, InMemoryLoader(*splits["val"], device=dev))["accuracy"])
    return accuracies
""",
    },
    "initial_loss": {
        "model.eval() for the measurement, and the model left in eval mode": """
@torch.no_grad()
def initial_loss(model, x, y):
    model.eval()
    return float(nn.functional.cross_entropy(model(x), y))
""",
        "eval for the measurement, then model.train(): an eval-mode model comes back training": """
@torch.no_grad()
def initial_loss(model, x, y):
    model.eval()
    loss = float(nn.functional.cross_entropy(model(x), y))
    model.train()
    return loss
""",
        "requires_grad_(True) afterwards: a frozen parameter comes back trainable": """
def initial_loss(model, x, y):
    model.requires_grad_(False)
    loss = float(nn.functional.cross_entropy(model(x), y))
    model.requires_grad_(True)
    return loss
""",
        "softmax twice: cross_entropy fed probabilities instead of logits": """
@torch.no_grad()
def initial_loss(model, x, y):
    return float(nn.functional.cross_entropy(model(x).softmax(1), y))
""",
        "hard-coded: the loss of a uniform guess, whatever the model": """
initial_loss = lambda *a: math.log(10)
""",
        "hard-coded number": """
def initial_loss(model, x, y):
    return 2.3026
""",
        "no torch.no_grad: builds an autograd graph for a measurement": """
def initial_loss(model, x, y):
    return float(nn.functional.cross_entropy(model(x), y))
""",
        "nll_loss on the logits: the log-softmax is missing": """
@torch.no_grad()
def initial_loss(model, x, y):
    return float(nn.functional.nll_loss(model(x), y))
""",
        "returns a tensor, not a Python float": """
@torch.no_grad()
def initial_loss(model, x, y):
    return nn.functional.cross_entropy(model(x), y)
""",
        "the floor is ln n, the loss of a uniform guess": """
import math

def softmax_twice_floor(n_classes):
    return math.log(n_classes)
""",
        "the floor is 0, as if cross_entropy took probabilities": """
def softmax_twice_floor(n_classes):
    return 0.0
""",
        "the largest value instead: the right class at probability 0": """
import math

def softmax_twice_floor(n_classes):
    return math.log(math.e + n_classes - 1)
""",
        "off by one: e + n in the sum, the right class counted twice": """
import math

def softmax_twice_floor(n_classes):
    return math.log(math.e + n_classes) - 1
""",
        "the softmax's probability of the right class, not minus its log": """
import math

def softmax_twice_floor(n_classes):
    return math.e / (math.e + n_classes - 1)
""",
    },
}
