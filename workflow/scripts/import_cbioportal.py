"""Snakemake entry point: cBioPortal clinical export -> data contract v1 (rule import_cbioportal)."""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

from icistop.data.cbioportal import import_cbioportal  # noqa: E402
from icistop.data.issues import DataError, Issue  # noqa: E402
from icistop.runner import run_step  # noqa: E402


def main(smk):
    clinical = pd.read_csv(smk.input.clinical, sep="\t", comment="#", low_memory=False)
    try:
        tables = import_cbioportal(
            clinical,
            cancer_types=smk.params.cancer_types,
            msi_proxy_tmb=smk.params.msi_proxy_tmb,
            anchor_date=smk.params.anchor_date,
            site_name=smk.params.site_name,
        )
    except ValueError as exc:
        raise DataError([Issue("error", Path(smk.input.clinical).name, None, None, None, str(exc))])
    for path in smk.output.tables:
        tables[Path(path).stem].to_csv(path, index=False)


run_step(snakemake, main)  # noqa: F821
