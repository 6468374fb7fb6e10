"""The analysis settings every site of a multi-centre study must share, and their fingerprint.

Plain config handling (no numpy / pandas), so that the rule files import it at start-up cheaply.
"""

from __future__ import annotations

import hashlib
import json

from icistop.biomarkers.populations import population_config


def pooling_settings(config: dict) -> dict:
    """The settings every site of a study must share for pooling to be exact and the packages to
    describe the same analyses: cohort rules (not the site filter), endpoint conventions, survival
    groupings, landmarks and references, the horizon analysis, the continuation protocol and CI method,
    and the time bins."""
    cohort = {k: v for k, v in config["cohort"].items() if k != "sites"}
    surv, cont, multi = config["survival"], config["continuation"], config["multicentre"]
    bio = population_config(config["biomarkers"], "post_stop")  # the packages share groupings after stopping
    return {
        "bin_width_months": float(multi["bin_width_months"]),
        "cox_patterns": [list(p) for p in multi.get("cox_patterns", [])],
        "cohort": cohort,
        "endpoints": config["endpoints"],
        "derived_covariates": list((config.get("covariates") or {}).get("derived", [])),
        "landmarks": list(surv["landmarks"]),
        "conf_level": float(surv["conf_level"]),
        "groupings_after_stop": list(surv["groupings_after_stop"]),
        "groupings_from_start": list(surv["groupings_from_start"]),
        "reference_levels": dict(surv.get("reference_levels", {})),
        "horizon": dict(bio.get("horizon", {})),
        "markers": [{k: m[k] for k in ("name", "type", "reference", "unknown") if k in m} for m in bio.get("markers", [])],
        "continuation_protocol": cont.get("protocol", {}),
        "continuation_ci_method": cont.get("bootstrap", {}).get("ci_method"),
    }


def config_fingerprint(settings: dict) -> str:
    """SHA-256 of the settings that must agree across sites for the pooled numbers to be exact."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()
