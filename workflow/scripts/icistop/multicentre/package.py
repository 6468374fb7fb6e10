"""A site package: the aggregates one centre shares, checked for disclosure before it is written.

Contents (all tab-separated, plus ``manifest.json`` with SHA-256 checksums):

- ``survival_counts.tsv``: per endpoint (PFS / OS after stopping, from ICI start), grouping (``all``, each
  configured grouping, for PFS after stopping also each binary or categorical biomarker; several columns
  joined by ``+`` for a Cox covariate pattern) and level (values joined by ``|``), per time bin: events and
  censorings;
- ``horizon_tables.tsv``: the Simmons-style table per categorical marker: per level, the patients who
  recurred by the horizon and those followed past it without recurrence;
- ``continuation_estimates.tsv``: the site's own clone-censor-weight estimates with their bootstrap SEs
  (for a meta-analysis across sites).

Disclosure rules (``multicentre.disclosure``): every shared level / pattern has at least ``min_cell``
patients (smaller levels are merged into ``other`` or left out, ``small_levels``; the manifest lists
which); no identifier, date or free-text column; times only as ends of bins of the configured width. A
package that fails a check is not written (:class:`DisclosureError`). Counts of 1-4 events in a time
bin remain (see docs/multicentre.md).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from icistop import __version__
from icistop.biomarkers.horizon import horizon_outcome
from icistop.data.issues import UserError
from icistop.data.validation import sha256
from icistop.multicentre.aggregates import bin_times, survival_counts
from icistop.multicentre.settings import config_fingerprint
from icistop.survival.analysis import ENDPOINTS, endpoint_data, unavailable_reason

PACKAGE_FORMAT = 1
OTHER = "other"
ALL = "all"
LEVEL_SEP = "|"
GROUP_SEP = "+"
FILES = ("survival_counts.tsv", "horizon_tables.tsv", "continuation_estimates.tsv")
CONTINUATION_COLUMNS = ["outcome", "estimand", "estimate", "se", "lower", "upper", "ci_method", "estimable",
                        "events_A", "events_B"]
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class DisclosureError(UserError):
    """The package would disclose more than the rules allow; nothing was written."""


def _pattern(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    values = [frame[c].astype(str) for c in columns]
    out = values[0]
    for v in values[1:]:
        out = out + LEVEL_SEP + v
    return out


def _known(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    keep = np.ones(len(frame), bool)
    for c in columns:
        keep &= (frame[c].notna() & (frame[c].astype(str) != "unknown")).to_numpy()
    return frame[keep]


def apply_min_cell(levels: pd.Series, k: int, policy: str) -> tuple[pd.Series, list[dict]]:
    """Levels with fewer than ``k`` patients merged into ``other`` (``policy = "merge"``; dropped when
    ``other`` is still below k) or dropped (``"drop"``). Returns the new levels (NaN = left out) and
    what was done."""
    counts = levels.value_counts()
    small = [lv for lv, n in counts.items() if n < k]
    out = levels.copy()
    if not small:
        return out, []
    if policy == "merge":
        merged = levels.isin(small) | (levels == OTHER)
        if merged.sum() >= k:
            out[merged] = OTHER
            return out, [{"action": "merged into other", "levels": sorted(map(str, small))}]
    out[levels.isin(small)] = np.nan
    return out, [{"action": "left out (fewer than k patients)", "levels": sorted(map(str, small))}]


def survival_count_table(endpoints: pd.DataFrame, groupings: dict, patterns: list[list[str]], width: float,
                         k: int, policy: str) -> tuple[pd.DataFrame, list[dict]]:
    """Events and censorings per endpoint, grouping (``all``, each grouping of the endpoint's origin, each
    Cox covariate pattern) and level, per time bin, with the small-level rule applied."""
    frames, actions = [], []
    for endpoint in ENDPOINTS.values():
        if unavailable_reason(endpoints, endpoint):
            actions.append({"endpoint": endpoint.name, "action": "not shared", "reason": unavailable_reason(endpoints, endpoint)})
            continue
        data = endpoint_data(endpoints, endpoint)
        sets = [[]] + [[g] for g in groupings[endpoint.origin]] + [list(p) for p in patterns
                                                                   if endpoint.origin == "stop"]
        for cols in sets:
            name = GROUP_SEP.join(cols) if cols else ALL
            sub = _known(data, cols)
            level = _pattern(sub, cols) if cols else pd.Series(ALL, index=sub.index)
            if cols:  # a pattern of several covariates cannot be merged into "other": small ones are left out
                level, acts = apply_min_cell(level, k, policy if len(cols) == 1 else "drop")
                actions += [{"endpoint": endpoint.name, "grouping": name, **a} for a in acts]
            elif len(sub) < k:
                actions.append({"endpoint": endpoint.name, "grouping": name, "action": "left out (fewer than k patients)",
                                "levels": [ALL]})
                continue
            sub = sub.assign(_level=level).dropna(subset=["_level"])
            if sub.empty:
                continue
            c = survival_counts(sub, "time", "event", width, by="_level").rename(columns={"_level": "level"})
            c.insert(0, "grouping", name)
            c.insert(0, "endpoint", endpoint.name)
            frames.append(c)
    cols = ["endpoint", "grouping", "level", "time", "n_event", "n_censor"]
    return (pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)), actions


def marker_count_table(analysis_data: pd.DataFrame, markers: list[dict], skip, width: float, k: int, policy: str
                       ) -> tuple[pd.DataFrame, list[dict]]:
    """PFS after stopping (the biomarker stage's endpoint, columns time / event of the analysis data) per
    level of each binary or categorical marker not already a survival grouping: events and censorings per
    time bin (unknown levels left out, the small-level rule applied), for pooled KM, log-rank and Cox."""
    frames, actions = [], []
    for m in markers:
        name = m["name"]
        if m.get("type") == "continuous" or name in skip or name not in analysis_data:
            continue
        sub = _known(analysis_data.dropna(subset=["time", "event"]), [name])
        level, acts = apply_min_cell(sub[name].astype(str), k, policy)
        actions += [{"endpoint": "pfs_after_stop", "grouping": name, **a} for a in acts]
        sub = sub.assign(_level=level).dropna(subset=["_level"])
        if sub["_level"].nunique() < 1:
            continue
        c = survival_counts(sub, "time", "event", width, by="_level").rename(columns={"_level": "level"})
        frames.append(c.assign(endpoint="pfs_after_stop", grouping=name))
    cols = ["endpoint", "grouping", "level", "time", "n_event", "n_censor"]
    return (pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)), actions


def horizon_count_table(analysis_data: pd.DataFrame, markers: list[dict], months: float, event: str, k: int,
                        policy: str) -> tuple[pd.DataFrame, list[dict]]:
    """Per binary / categorical marker and level: recurred by ``months`` after the stop and followed past
    it without (patients not evaluable or with an unknown level left out)."""
    y = horizon_outcome(analysis_data, months, event)
    rows, actions = [], []
    for m in markers:
        if m.get("type") == "continuous" or m["name"] not in analysis_data:
            continue
        v = analysis_data[m["name"]]
        unknown = {str(u) for u in m.get("unknown", [])} | {"unknown"}
        ok = y.notna() & v.notna() & ~v.astype(str).isin(unknown)
        levels, acts = apply_min_cell(v[ok].astype(str), k, policy)
        actions += [{"marker": m["name"], **a} for a in acts]
        yy = y[ok]
        for lv in sorted(levels.dropna().unique()):
            sel = levels == lv
            rows.append({"marker": m["name"], "level": lv, "recurred": int((yy[sel] == 1).sum()),
                         "not_recurred": int((yy[sel] == 0).sum()), "horizon_months": months, "horizon_event": event})
    cols = ["marker", "level", "recurred", "not_recurred", "horizon_months", "horizon_event"]
    return pd.DataFrame(rows, columns=cols), actions


def continuation_table(estimates: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The site's CCW estimates (``ccw_estimates.tsv`` per outcome): estimate, the SE behind its CI, CI."""
    frames = []
    for outcome, est in estimates.items():
        e = (est if "se" in est else est.rename(columns={"boot_se": "se"})).assign(outcome=outcome)
        frames.append(e.reindex(columns=CONTINUATION_COLUMNS))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=CONTINUATION_COLUMNS)


