"""Figure helpers shared by every stage: one :func:`save_figure`, one message figure.

Files are byte-stable: no creation date or software version in the metadata, fixed SVG element ids
(``svg.hashsalt``), SVG text drawn as paths (no font needed to view it, nothing fetched).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

SAVE_RC = {"svg.fonttype": "path", "svg.hashsalt": "icistop-report"}
METADATA = {".svg": {"Date": None, "Creator": None}, ".png": {"Software": None}, ".pdf": {"CreationDate": None}}


def figure_paths(stem, formats=("png", "svg")) -> list[str]:
    """``stem.<fmt>`` for each format."""
    return [str(Path(stem).with_suffix(f".{fmt}")) for fmt in formats]


def save_figure(fig: Figure, paths, dpi: int = 150) -> list[str]:
    """Write ``fig`` to each of ``paths`` (format from the suffix: .png, .svg, .pdf), deterministically,
    and close it. Returns the paths."""
    paths = [str(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    if fig.canvas is None or not hasattr(fig.canvas, "print_figure"):
        FigureCanvasAgg(fig)
    with matplotlib.rc_context(SAVE_RC):
        for path in paths:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            suffix = Path(path).suffix.lower()
            fig.savefig(path, format=suffix[1:], dpi=dpi, metadata=METADATA.get(suffix, {}), bbox_inches="tight")
    plt.close(fig)
    return paths


def message_figure(text: str, width: float = 6.0, height: float = 1.2) -> Figure:
    """A figure that only states why there is nothing to plot (keeps declared outputs present)."""
    fig, ax = plt.subplots(figsize=(width, height))
    ax.axis("off")
    ax.text(0.5, 0.5, "\n".join(textwrap.wrap(str(text), 80)), ha="center", va="center", fontsize=10, color="#555")
    return fig
