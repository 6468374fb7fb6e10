"""One run of the workflow on the embedded example per test session, shared by the slow report tests
(tests/test_report_workflow.py and tests/browser/test_report_browser.py import this module as
``browser.report_run`` so they share the cache).

The bootstrap sizes of the continuation and biomarker stages are reduced through an extra config
file (deep-merged by Snakemake) to keep the run short; nothing else changes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from workflow_copy import copy_workflow, snakemake

_RUNS: dict[str, Path] = {}

FAST = {"continuation": {"bootstrap": {"n_boot": 20, "n_shards": 2}},
        "biomarkers": {"discrimination": {"n_boot": 10}}}


def fast_overrides(work: Path) -> dict:
    config = yaml.safe_load((work / "config/config.yaml").read_text())
    return {key: value for key, value in FAST.items() if key in config}


def deep_merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def run(work: Path, overrides: dict | None = None, targets=()) -> None:
    extra = deep_merge(fast_overrides(work), overrides or {})
    args = ["--cores", "2"]
    if extra:
        (work / "test_overrides.yaml").write_text(yaml.safe_dump(extra))
        args += ["--configfile", "config/config.yaml", "test_overrides.yaml"]
    snakemake(work, *targets, *args)  # targets first: --configfile takes every argument after it


def example_run(tmp_path_factory) -> Path:
    """The default run of the example (cached for the session)."""
    if "default" not in _RUNS:
        work = copy_workflow(tmp_path_factory.mktemp("report_example"))
        run(work)
        _RUNS["default"] = work
    return _RUNS["default"]


def variant_run(tmp_path_factory, name: str, overrides: dict) -> Path:
    """A copy of the default run re-run with config overrides (only affected rules rerun)."""
    if name not in _RUNS:
        base = example_run(tmp_path_factory)
        work = tmp_path_factory.mktemp(f"report_{name}")
        shutil.copytree(base, work, dirs_exist_ok=True, symlinks=True)
        lock = work / ".snakemake/locks"
        if lock.exists():
            shutil.rmtree(lock)
        run(work, overrides)
        _RUNS[name] = work
    return _RUNS[name]


def stage_included(work: Path, stage: str) -> bool:
    return f"workflow/rules/{stage}.smk" in (work / "Snakefile").read_text()
