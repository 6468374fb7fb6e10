"""Render the HTML report with jinja2 (autoescape on; everything inline, no network)."""

from __future__ import annotations

from pathlib import Path

import jinja2

from .privacy import suppress_count


def environment(template_dir: str | Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def render(template_path: str | Path, context: dict, small_cell_k: int = 0) -> str:
    template_path = Path(template_path)
    env = environment(template_path.parent)
    env.filters["count"] = lambda n: suppress_count(n, small_cell_k)
    return env.get_template(template_path.name).render(**context)
