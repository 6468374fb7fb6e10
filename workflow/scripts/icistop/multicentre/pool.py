"""Read, check and pool site packages (:mod:`icistop.multicentre.package`).

A package is refused with a message naming it when its manifest is missing or malformed, a file's
SHA-256 differs from the manifest (changed after it was written), or it was written by another package
format. Packages are pooled only when they agree on the workflow's major version, the time-bin width and
the analysis settings (config fingerprint); otherwise the message names both packages and what differs.

Pooled analyses from the shared counts (equal to the patient-level analysis of all sites' binned data):
Kaplan-Meier per endpoint, grouping and level, survival at the landmarks, log-rank tests without and
with site strata, univariable Cox models without and with site strata, per-site curves with a log-rank
test across sites and a site-by-group interaction test (likelihood ratio, Cox); the horizon tables as a
pooled Fisher test and a site-stratified Mantel-Haenszel analysis; the sites' continuation estimates by
inverse-variance meta-analysis (:mod:`icistop.stats.meta`).
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import chi2

from icistop.data.issues import UserError
from icistop.multicentre.aggregates import add_counts
from icistop.multicentre.package import ALL, FILES, PACKAGE_FORMAT, GROUP_SEP, LEVEL_SEP, OTHER
from icistop.multicentre.pooled import cox_from_counts, km_from_counts, logrank_from_counts
from icistop.stats.fisher import RxcTooLarge, fisher_test
from icistop.stats.km import km_at
from icistop.stats.mantelhaen import mantelhaen

MANIFEST_KEYS = ("package_format", "workflow", "workflow_version", "site", "bin_width_months", "config_fingerprint",
                 "settings", "disclosure", "files")


class PackageError(UserError):
    """A site package that cannot be used (named in the message)."""


@dataclass
class SitePackage:
    source: str
    manifest: dict
    tables: dict

    @property
    def site(self) -> str:
        return str(self.manifest["site"])


def _read_members(path: Path) -> dict[str, bytes]:
    if path.is_dir():
        return {p.name: p.read_bytes() for p in path.iterdir() if p.is_file()}
    if path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            return {Path(n).name: z.read(n) for n in z.namelist() if not n.endswith("/")}
    raise PackageError(f"site package {path}: not found (expected a package folder or .zip)")


def read_package(path) -> SitePackage:
    """Read a package folder or zip and verify its manifest and checksums."""
    import hashlib

    path = Path(path)
    members = _read_members(path)
    if "manifest.json" not in members:
        raise PackageError(f"site package {path}: no manifest.json")
    try:
        manifest = json.loads(members["manifest.json"])
    except json.JSONDecodeError as exc:
        raise PackageError(f"site package {path}: manifest.json is not valid JSON ({exc})") from None
    missing = [k for k in MANIFEST_KEYS if k not in manifest]
    if missing:
        raise PackageError(f"site package {path}: manifest.json lacks {missing}")
    if manifest["package_format"] != PACKAGE_FORMAT:
        raise PackageError(f"site package {path}: package format {manifest['package_format']!r}, this workflow reads "
                           f"format {PACKAGE_FORMAT}")
    tables = {}
    for name in FILES:
        if name not in manifest["files"] or name not in members:
            raise PackageError(f"site package {path}: {name} missing")
        digest = hashlib.sha256(members[name]).hexdigest()
        if digest != manifest["files"][name]:
            raise PackageError(f"site package {path}: checksum mismatch for {name} (sha256 {digest[:12]}..., "
                               f"manifest {str(manifest['files'][name])[:12]}...): the file was changed after the "
                               "package was written")
        tables[name] = pd.read_csv(io.BytesIO(members[name]), sep="\t", dtype={"level": str, "grouping": str})
    return SitePackage(str(path), manifest, tables)


def _major(version: str) -> str:
    return str(version).split(".")[0]


def check_compatible(packages: list[SitePackage]) -> None:
    """Raise :class:`PackageError` naming two packages that cannot be pooled, and why."""
    if not packages:
        raise PackageError("no site packages to pool")
    first = packages[0]
    seen = {}
    for p in packages:
        if p.site in seen:
            raise PackageError(f"site packages {seen[p.site]} and {p.source} both name site {p.site!r}; each site "
                               "needs its own pseudonym (config multicentre.site)")
        seen[p.site] = p.source
        for key, what, get in (("workflow_version", "workflow major version", lambda m: _major(m["workflow_version"])),
                               ("bin_width_months", "time-bin width (months)", lambda m: float(m["bin_width_months"])),
                               ("config_fingerprint", "analysis settings", lambda m: m["config_fingerprint"])):
            a, b = get(first.manifest), get(p.manifest)
            if a != b:
                detail = ""
                if key == "config_fingerprint":
                    sa, sb = first.manifest["settings"], p.manifest["settings"]
                    diff = sorted(k for k in set(sa) | set(sb) if sa.get(k) != sb.get(k))
                    detail = f" (differing: {diff})"
                    a, b = str(a)[:12], str(b)[:12]
                raise PackageError(f"site packages {first.source} and {p.source} cannot be pooled: {what} {a} vs {b}"
                                   f"{detail}")


def survival_counts(packages: list[SitePackage]) -> pd.DataFrame:
    """All sites' survival counts with a ``site`` column."""
    return pd.concat([p.tables["survival_counts.tsv"].assign(site=p.site) for p in packages], ignore_index=True)


