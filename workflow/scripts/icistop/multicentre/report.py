"""Sections of the pooled multi-centre report (template ``pooled_report.html.j2``).

Every number comes from the pooled result tables (``results/pooled/*.tsv``); the page shows no patient
row, identifier or date (the packages hold none). Sections: the contributing packages and disclosure
rules, pooled survival (Kaplan-Meier, landmarks, log-rank, Cox), between-site heterogeneity, the horizon
tables and the meta-analysis of the sites' continuation estimates.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from icistop.labels import label
from icistop.plots.common import save_figure
from icistop.report.context import add_figure, add_table, new_section, table_spec
from icistop.report.figures import curve_figure, forest_figure
from icistop.report.format import NE, estimate_ci, months_list, num, plural, pvalue
from icistop.report.render import data_uri
from icistop.survival.analysis import ENDPOINTS

AFTER_STOP = ("pfs_after_stop", "os_after_stop")


def _figure(section: dict, name: str, fig, caption: str, alt: str, number: int) -> None:
    """Embed ``fig`` as an SVG data URI (the pooled report is one self-contained file)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.svg"
        save_figure(fig, [path])
        uri = data_uri(path)
    add_figure(section, {"id": name, "caption": caption, "alt": alt, "svg": "", "png": "", "size": "normal",
                         "data_uri": uri, "number": number})


def _table(section: dict, name: str, caption: str, frame: pd.DataFrame, source: str, **kw) -> None:
    """A display table whose numbers come from ``results/pooled/<source>.tsv`` (named under the table)."""
    spec = table_spec(name, caption, frame, **kw)
    spec["tsv"] = f"results/pooled/{source}.tsv"
    add_table(section, spec)


def packages_section(packages: pd.DataFrame) -> dict:
    sec = new_section("packages", "Contributing site packages")
    n_sites = len(packages)
    width = packages["bin_width_months"].iloc[0] if n_sites else np.nan
    sec["paragraphs"].append(
        f"{plural(n_sites, 'site package')} pooled ({int(packages['n_treated'].sum())} treated patients, "
        f"{int(packages['n_stop_cohort'].sum())} in the stop cohorts). Each package holds only aggregates: events and "
        f"censorings per {num(width, 1)}-month time bin per group or covariate pattern, the horizon tables and the "
        "site's own continuation estimates. Every file's SHA-256 was checked against the package manifest, and all "
        "packages share the workflow's major version, the bin width and the analysis settings.")
    shown = pd.DataFrame({
        "Site": packages["site"], "Treated": packages["n_treated"], "Stop cohort": packages["n_stop_cohort"],
        "Workflow": packages["workflow_version"], "Min. patients per shared level": packages["min_cell"],
        "Disclosure actions": packages["disclosure_actions"].fillna("").replace("", "none"),
        "Counts SHA-256": packages["sha256_survival_counts"].str[:16] + "...",
    })
    _table(sec, "pooled_packages", "Site packages", shown, "packages", numeric=("Treated", "Stop cohort"),
                              notes=["Levels with fewer patients than the site's minimum were merged into 'other' or "
                                     "left out by that site; pooled analyses by such a grouping use the shared levels."])
    return sec


def _landmark_rows(marks: pd.DataFrame, curves: pd.DataFrame, landmarks) -> pd.DataFrame:
    patients = curves.groupby(["endpoint", "grouping", "group"], sort=False)["n_risk"].max()
    rows = []
    for (endpoint, grouping, level), g in marks.groupby(["endpoint", "grouping", "group"], sort=False):
        row = {"Endpoint": ENDPOINTS[endpoint].label, "Grouping": label(grouping), "Level": label(level),
               "Patients": int(patients.get((endpoint, grouping, level), 0))}
        for t in landmarks:
            r = g[np.isclose(g["time"], t)]
            row[f"{t:g} months"] = NE if r.empty else estimate_ci(r["surv"].iloc[0], r["lower"].iloc[0],
                                                                   r["upper"].iloc[0], "pct")
        rows.append(row)
    return pd.DataFrame(rows)


