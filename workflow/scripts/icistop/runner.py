"""Run a workflow step from a Snakemake ``script:`` with user-facing errors instead of tracebacks.

:func:`run_step` sends logging to the rule's log file. A :class:`~icistop.issues.DataError` (bad input)
or :class:`~icistop.issues.UserError` (e.g. a refused site package) is printed as its plain message; any other exception is printed as one line, with the traceback kept
in the log file for developers. Both exit with status 1, so Snakemake stops the rule and keeps the
outputs of every other rule.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import traceback

from icistop.data.issues import DataError, UserError


def log_path(snakemake, name: str | None = None) -> str | None:
    logs = snakemake.log
    if name and hasattr(logs, name):
        return getattr(logs, name)
    return logs[0] if len(logs) else None


def run_step(snakemake, main, log_name: str | None = "log") -> None:
    path = log_path(snakemake, log_name)
    handlers = [logging.FileHandler(path, mode="w")] if path else [logging.StreamHandler(sys.stderr)]
    logging.basicConfig(level=logging.INFO, handlers=handlers, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log = logging.getLogger(snakemake.rule)
    try:
        main(snakemake)
        _test_delay(snakemake.rule)
    except (DataError, UserError) as exc:
        log.error("%s", exc)
        sys.stderr.write(f"\nERROR in rule {snakemake.rule}: {exc}\n")
        if path:
            sys.stderr.write(f"(details: {path})\n")
        sys.exit(1)
    except Exception as exc:  # unexpected: one line for the user, traceback in the log
        log.error("unexpected error\n%s", traceback.format_exc())
        sys.stderr.write(f"\nERROR in rule {snakemake.rule}: {type(exc).__name__}: {exc}\n")
        if path:
            sys.stderr.write(f"(traceback in {path})\n")
        sys.exit(1)


def _test_delay(rule: str) -> None:
    """Test hook: sleep after the outputs are written when ICISTOP_TEST_DELAY_RULE names this rule.

    Lets the robustness tests interrupt a job whose outputs are already on disk.
    """
    if os.environ.get("ICISTOP_TEST_DELAY_RULE") == rule:
        time.sleep(float(os.environ.get("ICISTOP_TEST_DELAY", "30")))
