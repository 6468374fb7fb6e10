"""Small figure helpers shared by the stage scripts."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402


def placeholder_figure(message: str, figsize=(6.0, 2.0)) -> Figure:
    """A figure that only states why there is nothing to plot (keeps declared outputs present)."""
    fig = Figure(figsize=figsize)
    ax = fig.add_subplot()
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True)
    return fig