def merged_note(packages: pd.DataFrame) -> list[str]:
    """A note when some site merged small levels into 'other' (then 'other' differs between sites)."""
    merged = sorted({part.split(":")[0].strip() for acts in packages["disclosure_actions"].fillna("")
                     for part in acts.split("; ") if "merged into other" in part})
    if not merged:
        return []
    return [f"Some sites merged small levels into 'other' ({', '.join(label(m) for m in merged)}): the pooled 'other' "
            "level mixes different categories, and between-site comparisons by these groupings partly reflect that."]


def survival_section(t: dict, landmarks, number: int) -> tuple[dict, int]:
    sec = new_section("survival", "Pooled survival after stopping ICI")
    notes = merged_note(t["packages"])
    curves = t["km_curves"]
    overall = curves[(curves["grouping"] == "all") & curves["endpoint"].isin(AFTER_STOP)].copy()
    if overall.empty:
        sec.update(status="empty", reason="No after-stop endpoint was shared by the sites.")
        return sec, number
    overall["group"] = overall["endpoint"].map(lambda e: ENDPOINTS[e].label)
    number += 1
    _figure(sec, "pooled_km_after_stop", curve_figure(overall, title="Pooled PFS and OS after stopping ICI"),
            "Pooled Kaplan-Meier estimates of PFS and OS after stopping ICI without progression, with 95% "
            "pointwise log-log confidence bands (times in the shared bins).", "Pooled Kaplan-Meier curves", number)
    marks = t["km_landmarks"]
    _table(sec, "pooled_km_landmarks", f"Pooled survival at {months_list(landmarks)}",
           _landmark_rows(marks, curves, landmarks), "km_landmarks",
           numeric=["Patients"] + [f"{x:g} months" for x in landmarks], group_rows=True, notes=notes)
    lr = t["logrank"]
    if len(lr):
        shown = pd.DataFrame({"Endpoint": lr["endpoint"].map(lambda e: ENDPOINTS[e].label),
                              "Grouping": lr["grouping"].map(label),
                              "Strata": np.where(lr["stratified_by_site"], "site", "none"),
                              "Chi-square": lr["chisq"].map(lambda v: num(v, 2)), "df": lr["df"],
                              "p": lr["p"].map(pvalue)})
        _table(sec, "pooled_logrank", "Log-rank tests, without and with site strata", shown, "logrank",
               numeric=("Chi-square", "df", "p"), group_rows=True)
    cx = t["cox"]
    if len(cx):
        finite = cx["coef"].abs() < 10
        hr = [estimate_ci(h, lo, hi, "ratio") if ok else "not estimable (no events in a level)"
              for h, lo, hi, ok in zip(cx["hr"], cx["lower"], cx["upper"], finite)]
        shown = pd.DataFrame({"Endpoint": cx["endpoint"].map(lambda e: ENDPOINTS[e].label),
                              "Grouping": cx["grouping"].map(label), "Level": cx["level"].map(label),
                              "Strata": np.where(cx["stratified_by_site"], "site", "none"), "HR (95% CI)": hr,
                              "p": [pvalue(p) if ok else NE for p, ok in zip(cx["p"], finite)]})
        _table(sec, "pooled_cox", "Cox models (Efron ties, model-based SE) of each grouping vs its reference level, "
               "without and with site strata", shown, "cox", numeric=("HR (95% CI)", "p"), group_rows=True)
    return sec, number


def heterogeneity_section(t: dict, number: int) -> tuple[dict, int]:
    sec = new_section("heterogeneity", "Differences between sites")
    notes = merged_note(t["packages"])
    sc = t["site_km_curves"]
    sub = sc[sc["endpoint"] == "pfs_after_stop"] if len(sc) else sc
    if len(sub):
        number += 1
        _figure(sec, "pooled_site_km", curve_figure(sub, title="PFS after stopping ICI by site"),
                "Kaplan-Meier estimates of PFS after stopping ICI at each site (site pseudonyms).",
                "Kaplan-Meier curves per site", number)
    het = t["site_heterogeneity"]
    if len(het):
        result = [f"chi-square {num(c, 2)}, df {int(d)}, p {pvalue(p)}" if ok else f"not estimable ({r})"
                  for c, d, p, ok, r in zip(het["chisq"], het["df"], het["p"],
                                            het["estimable"].astype(str).str.lower() != "false",
                                            het.get("reason", pd.Series("", index=het.index)).fillna(""))]
        shown = pd.DataFrame({"Endpoint": het["endpoint"].map(lambda e: ENDPOINTS[e].label),
                              "Grouping": het["grouping"].map(label), "Test": het["test"], "Result": result})
        _table(sec, "pooled_heterogeneity", "Between-site heterogeneity: log-rank across sites and site-by-group "
               "interaction", shown, "site_heterogeneity", group_rows=True, notes=notes)
    return sec, number


