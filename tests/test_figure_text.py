"""helpers/_internal/figure_text.py: every stored figure says what it shows, values included."""

from __future__ import annotations

import matplotlib.pyplot as plt

from helpers._internal.figure_text import describe


def test_a_figure_is_described_by_its_titles_labels_and_legend_with_this_runs_values():
    fig, (left, right) = plt.subplots(1, 2)
    left.plot([1, 2], label="SGD")
    left.plot([2, 1], label="Adam")
    left.legend()
    left.set(xlabel="epoch", ylabel="loss", title="Training loss")
    right.imshow([[0, 1]])
    right.set_title(f"test accuracy {0.9731:.1%}")
    fig.suptitle("Optimizers")
    assert describe(fig) == (
        "Figure: Optimizers. 2 panels: Training loss: loss against epoch (SGD, Adam); "
        "test accuracy 97.3%: an image."
    )
    plt.close(fig)


def test_a_grid_of_images_lists_its_titles_and_an_empty_figure_says_so():
    fig, axes = plt.subplots(2, 4)
    for k, ax in enumerate(axes.flat):
        ax.imshow([[k]])
        ax.set_title(str(k))
    assert describe(fig) == "Figure: 8 small panels, titled 0, 1, 2, 3, 4, 5, 6, 7."
    plt.close(fig)
    fig = plt.figure()
    assert describe(fig) == "Figure: A figure without titles or labels."
    plt.close(fig)
