"""Biomarker analysis populations and their endpoints (plain config handling, no data).

- ``post_stop``: the stop cohort, time from the stop date; ``from_start``: every treated patient, time
  from the first ICI dose. The endpoint of each (pfs or os) comes from ``biomarkers.endpoint``.
- :func:`population_config`: the ``biomarkers`` config of one population (its markers and covariates).

Kept free of numpy / pandas / scipy so that the rule files (workflow/rules/common.smk) import it at
start-up without paying for the statistics stack.
"""

from __future__ import annotations

POPULATIONS = ("post_stop", "from_start")
POPULATION_TITLES = {"post_stop": "after stopping (stop cohort, time from the stop)",
                     "from_start": "from the ICI start (all treated patients, time from the first dose)"}
# population -> endpoint -> (time, event, cause) columns of the endpoints table (cause None: the event itself)
ENDPOINT_COLUMNS = {
    ("post_stop", "pfs"): ("stop_pfs_time", "stop_pfs_event", "stop_pfs_cause"),
    ("post_stop", "os"): ("stop_os_time", "stop_os_event", None),
    ("from_start", "pfs"): ("pfs_time", "pfs_event", "pfs_cause"),
    ("from_start", "os"): ("os_time", "os_event", None),
}


def population_text(population: str, endpoint: str = "pfs") -> dict:
    """Words for tables and figures of a population: endpoint (PFS/OS), survival label, time axis, origin
    and the event."""
    pfs = endpoint == "pfs"
    stop = population == "post_stop"
    return {"endpoint": "PFS" if pfs else "OS",
            "survival": "Progression-free survival" if pfs else "Overall survival",
            "time_axis": "Months since stopping ICI" if stop else "Months since the ICI start",
            "origin": "after stopping" if stop else "from the ICI start",
            "since": "after the stop" if stop else "after the ICI start",
            "event": "progression or death" if pfs else "death",
            "population": POPULATION_TITLES[population]}


def population_endpoint(cfg: dict, population: str) -> str:
    """Endpoint (pfs or os) of a population from the ``biomarkers`` config's ``endpoint`` (default pfs)."""
    endpoint = cfg.get("endpoint") or {}
    return str(endpoint.get(population, "pfs")) if isinstance(endpoint, dict) else str(endpoint)


def population_markers(markers: list[dict], population: str) -> list[dict]:
    """The marker entries analysed in a population (a marker's ``populations``, default all)."""
    return [m for m in markers if population in (m.get("populations") or POPULATIONS)]


def population_config(cfg: dict, population: str) -> dict:
    """The ``biomarkers`` config of one population: the markers analysed there (marker ``populations``,
    default all), multivariable covariates restricted to them, and ``population`` / ``population_endpoint``
    (pfs or os, from ``endpoint``)."""
    if population not in POPULATIONS:
        raise ValueError(f"unknown biomarker population {population!r}; one of {POPULATIONS}")
    out = {**cfg, "population": population, "population_endpoint": population_endpoint(cfg, population)}
    if "markers" in cfg:
        out["markers"] = population_markers(cfg["markers"], population)
        names = {m["name"] for m in out["markers"]}
        if "multivariable" in cfg:
            covs = [c for c in (cfg["multivariable"] or {}).get("covariates", []) if c in names]
            out["multivariable"] = {**cfg["multivariable"], "covariates": covs}
    return out


def params_config(params) -> dict:
    """The ``biomarkers`` config of the rule's population as a dict from a Snakemake ``params`` object
    (params named like the config keys each rule uses, plus ``population``)."""
    cfg = {k: v for k, v in params.items()}
    return population_config(cfg, cfg.get("population", "post_stop"))
