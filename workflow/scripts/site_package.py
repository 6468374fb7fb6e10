"""Snakemake entry point: this site's package of disclosure-checked aggregates (rule site_package)."""

import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

import pandas as pd  # noqa: E402

from icistop.multicentre.package import build_tables, cohort_sizes, write_package, zip_package  # noqa: E402
from icistop.runner import run_step  # noqa: E402


def main(smk):
    p = smk.params
    endpoints = pd.read_parquet(smk.input.endpoints)
    analysis = pd.read_parquet(smk.input.analysis_data)
    continuation = {o: pd.read_csv(f, sep="\t") for o, f in zip(p.outcomes, smk.input.continuation)}
    tables, actions = build_tables(endpoints, analysis, continuation, p.multicentre, p.settings)
    folder = Path(smk.output.folder)
    with tempfile.TemporaryDirectory(dir=folder.parent) as tmp:  # checked in full before anything is kept
        staged = Path(tmp) / folder.name
        write_package(staged, tables, actions, p.multicentre, p.settings, cohort_sizes(endpoints))
        zip_package(staged, Path(tmp) / "package.zip")
        if folder.exists():
            shutil.rmtree(folder)
        shutil.move(str(staged), folder)
        shutil.move(str(Path(tmp) / "package.zip"), smk.output.zip)


run_step(snakemake, main)  # noqa: F821