def _split_levels(counts: pd.DataFrame, grouping: str) -> pd.DataFrame:
    cols = grouping.split(GROUP_SEP)
    parts = counts["level"].str.split(LEVEL_SEP, expand=True, regex=False)
    return counts.assign(**{c: parts[i] for i, c in enumerate(cols)})


def _reference(levels, preferred) -> str | None:
    levels = list(levels)
    return preferred if preferred in levels else None


def pooled_survival(packages: list[SitePackage]) -> dict[str, pd.DataFrame]:
    """Pooled KM curves and landmark survival, log-rank and Cox (without / with site strata), per-site
    curves with a log-rank across sites and the site-by-group interaction test."""
    settings = packages[0].manifest["settings"]
    landmarks = [float(x) for x in settings["landmarks"]]
    conf = float(settings["conf_level"])
    refs = {**{m["name"]: m["reference"] for m in settings.get("markers", []) if m.get("reference") is not None},
            **settings.get("reference_levels", {})}
    counts = survival_counts(packages)
    curves, marks, lr, cox, site_curves, het = [], [], [], [], [], []
    for (endpoint, grouping), c in counts.groupby(["endpoint", "grouping"], sort=False):
        pooled = add_counts([c.drop(columns="site")], ["endpoint", "grouping", "level"])
        km = km_from_counts(pooled.drop(columns=["endpoint", "grouping"]), "level", conf_level=conf)
        curves.append(km.assign(endpoint=endpoint, grouping=grouping))
        marks.append(km_at(km, landmarks).assign(endpoint=endpoint, grouping=grouping))
        n_sites = c["site"].nunique()
        if grouping == ALL:
            by_site = km_from_counts(c.drop(columns=["endpoint", "grouping", "level"]), "site", conf_level=conf)
            site_curves.append(by_site.assign(endpoint=endpoint))
            if n_sites > 1:
                t = logrank_from_counts(c, "site")
                het.append({"endpoint": endpoint, "grouping": ALL, "test": "log-rank across sites", "chisq": t.chisq,
                            "df": t.df, "p": t.p})
            continue
        if GROUP_SEP in grouping:  # a covariate pattern: one multivariable Cox model
            cox += [pattern_cox(c, grouping, refs, strata, conf).assign(endpoint=endpoint)
                    for strata in (None, "site") if not (strata and n_sites < 2)]
            continue
        levels = sorted(c["level"].unique())
        if len(levels) < 2:
            continue
        for strata in (None, "site"):
            if strata and n_sites < 2:
                continue
            t = logrank_from_counts(c, "level", strata)
            lr.append({"endpoint": endpoint, "grouping": grouping, "stratified_by_site": bool(strata),
                       "chisq": t.chisq, "df": t.df, "p": t.p})
            fit = cox_from_counts(c, ["level"], {"level": _reference(levels, refs.get(grouping))}, strata=strata,
                                  conf_level=conf)
            tab = fit.table.assign(endpoint=endpoint, grouping=grouping, stratified_by_site=bool(strata),
                                   level=fit.table["term"].str.replace("level=", "", regex=False),
                                   n=fit.n, events=fit.n_events, converged=fit.converged, notes="; ".join(fit.notes))
            cox.append(tab)
        if n_sites > 1:
            het.append({"endpoint": endpoint, "grouping": grouping, **interaction_test(c)})
    return {"km_curves": _concat(curves), "km_landmarks": _concat(marks), "logrank": pd.DataFrame(lr),
            "cox": _concat(cox), "site_km_curves": _concat(site_curves), "site_heterogeneity": pd.DataFrame(het)}


