"""An alt text for every figure a notebook shows, written from the figure itself.

``setup`` wraps IPython's PNG formatter for matplotlib figures so that each stored figure carries,
in its output's metadata (``{"image/png": {"alt": ...}}``), a sentence built from what the figure
really shows: its title, each panel's title, axis labels and legend entries, with the values this
run put into them. The course's static site uses it as the image's ``alt`` text.
"""

from __future__ import annotations

from typing import Any

MARK = "_course_alt"  # set on the wrapper, so that setup run twice does not wrap twice


def _clean(text: str) -> str:
    return " ".join(text.replace("$", "").split())


def _panel(ax: Any) -> str:
    """One panel: ``"Title: y against x (a, b)"``, as much of it as the panel has."""
    title = _clean(ax.get_title())
    x, y = _clean(ax.get_xlabel()), _clean(ax.get_ylabel())
    axes = f"{y or 'values'} against {x}" if x or y else ""
    if not axes and ax.images:
        axes = "an image"
    labels = [_clean(t) for t in ax.get_legend_handles_labels()[1] if not t.startswith("_")]
    more = ", and more" if len(labels) > 8 else ""
    legend = f" ({', '.join(labels[:8])}{more})" if labels else ""
    return ": ".join(p for p in (title, axes) if p) + legend


def describe(figure: Any) -> str:
    """A one-paragraph description of a matplotlib figure, for a reader who cannot see it."""
    suptitle = getattr(figure, "_suptitle", None)
    head = _clean(suptitle.get_text()) if suptitle is not None else ""
    axes = [ax for ax in figure.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]
    panels = [p for p in (_panel(ax) for ax in axes) if p]
    if len(axes) > 6:  # a grid of small images: their titles say what each one is
        titles = [t for t in (_clean(ax.get_title()) for ax in axes) if t]
        shown = ", ".join(titles[:12]) + (", and more" if len(titles) > 12 else "")
        body = f"{len(axes)} small panels, titled {shown}" if titles else f"{len(axes)} panels"
    elif len(panels) == 1:
        body = panels[0]
    elif panels:
        body = f"{len(axes)} panels: " + "; ".join(panels)
    else:
        body = ""
    text = ". ".join(p for p in (head, body) if p) or "A figure without titles or labels"
    return f"Figure: {text}."


def add_alt_texts(shell: Any = None) -> None:
    """Make IPython's PNG output of a matplotlib figure carry :func:`describe`'s alt text
    (nothing to do outside IPython)."""
    from matplotlib.figure import Figure

    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return
        shell = get_ipython()
        if shell is None:
            return

    import matplotlib.pyplot as plt

    # matplotlib loads the inline backend, which registers the PNG formatter, on first use:
    # load it now, so there is a formatter to wrap (pyplot's own loader; private but long-lived)
    getattr(plt, "_get_backend_mod", lambda: None)()
    formatter = shell.display_formatter.formatters["image/png"]
    try:
        original = formatter.lookup_by_type(Figure)
    except KeyError:  # no inline PNG output: nothing to describe
        return
    if getattr(original, MARK, False):
        return

    def png_with_alt(figure: Any) -> Any:
        data = original(figure)
        data, metadata = data if isinstance(data, tuple) else (data, {})
        return data, {**(metadata or {}), "alt": describe(figure)}

    setattr(png_with_alt, MARK, True)
    formatter.for_type(Figure, png_with_alt)
