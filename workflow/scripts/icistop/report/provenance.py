"""Provenance of a run: workflow version and git commit, configuration, input files (SHA-256, rows),
software versions, run date and data cut-off."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path

import yaml

PACKAGES = ["snakemake", "pandas", "numpy", "scipy", "lifelines", "statsmodels", "matplotlib", "jinja2", "pyarrow"]


def git_state(directory) -> dict:
    """Commit and dirty flag of the git checkout containing ``directory`` (None when not a checkout)."""
    def run(*args):
        return subprocess.run(["git", *args], cwd=directory, capture_output=True, text=True, timeout=20)

    try:
        head = run("rev-parse", "HEAD")
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    if head.returncode != 0:
        return {"commit": None, "dirty": None}
    status = run("status", "--porcelain", "--untracked-files=no")
    return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip()) if status.returncode == 0 else None}


def software_versions(packages=PACKAGES) -> list[dict]:
    rows = [{"name": "python", "version": platform.python_version()}]
    for name in packages:
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            version = "not installed"
        rows.append({"name": name, "version": version})
    return rows


def input_files(summary: dict) -> list[dict]:
    """Input tables from the validation summary (file name, SHA-256, rows, columns)."""
    rows = []
    for name, info in (summary or {}).get("tables", {}).items():
        rows.append({"table": name, "file": info.get("file"), "sha256": info.get("sha256"), "rows": info.get("rows"),
                     "columns": len(info.get("columns") or [])})
    return rows


def config_yaml(config: dict) -> str:
    return yaml.safe_dump(config, sort_keys=False, default_flow_style=None, width=100, allow_unicode=True)


def run_time(now: dt.datetime | None = None) -> dt.datetime:
    """``now``, else SOURCE_DATE_EPOCH (reproducible builds fix the run date), else the current UTC time."""
    if now is not None:
        return now
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc) if epoch else dt.datetime.now(dt.timezone.utc)


def provenance(config: dict, summary: dict, cutoff: dict, version: str, workflow_dir,
               show_identifiers: bool, now: dt.datetime | None = None) -> dict:
    now = run_time(now)
    git = git_state(workflow_dir)
    cut = (cutoff or {}).get("data_cutoff")
    configured = bool((cutoff or {}).get("configured"))
    if cut and not (configured or show_identifiers):
        cut_text = f"{cut[:7]} (latest date in the data; the day is hidden, report.show_identifiers shows it)"
    elif cut:
        cut_text = cut + (" (configured)" if configured else " (latest date in the data)")
    else:
        cut_text = "unknown"
    return {
        "version": version,
        "git_commit": git["commit"] or "not available (not a git checkout)",
        "git_dirty": git["dirty"],
        "run_date": now.strftime("%Y-%m-%d %H:%M UTC"),
        "data_cutoff": cut_text,
        "data_dir": (summary or {}).get("data_dir", config.get("data_dir")),
        "inputs": input_files(summary),
        "software": software_versions(),
        "platform": f"{platform.system()} {platform.machine()}",
        "config_yaml": config_yaml(config),
        "workflow_dir": str(Path(workflow_dir)),
    }
