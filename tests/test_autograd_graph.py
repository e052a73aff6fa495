"""helpers.autograd_graph: walking, sizing and drawing the backward graph."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.colors import to_hex
from torch import nn

from helpers.autograd_graph import (
    draw_graph,
    graph_layers,
    graph_size,
    is_leaf_node,
    node_label,
)
from helpers.plots import COLORS


def _classic():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    return x, ((x * 2) * 3).mean()


def test_layers_follow_the_chain_from_the_root_to_the_leaf():
    x, out = _classic()
    layers, edges = graph_layers(out.grad_fn)
    assert [[type(n).__name__ for n in layer] for layer in layers] == [
        ["MeanBackward0"],
        ["MulBackward0"],
        ["MulBackward0"],
        ["AccumulateGrad"],
    ]
    assert len(edges) == 3
    assert layers[-1][0].variable is x
    assert is_leaf_node(layers[-1][0]) and not is_leaf_node(layers[0][0])


def test_depth_is_the_longest_path_and_shared_nodes_appear_once():
    a = torch.ones(2, requires_grad=True)
    b = a * 2  # used twice: directly and after another op
    out = (b + b.exp()).sum()
    layers, edges = graph_layers(out.grad_fn)
    nodes = [n for layer in layers for n in layer]
    assert len(nodes) == len(set(nodes)) == 5  # Sum, Add, Exp, Mul, AccumulateGrad
    depth = {n: d for d, layer in enumerate(layers) for n in layer}
    mul = next(n for n in nodes if type(n).__name__ == "MulBackward0")
    assert depth[mul] == 3  # Sum -> Add -> Exp -> Mul, the longer of the two paths
    assert all(depth[child] > depth[parent] for parent, child in edges)
    assert len(edges) == len(set(edges))
    assert graph_size(out.grad_fn) == 5


def test_graph_size_of_a_linear_layer_counts_its_parameter_leaves():
    torch.manual_seed(0)
    layer = nn.Linear(3, 2)
    out = layer(torch.randn(4, 3)).sum()
    # Sum, Addmm, T (weight transpose), two AccumulateGrad (weight, bias); the input has no node
    assert graph_size(out.grad_fn) == 5


def test_labels_name_leaves_and_operations():
    x, out = _classic()
    layers, _ = graph_layers(out.grad_fn)
    assert node_label(layers[0][0]) == "MeanBackward0"
    assert node_label(layers[-1][0], {id(x): "x"}) == "x"
    assert node_label(layers[-1][0]) == "leaf"


def test_draw_graph_returns_a_labelled_figure():
    x, out = _classic()
    fig = draw_graph(out.grad_fn, {id(x): "x"}, title="classic")
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert ax.get_title() == "classic"
    assert texts.count("MulBackward0") == 2 and "x" in texts and "MeanBackward0" in texts
    assert len(ax.get_yticks()) == 4
    plt.close(fig)


def test_draw_graph_uses_palette_colours():
    x, out = _classic()
    fig = draw_graph(out.grad_fn, {id(x): "x"})
    boxes = [t.get_bbox_patch() for t in fig.axes[0].texts if t.get_bbox_patch()]  # no arrows
    faces = {to_hex(box.get_facecolor()).upper() for box in boxes}
    assert faces == {COLORS["sky blue"], COLORS["orange"]}  # drawn light, with an alpha
    plt.close(fig)


def test_a_tensor_without_grad_fn_is_named():
    with pytest.raises(AssertionError, match="root is None: pass the grad_fn"):
        graph_size(torch.ones(2).sum().grad_fn)