def horizon_section(hz: pd.DataFrame) -> dict:
    sec = new_section("horizon", "Recurrence by the horizon against each marker (pooled)")
    if hz.empty:
        sec.update(status="empty", reason="No horizon tables were shared.")
        return sec
    col = lambda name: hz[name] if name in hz else pd.Series(np.nan, index=hz.index)  # noqa: E731
    shown = pd.DataFrame({
        "Marker": hz["marker"].map(label), "Levels": hz["levels"], "Patients": hz["n"], "Recurred": hz["recurred"],
        "Fisher p (pooled table)": col("fisher_p").map(pvalue),
        "MH odds ratio (95% CI), site strata": [estimate_ci(e, lo, hi, "ratio") for e, lo, hi in
                                               zip(col("mh_or"), col("mh_or_low"), col("mh_or_high"))],
        "Exact conditional p": col("exact_p").map(pvalue),
    })
    _table(sec, "pooled_horizon", "Recurrence by the horizon: Fisher's test of the pooled table and the "
           "site-stratified Mantel-Haenszel analysis (two-level markers)", shown, "horizon_tables",
           numeric=("Patients", "Recurred", "Fisher p (pooled table)", "Exact conditional p"))
    return sec


def continuation_section(meta: pd.DataFrame, sites: pd.DataFrame, number: int) -> tuple[dict, int]:
    sec = new_section("continuation", "Continuing vs stopping ICI: meta-analysis of the sites' estimates")
    if len(sites):
        used = sites["used"].astype(str).str.lower().isin(["true", "1"])
        shown = pd.DataFrame({"Outcome": sites["outcome"].str.upper(), "Estimand": sites["estimand"].map(label),
                              "Site": sites["site"], "Events, stop arm": sites["events_A"],
                              "Events, continue arm": sites["events_B"],
                              "In the meta-analysis": np.where(used, "yes", "no: not estimable at the site")})
        site_table = table_spec("pooled_meta_sites", "Sites' continuation estimates and their use", shown,
                                numeric=("Events, stop arm", "Events, continue arm"), group_rows=True)
        site_table["tsv"] = "results/pooled/continuation_sites.tsv"
    if meta.empty:
        sec.update(status="empty", reason="No site has an estimable continuation estimate (each site's report "
                   "applies the estimability rules, e.g. at least 10 events per arm), so there is nothing to "
                   "meta-analyse; a pooled number would rest on too few events.")
        if len(sites):
            add_table(sec, site_table)
        return sec, number
    sec["paragraphs"].append(
        "Each site estimated the effect of continuing vs stopping ICI by its own clone-censor-weight emulation "
        "with bootstrap standard errors; the estimates are combined by inverse-variance meta-analysis (fixed "
        "effect and random effects). Site estimates the site's report marks as not estimable are left out.")
    kind = {"loghr": "ratio"}
    rows = []
    for _, r in meta.iterrows():
        k = kind.get(r["estimand"], "pp" if str(r["estimand"]).startswith("diff") else "num")
        tr = np.exp if k == "ratio" else (lambda x: x)
        rows.append({"Outcome": str(r["outcome"]).upper(), "Estimand": r["label"], "Sites": int(r["k"]),
                     "Fixed effect (95% CI)": estimate_ci(tr(r["fixed"]), tr(r["fixed_lower"]), tr(r["fixed_upper"]), k),
                     "Random effects (95% CI)": estimate_ci(tr(r["random"]), tr(r["random_lower"]),
                                                           tr(r["random_upper"]), k),
                     "tau^2": num(r["tau2"], 4), "I^2": NE if pd.isna(r["i2"]) else f"{r['i2']:.0f}%",
                     "Q test p": pvalue(r["q_p"])})
    _table(sec, "pooled_meta", "Meta-analysis of the sites' continuation estimates", pd.DataFrame(rows),
           "continuation_meta", numeric=("Sites", "Fixed effect (95% CI)", "Random effects (95% CI)", "tau^2", "I^2",
                                         "Q test p"), group_rows=True)
    add_table(sec, site_table)
    used = sites[sites["used"].astype(str).str.lower().isin(["true", "1"])]
    z = 1.959963984540054
    for _, r in meta.iterrows():  # one forest plot per outcome and estimand
        s = used[(used["outcome"] == r["outcome"]) & (used["estimand"] == r["estimand"])]
        tr = np.exp if r["estimand"] == "loghr" else (lambda x: x)
        rows = pd.DataFrame({"label": s["site"].astype(str), "est": tr(s["estimate"]), "lower": tr(s["estimate"] - z * s["se"]),
                             "upper": tr(s["estimate"] + z * s["se"])})
        rows.loc[len(rows)] = {"label": "Random effects", "est": tr(r["random"]), "lower": tr(r["random_lower"]),
                               "upper": tr(r["random_upper"])}
        number += 1
        name = f"pooled_forest_{r['outcome']}_{r['estimand']}"
        what = f"{str(r['outcome']).upper()}: {r['label']}"
        _figure(sec, name, forest_figure(rows, est="est", log=r["estimand"] == "loghr", title=what,
                                         xlabel=("Hazard ratio" if r["estimand"] == "loghr" else "Difference") + " (95% CI)"),
                f"{what}: site estimates and the random-effects pooled estimate (95% CIs).", f"Forest plot, {what}", number)
    return sec, number


