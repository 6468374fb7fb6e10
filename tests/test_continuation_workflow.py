"""The sharded bootstrap gives identical results whatever the number of cores (slow)."""

import pytest

from workflow_copy import copy_workflow, snakemake

pytestmark = pytest.mark.slow
TARGET = "results/continuation/pfs/ccw_estimates.tsv"


def test_bootstrap_identical_across_cores(tmp_path):
    outputs = []
    for cores in ("1", "4"):
        work = copy_workflow(tmp_path / f"cores{cores}")
        (work / "boot.yaml").write_text("continuation: {bootstrap: {n_boot: 40, n_shards: 4, seed: 7}}\n")
        snakemake(work, TARGET, "--cores", cores, "--configfile", "boot.yaml")
        outputs.append((work / TARGET).read_bytes())
        replicates = (work / "results/continuation/pfs/bootstrap_replicates.tsv").read_text().splitlines()
        assert len(replicates) == 41  # header + n_boot rows
    assert outputs[0] == outputs[1]