def check_disclosure(tables: dict[str, pd.DataFrame], width: float, k: int, forbidden_columns=()) -> list[str]:
    """Reasons the tables would disclose too much (empty list: they pass)."""
    problems = []
    allowed = {"survival_counts.tsv": {"endpoint", "grouping", "level", "time", "n_event", "n_censor"},
               "horizon_tables.tsv": {"marker", "level", "recurred", "not_recurred", "horizon_months", "horizon_event"},
               "continuation_estimates.tsv": set(CONTINUATION_COLUMNS)}
    for name, t in tables.items():
        extra = set(t.columns) - allowed[name]
        if extra:
            problems.append(f"{name}: columns not allowed in a package: {sorted(extra)}")
        for col in set(t.columns) & set(forbidden_columns):
            problems.append(f"{name}: identifier column {col!r}")
        for col in t.columns:
            if pd.api.types.is_datetime64_any_dtype(t[col]):
                problems.append(f"{name}: date column {col!r}")
            elif t[col].dtype == object and t[col].astype(str).str.contains(ISO_DATE).any():
                problems.append(f"{name}: column {col!r} holds a date-like text")
    sc = tables.get("survival_counts.tsv")
    if sc is not None and len(sc):
        grid = sc["time"].to_numpy(float) / width
        if not np.allclose(grid, np.round(grid), atol=1e-9):
            problems.append("survival_counts.tsv: a time that is not the end of a bin")
        if not np.allclose(bin_times(sc["time"], width), sc["time"]):
            problems.append("survival_counts.tsv: times not on the bin grid")
        n = sc.assign(_n=sc["n_event"] + sc["n_censor"]).groupby(["endpoint", "grouping", "level"])["_n"].sum()
        for (ep, g, lv), v in n[n < k].items():
            problems.append(f"survival_counts.tsv: {ep} / {g} = {lv} has {int(v)} patients (< {k})")
    ht = tables.get("horizon_tables.tsv")
    if ht is not None and len(ht):
        n = ht["recurred"] + ht["not_recurred"]
        for _, r in ht[n < k].iterrows():
            problems.append(f"horizon_tables.tsv: {r['marker']} = {r['level']} has fewer than {k} patients")
    return problems


