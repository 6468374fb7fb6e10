"""Snakemake entry point: biomarker figures, PNG + SVG (rule biomarker_figures)."""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

import logging  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

from icistop.biomarkers import plots as bp  # noqa: E402
from icistop.biomarkers.competing import top_markers  # noqa: E402
from icistop.biomarkers.populations import params_config, population_text  # noqa: E402
from icistop.runner import run_step  # noqa: E402


def _read(path):
    try:
        return pd.read_csv(path, sep="\t")
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def main(smk):
    logging.captureWarnings(True)
    p = smk.params
    formats, dpi = list(p.formats), int(p.dpi)
    cfg = params_config(p)
    words = population_text(cfg["population"], cfg["population_endpoint"])
    stem = lambda path: str(Path(path).with_suffix(""))  # noqa: E731
    data = pd.read_parquet(smk.input.data)
    levels = _read(smk.input.univariable)
    markers = _read(smk.input.markers)
    bp.forest_plot(levels, stem(smk.output.forest[0]), formats, dpi,
                   title=f"Univariable Cox models, {words['endpoint']} {words['origin']}")
    top = top_markers(markers, int(p.km_top_k)) if not markers.empty else []
    pvals = markers.set_index("marker")["p_logrank"].to_dict() if not markers.empty else {}
    order = (levels[levels["status"] == "ok"].groupby("marker", sort=False)["level"].apply(list).to_dict()
             if not levels.empty else {})
    bp.km_panels(data, top, stem(smk.output.km[0]), formats, dpi, pvalues=pvals, level_order=order,
                 xlabel=words["time_axis"], ylabel=words["survival"])
    bp.spline_plot(_read(smk.input.spline_curves), _read(smk.input.spline_tests), stem(smk.output.splines[0]),
                   formats, dpi)
    bp.calibration_plot(_read(smk.input.calibration), stem(smk.output.calibration[0]), formats, dpi,
                        event=words["event"])
    bp.cif_plot(_read(smk.input.cif), stem(smk.output.cif[0]), formats, dpi, level_order=order,
                xlabel=words["time_axis"])


run_step(snakemake, main)  # noqa: F821
