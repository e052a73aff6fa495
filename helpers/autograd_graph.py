"""Autograd's backward graph, walked, measured and drawn with matplotlib (no graphviz), through
the public attributes notebook 02 walks by hand: ``grad_fn``, ``next_functions``, ``name()``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from .plots import COLORS

NODE_COLOUR = to_rgba(COLORS["sky blue"], 0.45)  # an operation's backward; light, so text reads
LEAF_COLOUR = to_rgba(COLORS["orange"], 0.45)  # AccumulateGrad: into a leaf tensor's .grad


def is_leaf_node(node: Any) -> bool:
    """True for an ``AccumulateGrad`` node, which adds a leaf tensor's gradient to ``.grad``."""
    return hasattr(node, "variable")


def graph_layers(root: Any) -> tuple[list[list[Any]], list[tuple[Any, Any]]]:
    """The nodes below ``root`` (a tensor's ``grad_fn``) by depth, the longest path from
    ``root``, so that every edge points down; and the edges ``(node, child)``."""
    assert root is not None, "root is None: pass the grad_fn of a tensor computed with autograd"
    depth, edges, stack = {root: 0}, [], [root]
    while stack:
        node = stack.pop()
        for child, _ in node.next_functions:
            if child is None:  # an input that needs no gradient
                continue
            edges.append((node, child))
            if depth.get(child, -1) < depth[node] + 1:
                depth[child] = depth[node] + 1
                stack.append(child)
    layers: list[list[Any]] = [[] for _ in range(max(depth.values()) + 1)]
    for node, d in depth.items():
        layers[d].append(node)
    return layers, list(dict.fromkeys(edges))  # a node revisited deeper adds its edges again


def graph_size(root: Any) -> int:
    """Number of nodes in the backward graph below ``root``, ``root`` and leaves included."""
    return sum(len(layer) for layer in graph_layers(root)[0])


def node_label(node: Any, names: Mapping[int, str] | None = None) -> str:
    """The operation (``"ReluBackward0"``), or a leaf's name in ``names`` (keys: ``id(tensor)``)."""
    if is_leaf_node(node):
        return (names or {}).get(id(node.variable), "leaf")
    return node.name()


def draw_graph(
    root: Any, names: Mapping[int, str] | None = None, title: str = "Backward graph"
) -> Figure:
    """The backward graph below ``root``, one row per depth, gradients flowing down; ``names``
    labels the leaves, e.g. ``{id(p): name for name, p in model.named_parameters()}``."""
    layers, edges = graph_layers(root)
    width, depth = max(len(layer) for layer in layers), len(layers)
    pos = {
        n: (i - (len(layer) - 1) / 2, -d)
        for d, layer in enumerate(layers)
        for i, n in enumerate(layer)
    }
    fig, ax = plt.subplots(figsize=(max(6.0, 2.2 * width), 0.75 * depth + 1))
    arrow = {"arrowstyle": "->", "color": "grey", "shrinkA": 11, "shrinkB": 11}
    for parent, child in edges:
        ax.annotate("", xy=pos[child], xytext=pos[parent], arrowprops=arrow)
    for node, (x, y) in pos.items():
        fill = LEAF_COLOUR if is_leaf_node(node) else NODE_COLOUR
        box = {"boxstyle": "round", "ec": "grey", "fc": fill}
        ax.text(x, y, node_label(node, names), ha="center", va="center", fontsize=9, bbox=box)
    half = width / 2 + 0.2
    ax.set(xlim=(-half, half), ylim=(-depth + 0.5, 0.5), xticks=[], title=title)
    ax.set_yticks([-d for d in range(depth)], [str(d) for d in range(depth)])
    ax.set_ylabel("backward steps from the root")
    ax.spines[["top", "right", "bottom"]].set_visible(False)
    ax.plot([], [], "s", color=NODE_COLOUR, ms=10, label="backward node (grad_fn)")
    ax.plot([], [], "s", color=LEAF_COLOUR, ms=10, label="leaf: AccumulateGrad into .grad")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=2, fontsize=8, frameon=False)
    return fig