def build_sections(t: dict, landmarks) -> list[dict]:
    number = 0
    out = [packages_section(t["packages"])]
    sec, number = survival_section(t, landmarks, number)
    out.append(sec)
    sec, number = heterogeneity_section(t, number)
    out.append(sec)
    out.append(horizon_section(t["horizon"]))
    sec, number = continuation_section(t["meta"], t["sites"], number)
    out.append(sec)
    for s in out:
        by_id = {("figure", f["id"]): f for f in s["figures"]} | {("table", x["id"]): x for x in s["tables"]}
        s["items"] = [{"kind": kind, "item": by_id[(kind, ident)]} for kind, ident in s["blocks"]]
    return out


def methods(packages: pd.DataFrame, meta_method: str, hartung_knapp: bool) -> list[str]:
    width = packages["bin_width_months"].iloc[0] if len(packages) else np.nan
    return [
        f"Each site ran the same workflow on its own patients and shared only aggregates: for each endpoint and "
        f"group or covariate pattern, the events and censorings per {num(width, 1)}-month time bin (each time replaced "
        "by the end of its bin), checked before release against the disclosure rules in the package manifest.",
        "Kaplan-Meier estimates (Greenwood variance, log-log intervals), log-rank tests and Cox partial likelihoods of "
        "categorical covariates (Efron ties) depend on the data only through the numbers at risk and the events at "
        "each time per pattern, so the pooled estimates equal those of a patient-level analysis of all sites' data "
        "with the same binned times (verified in the workflow's tests to 1e-10). Site enters as a stratum where stated.",
        "Between-site heterogeneity: a log-rank test across sites, and a likelihood-ratio test of site-specific against "
        "common group effects (site-stratified Cox). Horizon tables: Fisher's exact test of the pooled table, the "
        "Mantel-Haenszel common odds ratio with Robins-Breslow-Greenland interval and the exact conditional test "
        "(R mantelhaen.test conventions).",
        f"Continuation estimates: inverse-variance meta-analysis, fixed effect and random effects with tau^2 by "
        f"{ {'REML': 'restricted maximum likelihood', 'DL': 'DerSimonian-Laird', 'PM': 'Paule-Mandel'}[meta_method] }"
        f"{', Hartung-Knapp adjusted' if hartung_knapp else ''}; hazard ratios on the log scale.",
    ]