def pattern_cox(c: pd.DataFrame, grouping: str, refs: dict, strata: str | None, conf: float) -> pd.DataFrame:
    """Multivariable Cox model of the covariates of a shared pattern (``grouping`` = "a+b"), each
    categorical with its configured reference level (else the first)."""
    cols = grouping.split(GROUP_SEP)
    d = _split_levels(c, grouping)
    cat = {col: _reference(d[col].unique(), refs.get(col)) for col in cols}
    fit = cox_from_counts(d, cols, cat, strata=strata, conf_level=conf)
    return fit.table.assign(grouping=grouping, stratified_by_site=bool(strata), level=fit.table["term"], n=fit.n,
                            events=fit.n_events, converged=fit.converged, notes="; ".join(fit.notes))


def interaction_test(c: pd.DataFrame) -> dict:
    """Does the effect of the grouping differ between sites? Likelihood-ratio test of a Cox model with
    site-specific group effects (equivalently: one Cox model per site, log-likelihoods summed) against
    site-stratified common group effects; df = sum over sites of (levels - 1) - (pooled levels - 1)."""
    main = cox_from_counts(c, ["level"], {"level": None}, strata="site")
    fits, df = [main], 1 - c["level"].nunique()
    for _, s in c.groupby("site"):
        if s["level"].nunique() > 1:
            fits.append(cox_from_counts(s, ["level"], {"level": None}))
            df += s["level"].nunique() - 1
        else:  # one level at this site: no group effect to estimate there
            fits.append(cox_from_counts(s, []))
    stat = max(0.0, 2 * (sum(f.loglik for f in fits[1:]) - main.loglik))
    out = {"test": "site x group interaction (Cox likelihood ratio, site-stratified)", "chisq": stat, "df": int(df),
           "p": float(chi2.sf(stat, df)) if df > 0 else np.nan, "estimable": True, "reason": ""}
    if df <= 0:
        out.update(estimable=False, reason="no site has two levels beyond the pooled ones")
    elif not all(f.converged and not f.notes for f in fits):
        out.update(estimable=False, reason="a level without events at a site (monotone likelihood): the maximised "
                                           "log-likelihoods, and so the test, are not defined")
    return out


def _concat(frames) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def pooled_horizon(packages: list[SitePackage], conf_level: float = 0.95) -> pd.DataFrame:
    """Per marker: Fisher's test of the summed table and, for two-level markers, the site-stratified
    Mantel-Haenszel odds ratio (asymptotic and exact conditional)."""
    tabs = pd.concat([p.tables["horizon_tables.tsv"].assign(site=p.site) for p in packages], ignore_index=True)
    rows = []
    for marker, t in tabs.groupby("marker", sort=False):
        summed = t.groupby("level")[["recurred", "not_recurred"]].sum()
        row = {"marker": marker, "levels": " / ".join(summed.index), "n": int(summed.to_numpy().sum()),
               "recurred": int(summed["recurred"].sum()), "n_sites": int(t["site"].nunique())}
        if len(summed) < 2:
            rows.append({**row, "note": "a single level"})
            continue
        try:
            f = fisher_test(summed.to_numpy(), conf_level=conf_level)
            row.update(fisher_p=f.p_value, fisher_or=f.odds_ratio, fisher_or_low=f.ci_low, fisher_or_high=f.ci_high)
        except RxcTooLarge:
            row["note"] = "Fisher r x c too large to enumerate"
        if len(summed) == 2 and OTHER not in summed.index:
            levels = list(summed.index)
            strata = []
            for _, s in t.groupby("site"):
                cells = s.set_index("level")[["recurred", "not_recurred"]].reindex(levels).fillna(0).to_numpy()
                if cells.sum() >= 2:
                    strata.append(cells)
            if len(strata) >= 1:
                a, e = mantelhaen(strata, conf_level=conf_level), mantelhaen(strata, exact=True, conf_level=conf_level)
                row.update(mh_or=a.odds_ratio, mh_or_low=a.ci_low, mh_or_high=a.ci_high, mh_p=a.p_value,
                           exact_or=e.odds_ratio, exact_or_low=e.ci_low, exact_or_high=e.ci_high, exact_p=e.p_value,
                           or_of="recurrence, " + f"{levels[0]} vs {levels[1]}")
        rows.append(row)
    return pd.DataFrame(rows)


