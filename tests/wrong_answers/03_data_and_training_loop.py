"""Plausible wrong answers to notebook 03's exercises (see README.md beside this file)."""

WRONG = {
    "train_epochs": {
        "no zero_grad: gradients pile up across batches": """
def train_epochs(model, loader, optimizer, epochs):
    criterion = nn.CrossEntropyLoss()
    model.train()
    losses = []
    for _ in range(epochs):
        for x, y in loader:
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return losses
""",
        "zero_grad after backward: every step has a zero gradient": """
def train_epochs(model, loader, optimizer, epochs):
    criterion = nn.CrossEntropyLoss()
    model.train()
    losses = []
    for _ in range(epochs):
        for x, y in loader:
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.zero_grad()
            optimizer.step()
            losses.append(loss.item())
    return losses
""",
    },
}
