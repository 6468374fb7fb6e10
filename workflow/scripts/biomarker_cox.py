"""Snakemake entry point: univariable and multivariable Cox models, splines and cut-points (rule biomarker_cox)."""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

import logging  # noqa: E402

import pandas as pd  # noqa: E402

from icistop.biomarkers.continuous import cutpoint_analysis, spline_analysis  # noqa: E402

from icistop.biomarkers.cox import multivariable_cox, univariable_cox  # noqa: E402

from icistop.biomarkers.markers import params_config  # noqa: E402
from icistop.runner import run_step  # noqa: E402
from icistop.data.tableio import write_tsv  # noqa: E402


def main(smk):
    logging.captureWarnings(True)
    cfg = params_config(smk.params)
    data = pd.read_parquet(smk.input.data)
    levels, markers = univariable_cox(data, cfg)
    write_tsv(levels, smk.output.univariable)
    write_tsv(markers, smk.output.markers)
    multi, _ = multivariable_cox(data, cfg)
    write_tsv(multi, smk.output.multivariable)
    tests, curves = spline_analysis(data, cfg)
    write_tsv(tests, smk.output.spline_tests)
    write_tsv(curves, smk.output.spline_curves)
    write_tsv(cutpoint_analysis(data, cfg), smk.output.cutpoints)


run_step(snakemake, main)  # noqa: F821
