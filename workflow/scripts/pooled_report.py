"""Snakemake entry point: the pooled multi-centre HTML report (rule pooled_report)."""

import sys
from pathlib import Path

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

from icistop import __version__  # noqa: E402
from icistop.multicentre.report import build_sections, methods  # noqa: E402
from icistop.report.context import read_tsv  # noqa: E402
from icistop.report.provenance import git_state, run_time, software_versions  # noqa: E402
from icistop.report.render import render  # noqa: E402
from icistop.runner import run_step  # noqa: E402

TABLES = ("packages", "km_curves", "km_landmarks", "logrank", "cox", "site_km_curves", "site_heterogeneity", "horizon",
          "meta", "sites")


def main(smk):
    t = {name: read_tsv(smk.input[name]) for name in TABLES}
    landmarks = sorted(t["km_landmarks"]["time"].unique()) if len(t["km_landmarks"]) else []
    p = smk.params
    context = {
        "title": p.title,
        "order": build_sections(t, landmarks),
        "methods": methods(t["packages"], p.meta_method, p.hartung_knapp),
        "sites": list(t["packages"]["site"].astype(str)),
        "provenance": {"version": __version__, "run_date": run_time().strftime("%Y-%m-%d %H:%M UTC"),
                       "git_commit": git_state(smk.scriptdir)["commit"] or "not available (not a git checkout)",
                       "software": software_versions()},
    }
    Path(smk.output.html).write_text(render(smk.input.template, context), encoding="utf-8")


run_step(snakemake, main)  # noqa: F821