def packages_table(packages: list[SitePackage]) -> pd.DataFrame:
    """One row per package: site, source, sizes, versions, checksums and the disclosure actions taken."""
    rows = []
    for p in packages:
        m = p.manifest
        seen = {}
        for a in m["disclosure"].get("actions", []):  # one entry per grouping / marker, action and levels
            key = (a.get("grouping") or a.get("marker") or a.get("endpoint"), a["action"].split(" (")[0],
                   ", ".join(map(str, a.get("levels", []))))
            seen.setdefault(key, None)
        acts = "; ".join(f"{name}: {levels} {action}" if levels else f"{name}: {action}"
                         for name, action, levels in seen)
        rows.append({"site": p.site, "source": Path(p.source).name, "n_treated": m.get("cohort_sizes", {}).get("treated"),
                     "n_stop_cohort": m.get("cohort_sizes", {}).get("stop_cohort"),
                     "workflow_version": m["workflow_version"], "bin_width_months": m["bin_width_months"],
                     "min_cell": m["disclosure"].get("min_cell"), "config_fingerprint": m["config_fingerprint"][:16],
                     **{f"sha256_{n.split('.')[0]}": m["files"][n] for n in FILES},
                     "disclosure_actions": acts})
    return pd.DataFrame(rows)


def read_packages(paths) -> list[SitePackage]:
    """Read every package and check that they can be pooled."""
    packages = [read_package(p) for p in paths]
    check_compatible(packages)
    return packages


META_ESTIMANDS = {"loghr": "Hazard ratio, continuing vs stopping (log scale)",
                  "rmst_diff": "RMST difference, continuing - stopping (months)"}


def _meta_label(estimand: str) -> str | None:
    if estimand in META_ESTIMANDS:
        return META_ESTIMANDS[estimand]
    if estimand.startswith("diff_"):
        return f"Difference in survival at {estimand[5:]} months, continuing - stopping"
    return None


def continuation_meta(packages: list[SitePackage], method: str = "REML", hartung_knapp: bool = False,
                      conf_level: float = 0.95) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Inverse-variance meta-analysis (:func:`icistop.stats.meta.meta_table`) of the sites' continuation
    estimates per outcome and estimand (differences of survival, RMST difference, log HR): returns the
    pooled table and the per-site rows used (weights). A site estimate its own report marks as not
    estimable, or without a positive finite SE, is left out and counted."""
    from icistop.stats.meta import meta_study_table, meta_table

    rows = []
    for p in packages:
        t = p.tables["continuation_estimates.tsv"]
        if t.empty:
            continue
        rows.append(t.assign(site=p.site))
    site_cols = ["outcome", "estimand", "site", "estimate", "se", "estimable", "events_A", "events_B", "used",
                 "weight_fixed", "weight_random"]
    cols_meta = ["outcome", "estimand", "label", "n_left_out"]
    if not rows:
        return pd.DataFrame(columns=cols_meta), pd.DataFrame(columns=site_cols)
    est = pd.concat(rows, ignore_index=True)
    est["label"] = est["estimand"].map(_meta_label)
    est = est[est["label"].notna()].copy()
    est["estimable"] = est["estimable"].astype(str).str.lower().isin(["true", "1"])
    est["used"] = est["estimable"] & np.isfinite(est["estimate"]) & np.isfinite(est["se"]) & (est["se"] > 0)
    use = est[est["used"]]
    sites = est.assign(weight_fixed=np.nan, weight_random=np.nan)
    if use.empty:
        return pd.DataFrame(columns=cols_meta), sites.reindex(columns=site_cols)
    kw = dict(estimate="estimate", se="se", by=["outcome", "estimand"], label="site", method=method,
              hartung_knapp=hartung_knapp, conf_level=conf_level)
    meta = meta_table(use, **kw)
    meta.insert(2, "label", meta["estimand"].map(_meta_label))
    left_out = (~est["used"]).groupby([est["outcome"], est["estimand"]]).sum().rename("n_left_out").reset_index()
    meta = meta.merge(left_out, on=["outcome", "estimand"], how="left")
    weights = meta_study_table(use, **kw).rename(columns={"label": "site"})[["outcome", "estimand", "site",
                                                                              "weight_fixed", "weight_random"]]
    sites = est.merge(weights, on=["outcome", "estimand", "site"], how="left")
    return meta, sites.reindex(columns=site_cols)
