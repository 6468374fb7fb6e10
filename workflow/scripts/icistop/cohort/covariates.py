"""Derived covariates (config ``covariates.derived``; declared extra columns are checked in
``icistop.data.contract``).

- Derived covariates (``covariates.derived``), computed once on the endpoints table (one row per treated
  patient) in the order given, so a derived column can feed a later one:
  ``threshold`` labels[1] when source >= cutoff, labels[0] below, unknown when the source is missing;
  ``log2p1`` log2(x + 1) (x > -1); ``log`` / ``log2`` (x > 0); ``standardize`` (x - mean) / SD with the
  mean and the sample SD (n - 1) of the treated cohort's known values; ``merge`` maps categories.
  Values outside a transform's domain become missing and are counted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TRANSFORMS = ("threshold", "log2p1", "log", "log2", "standardize", "merge")


def _numeric(values: pd.Series, name: str, source: str) -> pd.Series:
    x = pd.to_numeric(values, errors="coerce")
    if values.notna().sum() and x.notna().sum() == 0:
        raise ValueError(f"derived covariate {name}: source column {source!r} is not numeric")
    return x.astype(float)


def derive_one(frame: pd.DataFrame, spec: dict) -> tuple[pd.Series, dict]:
    """One derived covariate and a record of what was done (n known, n outside the domain)."""
    name, source, transform = spec["name"], spec["source"], spec["transform"]
    if source not in frame.columns:
        raise ValueError(f"derived covariate {name}: source column {source!r} is not in the endpoints table "
                         "(declare it in covariates.extra or list it after the covariate that creates it)")
    raw = frame[source]
    record = {"name": name, "source": source, "transform": transform, "n_source_known": int(raw.notna().sum())}
    if transform == "merge":
        mapping = {str(k): str(v) for k, v in spec["map"].items()}
        out = raw.map(lambda v: v if v is None or (isinstance(v, float) and np.isnan(v)) else mapping.get(str(v), str(v)))
        out = out.astype(object).where(raw.notna(), None)
        record["n_outside_domain"] = 0
        record["n_known"] = int(out.notna().sum())
        return out, record
    x = _numeric(raw, name, source)
    with np.errstate(divide="ignore", invalid="ignore"):
        if transform == "threshold":
            below, above = (str(v) for v in spec["labels"])
            out = pd.Series(np.where(x >= float(spec["cutoff"]), above, below), index=frame.index, dtype=object)
            out = out.where(x.notna(), None)
            domain = x.notna()
        elif transform == "log2p1":
            domain = x > -1
            out = np.log2(x.where(domain) + 1)
        elif transform in ("log", "log2"):
            domain = x > 0
            out = (np.log if transform == "log" else np.log2)(x.where(domain))
        elif transform == "standardize":
            domain = x.notna()
            sd = float(x.std(ddof=1)) if domain.sum() > 1 else float("nan")
            if not np.isfinite(sd) or sd == 0:
                raise ValueError(f"derived covariate {name}: {source!r} has no spread (SD is 0 or undefined)")
            record.update(mean=float(x.mean()), sd=sd)
            out = (x - x.mean()) / sd
        else:
            raise ValueError(f"derived covariate {name}: unknown transform {transform!r}; one of {TRANSFORMS}")
    record["n_outside_domain"] = int((x.notna() & ~domain).sum())
    record["n_known"] = int(pd.Series(out).notna().sum())
    return out, record


def derive_covariates(frame: pd.DataFrame, derived: list[dict] | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``frame`` with the derived covariates appended, and one record per covariate."""
    out = frame.copy()
    records = []
    for spec in derived or []:
        if spec["name"] in out.columns:
            raise ValueError(f"derived covariate {spec['name']}: a column of that name already exists; choose another name")
        out[spec["name"]], record = derive_one(out, spec)
        records.append(record)
    columns = ["name", "source", "transform", "n_source_known", "n_known", "n_outside_domain", "mean", "sd"]
    return out, pd.DataFrame(records).reindex(columns=columns)


def describe_derived(spec: dict) -> str:
    """Methods sentence of one derived covariate, e.g. 'tmb_high: TMB >= 20 mut/Mb (Samstein et al. 2019)'."""
    source, unit = spec["source"], (" " + spec["unit"]) if spec.get("unit") else ""
    t = spec["transform"]
    if t == "threshold":
        below, above = spec["labels"]
        what = (f"{source} \u2265 {float(spec['cutoff']):g}{unit} ('{above}') versus < {float(spec['cutoff']):g}"
                f"{unit} ('{below}')")
    elif t == "log2p1":
        what = f"log2({source} + 1)"
    elif t in ("log", "log2"):
        what = f"{t}({source})"
    elif t == "standardize":
        what = f"{source} standardised to mean 0 and SD 1 over the treated cohort (HR per SD)"
    else:
        pairs = ", ".join(f"{k} \u2192 {v}" for k, v in spec["map"].items())
        what = f"{source} with categories merged ({pairs})"
    cite = f", as in {spec['citation']}" if spec.get("citation") else ""
    return f"{spec['name']}: {what}{cite}"
