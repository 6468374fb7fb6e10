"""Assemble and render the HTML report with jinja2 (autoescape on; everything inline, no network).

The page is built from the section JSONs (see :mod:`icistop.report.context`), the key findings
(:mod:`icistop.report.findings`), the methods text generated from the config
(:mod:`icistop.report.methods`) and the provenance (:mod:`icistop.report.provenance`). Figures are
embedded as base64 SVG data URIs; the Content-Security-Policy allows nothing but inline styles and
data: images, so the file cannot fetch anything.
"""

from __future__ import annotations

import base64
import html as htmllib
import re
from pathlib import Path

import jinja2

from icistop.report.privacy import suppress_count
from icistop.report.context import NOT_RUN, new_section
from icistop.report.findings import key_findings

SECTION_ORDER = ["data", "cohort", "table1", "survival", "continuation", "biomarkers", "swimmer"]
SECTION_TITLES = {
    "data": "Data and validation",
    "cohort": "Cohort selection",
    "table1": "Baseline characteristics (Table 1)",
    "survival": "Survival after stopping ICI",
    "continuation": "Continuing versus stopping ICI",
    "biomarkers": "Biomarkers",
    "swimmer": "Patient courses (swimmer plot)",
}
NOT_IN_RUN = ("this analysis is not part of this run (its rules are not included in the workflow or it is "
              "disabled in the configuration)")


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


def data_uri(path: str | Path) -> str | None:
    """A figure file as a base64 data URI (SVG or PNG); None when the file is missing."""
    path = Path(path)
    if not path.is_file():
        return None
    mime = {".svg": "image/svg+xml", ".png": "image/png"}[path.suffix.lower()]
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def ordered_sections(sections: dict, root: str | Path = ".") -> list[dict]:
    """Sections in report order, absent ones as "not run"; figures numbered and inlined."""
    out = []
    number = 0
    for name in SECTION_ORDER:
        sec = sections.get(name)
        if sec is None:
            sec = new_section(name, SECTION_TITLES[name], NOT_RUN, NOT_IN_RUN[0].upper() + NOT_IN_RUN[1:] + ".")
        sec = dict(sec)
        figs = []
        for fig in sec.get("figures", []):
            number += 1
            figs.append({**fig, "number": number, "data_uri": data_uri(Path(root) / fig["svg"])})
        sec["figures"] = figs
        by_id = {("figure", f["id"]): f for f in figs} | {("table", t["id"]): t for t in sec.get("tables", [])}
        blocks = sec.get("blocks") or [["figure", f["id"]] for f in figs] + [["table", t["id"]] for t in sec.get("tables", [])]
        sec["items"] = [{"kind": kind, "item": by_id[(kind, ident)]} for kind, ident in blocks if (kind, ident) in by_id]
        out.append(sec)
    return out


def build_context(sections: dict, *, title: str, methods: list, provenance: dict, show_identifiers: bool,
                  k: int, root: str | Path = ".") -> dict:
    order = ordered_sections(sections, root)
    return {
        "title": title,
        "order": order,
        "findings": key_findings({s["name"]: s for s in order}, k=k),
        "methods": methods,
        "provenance": provenance,
        "show_identifiers": show_identifiers,
        # filled by the report rule from results/history/runs.jsonl (icistop.report.history)
        "changes": {"previous_run_date": None, "rows": []},
    }


DATA_URI = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=]+")
TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/\-]*[A-Za-z0-9]|[A-Za-z0-9]")
ISO_DATE = re.compile(r"(?<!\d)\d{4}-\d{2}-\d{2}(?!\d)")
WORD_RUN = re.compile(r"[\w-]+")


def privacy_leaks(html: str, identifiers, dates, allowed_dates=()) -> dict:
    """Patient identifiers and data dates found in the page text (embedded images excluded).

    Identifiers are matched as whole tokens; purely numeric identifiers shorter than 6 digits are
    not checked (they cannot be told apart from counts). Returns {"identifiers": n, "dates": n,
    "skipped_identifiers": n, "sections": [ids of the page sections with a leak]}: counts only, so the
    check itself never prints a value.
    """
    text = htmllib.unescape(DATA_URI.sub("", html))
    tokens = set()
    for tok in TOKEN.findall(text):
        tokens.add(tok)
        tokens.update(p for p in re.split(r"[/:]", tok) if p)
    ids = {str(i) for i in identifiers}
    checkable = {i for i in ids if not (i.isdigit() and len(i) < 6)}
    page_dates = set(ISO_DATE.findall(text)) - set(allowed_dates)
    leaked_dates = page_dates & {str(d) for d in dates}
    # an identifier of word characters and hyphens occurs as a whole word exactly when it is one of the page's
    # maximal [\w-] runs: one set lookup instead of a search of the page per identifier
    runs = set(WORD_RUN.findall(text))
    leaked_ids = {i for i in checkable if i in tokens or
                  (i in runs if WORD_RUN.fullmatch(i) else (i in text and _whole(text, i)))}
    where = sorted({sid for sid, part in _sections(text) if any(x in part for x in leaked_dates | leaked_ids)})
    return {"identifiers": len(leaked_ids), "dates": len(leaked_dates), "skipped_identifiers": len(ids) - len(checkable),
            "sections": where}


def _sections(text: str):
    parts = re.split(r'<h2 id="([\w-]+)"', text)
    yield "header", parts[0]
    for i in range(1, len(parts) - 1, 2):
        yield parts[i], parts[i + 1]


def _whole(text: str, ident: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(ident)}(?![\w-])", text) is not None
