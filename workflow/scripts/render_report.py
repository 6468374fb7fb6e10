"""Snakemake entry point: the HTML report (rule report)."""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

import pandas as pd  # noqa: E402

from icistop import __version__  # noqa: E402
from icistop.report import render  # noqa: E402
from icistop.runner import run_step  # noqa: E402
from icistop.tableio import read_json  # noqa: E402


def main(smk):
    summary = read_json(smk.input.summary)
    issues = pd.read_csv(smk.input.issues, sep="\t", keep_default_na=False)
    attrition = pd.read_csv(smk.input.attrition, sep="\t")
    cutoff = read_json(smk.input.cutoff)
    context = {
        "title": smk.params.title,
        "version": __version__,
        "summary": summary,
        "warnings": issues.to_dict("records"),
        "attrition": attrition.to_dict("records"),
        "data_cutoff": cutoff["data_cutoff"] if smk.params.show_identifiers else None,
    }
    html = render(smk.input.template, context, small_cell_k=smk.params.small_cell_k)
    with open(smk.output.html, "w", encoding="utf-8") as handle:
        handle.write(html)


run_step(snakemake, main)  # noqa: F821