def build_tables(endpoints: pd.DataFrame, analysis_data: pd.DataFrame | None, continuation: dict[str, pd.DataFrame],
                 multi: dict, settings: dict) -> tuple[dict[str, pd.DataFrame], list[dict]]:
    """The three package tables and the disclosure actions taken (merged / left-out levels).
    ``multi``: the ``multicentre`` config; ``settings``: :func:`icistop.multicentre.settings.pooling_settings`."""
    disc = multi["disclosure"]
    k, policy, width = int(disc["min_cell"]), disc["small_levels"], float(multi["bin_width_months"])
    groupings = {"stop": settings["groupings_after_stop"], "start": settings["groupings_from_start"]}
    surv, actions = survival_count_table(endpoints, groupings, settings["cox_patterns"], width, k, policy)
    if analysis_data is not None and len(analysis_data):
        markers, acts = marker_count_table(analysis_data, settings["markers"], set(settings["groupings_after_stop"]),
                                           width, k, policy)
        surv = pd.concat([surv, markers], ignore_index=True) if len(markers) else surv
        actions += acts
        hz = settings["horizon"]
        horizon, acts = horizon_count_table(analysis_data, settings["markers"], float(hz.get("months", 24)),
                                            hz.get("event", "progression"), k, policy)
        actions += acts
    else:
        horizon = pd.DataFrame(columns=["marker", "level", "recurred", "not_recurred", "horizon_months", "horizon_event"])
    tables = {"survival_counts.tsv": surv, "horizon_tables.tsv": horizon,
              "continuation_estimates.tsv": continuation_table(continuation)}
    return tables, actions


def cohort_sizes(endpoints: pd.DataFrame) -> dict:
    """Patients per analysis cohort (written into the manifest)."""
    return {"treated": int(len(endpoints)), "stop_cohort": int(endpoints["in_stop_cohort"].astype(bool).sum())}


def write_package(out_dir: Path, tables: dict[str, pd.DataFrame], actions: list[dict], multi: dict,
                  fingerprint_settings: dict, sizes: dict) -> dict:
    """Check the tables and write them with ``manifest.json``; raise :class:`DisclosureError` (nothing
    written) when a check fails."""
    disc = multi["disclosure"]
    k, width = int(disc["min_cell"]), float(multi["bin_width_months"])
    problems = check_disclosure(tables, width, k, forbidden_columns=disc.get("identifier_columns", ()))
    if problems:
        raise DisclosureError("site package not written; disclosure check failed:\n  - " + "\n  - ".join(problems))
    small = {n: v for n, v in sizes.items() if 0 < v < k}
    if small:
        raise DisclosureError(f"site package not written; cohorts smaller than min_cell = {k}: {sorted(small)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {}
    for name in FILES:
        path = out_dir / name
        tables[name].to_csv(path, sep="\t", index=False, float_format="%.10g")
        files[name] = sha256(path)
    manifest = {
        "package_format": PACKAGE_FORMAT,
        "workflow": "icistop",
        "workflow_version": __version__,
        "site": multi["site"],
        "bin_width_months": width,
        "config_fingerprint": config_fingerprint(fingerprint_settings),
        "settings": fingerprint_settings,
        "cohort_sizes": sizes,
        "disclosure": {"min_cell": k, "small_levels": disc["small_levels"], "checks": "passed",
                       "actions": actions,
                       "rules": ["no identifiers, dates or free text", f"every shared level has >= {k} patients",
                                 f"times only as ends of {width:g}-month bins"]},
        "files": files,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True, default=str) + "\n")
    return manifest


def zip_package(folder: Path, zip_path: Path) -> None:
    """The package folder as one zip (sorted members, fixed timestamps: the same tables give the same
    bytes)."""
    import zipfile

    folder, zip_path = Path(folder), Path(zip_path)
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for path in sorted(folder.iterdir()):
            info = zipfile.ZipInfo(f"{folder.name}/{path.name}", date_time=(2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, path.read_bytes())
