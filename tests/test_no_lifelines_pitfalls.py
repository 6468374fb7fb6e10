"""Reported numbers must not come from lifelines features known to be wrong for our purpose:
- ``restricted_mean_survival_time(..., return_variance=True)`` returns Var[min(T, tau)], not the
  variance of the RMST estimator (29-950x too large in our checks): use icistop.stats.rmst;
- ``AalenJohansenFitter`` jitters tied event times: use icistop.stats.cif (exact ties, as R).
Grep-style check over every text file under workflow/."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PATTERNS = {
    "return_variance=True": re.compile(r"return_variance\s*=\s*True"),
    "AalenJohansenFitter": re.compile(r"AalenJohansenFitter"),
}
SUFFIXES = {".py", ".smk", ".yaml", ".yml", ".j2", ".rst", ".md", ".txt", ".R", ".r", ".cfg", ".toml"}


def test_no_lifelines_pitfalls_under_workflow():
    hits = []
    files = [p for p in (ROOT / "workflow").rglob("*") if p.is_file() and (p.suffix in SUFFIXES or p.name == "Snakefile")]
    files.append(ROOT / "Snakefile")
    for path in files:
        if not path.exists():
            continue
        text = path.read_text(errors="replace")
        for name, pat in PATTERNS.items():
            for m in pat.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                hits.append(f"{path.relative_to(ROOT)}:{line}: {name}")
    assert not hits, "lifelines pitfalls in reported-number code:\n" + "\n".join(hits)
