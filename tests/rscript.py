"""Live-R oracle tests: Rscript or a skip (a failure when CI=true, where the oracle must run)."""

import os
import shutil

import pytest


def require_rscript(what: str) -> str:
    """Path of Rscript; skip the test without it, fail it when the environment variable CI is true."""
    path = shutil.which("Rscript")
    if path:
        return path
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but Rscript is not installed: the R {what} oracle must run in CI")
    pytest.skip(f"Rscript not installed: live {what} comparison skipped (committed R output still checked)")
