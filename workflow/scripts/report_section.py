"""Snakemake entry point: one section of the HTML report (rules report_data, report_cohort, report_table1,
report_swimmer, report_survival, report_continuation, report_biomarkers).

Reads the rule's named inputs, builds the section (icistop.report_* builders), writes the section JSON,
every declared figure (PNG + SVG in results/figures/) and every declared table (TSV in results/tables/).
A declared figure or table the builder did not produce (e.g. an analysis without estimable results)
is written as a placeholder saying so; an undeclared one is an error (rule and builder disagree).
"""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

import logging  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

from icistop.report.context import NOT_RUN, json_safe  # noqa: E402
from icistop.plots.common import message_figure, save_figure  # noqa: E402
from icistop.runner import run_step  # noqa: E402
from icistop.data.tableio import write_json, write_tsv  # noqa: E402


def build(section: str, files: dict, params):
    k = int(params.small_cell_k)
    show = bool(params.show_identifiers)
    if section == "data":
        from icistop.report.core import data_section
        return data_section(files, show_identifiers=show, k=k)
    if section == "cohort":
        from icistop.report.core import cohort_section
        return cohort_section(files, k=k)
    if section == "table1":
        from icistop.report.core import table1_section
        return table1_section(files, show_identifiers=show, k=k)
    if section == "swimmer":
        from icistop.report.core import swimmer_section
        opts = params.options
        return swimmer_section(files, enabled=bool(opts.get("swimmer", True)), k=k,
                               max_patients=int(opts.get("max_patients", 500)), seed=int(opts.get("seed", 0)))
    if section == "survival":
        from icistop.report.survival import survival_section
        opts = params.options
        return survival_section(files, k=k, min_at_risk_frac=float(opts.get("min_at_risk_frac", 0.0)),
                                risk_times=opts.get("risk_times"), figures_wanted=opts.get("figures"))
    if section == "continuation":
        from icistop.report.continuation import continuation_section
        return continuation_section(files, params.options.get("outcomes", ["pfs"]), k=k)
    if section == "biomarkers":
        from icistop.report.biomarkers import biomarkers_section
        opts = params.options
        return biomarkers_section(files, k=k, q_threshold=float(opts.get("q_threshold", 0.1)),
                                  populations=list(opts.get("populations", ["post_stop"])),
                                  endpoints=dict(opts.get("endpoints", {})))
    raise ValueError(f"unknown report section {section!r}")


def main(smk):
    log = logging.getLogger(smk.rule)
    section = smk.params.section
    files = {name: path for name, path in smk.input.items() if isinstance(path, str)}
    result = build(section, files, smk.params)
    figures = {p: p for p in getattr(smk.output, "figures", [])}
    tables = {Path(p).stem: p for p in getattr(smk.output, "tables", [])}
    extra = (set(result.figures) - {Path(p).stem for p in figures.values()}) | (set(result.tables) - set(tables))
    if extra:
        raise ValueError(f"section {section} produced undeclared output(s): {', '.join(sorted(extra))}")
    svgs = {}
    for path in figures.values():
        stem = Path(path).stem
        if path.endswith(".svg"):
            svgs[stem] = path
    for stem in sorted({Path(p).stem for p in figures.values()}):
        png = str(Path(svgs[stem]).with_suffix(".png"))
        fig = result.figures.get(stem)
        if fig is None:
            reason = result.section.get("reason") if result.section.get("status") == NOT_RUN else None
            fig = message_figure(f"Not available: {reason or 'no estimate for this figure in this run'}.")
            log.info("placeholder figure %s", stem)
        save_figure(fig, [svgs[stem], png])
    for stem, path in tables.items():
        frame = result.tables.get(stem)
        if frame is None:
            frame = pd.DataFrame({"note": ["not available in this run"]})
        write_tsv(frame, path)
    write_json(json_safe(result.section), smk.output.json)
    log.info("section %s: status %s, %d table(s), %d figure(s)", section, result.section.get("status"),
             len(result.section.get("tables", [])), len(result.section.get("figures", [])))


run_step(snakemake, main)  # noqa: F821
