"""Snakemake entry point: CDISC ADaM datasets (ADSL, ADTTE, ADRS) -> data contract v1 (rule import_adam)."""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

from pathlib import Path  # noqa: E402

from icistop.data.adam import import_adam, read_adam_file, write_contract  # noqa: E402
from icistop.data.tableio import write_tsv  # noqa: E402
from icistop.runner import run_step  # noqa: E402


def main(smk):
    paths = {name: smk.input.get(name) for name in ("adsl", "adtte", "adrs")}
    datasets = {name: read_adam_file(path) if path else None for name, path in paths.items()}
    sources = {name: Path(path).name for name, path in paths.items() if path}
    tables, mapping = import_adam(datasets["adsl"], datasets["adtte"], datasets["adrs"],
                                  settings=smk.params.settings, sources=sources)
    write_contract(tables, {Path(path).stem: path for path in smk.output.tables})
    write_tsv(mapping, smk.output.mapping)


run_step(snakemake, main)  # noqa: F821
