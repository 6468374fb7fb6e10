"""Report section: biomarkers (question 3), one block per population (``post_stop``: after stopping, stop
cohort; ``from_start``: from the ICI start, all treated patients).

Inputs (named inputs of rule report_biomarkers, ``<population>_<name>``; files of rules biomarker_* in
results/biomarkers/<population>/):
- ``cox_levels`` results/biomarkers/cox_univariable.tsv: marker, type, level, reference, is_reference,
  n_level, events_level, hr, hr_ci_low, hr_ci_high, p_level, p_marker, q_marker, status, note;
- ``cox_markers`` results/biomarkers/marker_tests.tsv: marker, type, n, events, p_marker, q_marker,
  fdr_method, rank, status, note;
- ``fisher`` results/biomarkers/horizon_fisher.tsv: marker, level, is_reference, n_level, recurred_level,
  pct_recurred_level, odds_ratio, or_ci_low, or_ci_high, median_recurred, median_not_recurred, test,
  p_marker, q_marker, n_evaluable, n_not_evaluable, n_cohort, horizon_months, horizon_event, status, note;
- optional ``multivariable`` results/biomarkers/cox_multivariable.tsv: marker, level, reference, n_level,
  events_level, hr, hr_ci_low, hr_ci_high, p_level, p_marker_lr, n, events, status, note.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from icistop.biomarkers.populations import population_text
from icistop.report.privacy import count_pct, suppress_count
from icistop.report.context import (SectionResult, add_figure, add_table, figure_spec, frame_from_cells, key_cell,
                             new_section, read_tsv, require_columns, table_spec)
from icistop.report.figures import forest_figure, message_figure
from icistop.report.format import estimate_ci, label, missing, p_equals, pvalue, ratio

TITLE = "Biomarkers"


def _truthy(v) -> bool:
    return str(v).strip().lower() in ("true", "1", "yes")


def _marker_label(m: str) -> str:
    return label(m)


def combined_table(cox: pd.DataFrame, fisher: pd.DataFrame, k: int = 0, key: str = "bm") -> tuple[list[str], list[list]]:
    """Cox (per level) and the Simmons-style horizon table side by side, one row per marker level
    (``key``: prefix of the key-number ids)."""
    fmap = {(str(r["marker"]), str(r["level"])): r for r in fisher.to_dict("records")}
    months = fisher["horizon_months"].dropna().iloc[0] if "horizon_months" in fisher and fisher["horizon_months"].notna().any() else None
    event = fisher["horizon_event"].dropna().iloc[0] if "horizon_event" in fisher and fisher["horizon_event"].notna().any() else "event"
    hz = f"{label(event).capitalize()} by {months:g} mo" if months is not None else "By horizon"
    columns = ["Marker", "Level", "n", "Events", "HR (95% CI)", "p (level)", "q (Cox)",
               f"{hz}: n/N (%)", "OR (95% CI)", "p (Fisher)", "q (Fisher)"]
    rows = []
    for r in cox.to_dict("records"):
        marker = str(r["marker"])
        level = "" if pd.isna(r.get("level")) else str(r.get("level"))
        status = str(r.get("status"))
        if status not in ("ok", "nan", "None"):
            rows.append([_marker_label(marker), level or "\u2014", "", "", f"{r.get('status')}: {r.get('note', '')}",
                         "", "", "", "", "", ""])
            continue
        is_ref = _truthy(r.get("is_reference"))
        hr = "1 (reference)" if is_ref else estimate_ci(r.get("hr"), r.get("hr_ci_low"), r.get("hr_ci_high"), "ratio")
        f = fmap.get((marker, level))
        if f is None and r.get("type") == "continuous":
            f = fmap.get((marker, "(continuous)"))
        if f is not None:
            if r.get("type") == "continuous" or str(f.get("level")) == "(continuous)":
                rec = (f"median {f.get('median_recurred'):.3g} vs {f.get('median_not_recurred'):.3g}"
                       if not missing(f.get("median_recurred")) and not missing(f.get("median_not_recurred")) else "")
                orr = "\u2014"
            else:
                n_level = f.get("n_level")
                rec = (f"{suppress_count(f.get('recurred_level'), k)}/{suppress_count(n_level, k)}"
                       + _pct_part(f.get("recurred_level"), n_level, k))
                orr = "1 (reference)" if _truthy(f.get("is_reference")) else estimate_ci(
                    f.get("odds_ratio"), f.get("or_ci_low"), f.get("or_ci_high"), "ratio")
            p_f, q_f = pvalue(f.get("p_marker")), pvalue(f.get("q_marker"))
        else:
            rec, orr, p_f, q_f = "", "", "", ""
        q_cell = key_cell(pvalue(r.get("q_marker")), f"{key}_q_{marker}", r.get("q_marker"))
        hr_cell = hr if is_ref else key_cell(hr, f"{key}_hr_{marker}_{level}", r.get("hr"))
        rows.append([_marker_label(marker), label(level), suppress_count(r.get("n_level"), k),
                     suppress_count(r.get("events_level"), k), hr_cell,
                     "" if is_ref else pvalue(r.get("p_level")), q_cell, rec, orr, p_f, q_f])
    return columns, rows


def _pct_part(n, d, k) -> str:
    text = count_pct(n, d, k, digits=0)
    return text[text.index(" "):] if " (" in text else ""


def forest_rows(cox: pd.DataFrame, markers: pd.DataFrame | None) -> pd.DataFrame:
    """Non-reference levels (and continuous terms) in the order of the marker q-values."""
    d = cox[~cox["is_reference"].map(_truthy) & (cox["status"].astype(str) == "ok")].copy()
    if markers is not None and "q_marker" in markers:
        order = markers.sort_values(["q_marker", "marker"], na_position="last")["marker"].tolist()
        d["_o"] = d["marker"].map({m: i for i, m in enumerate(order)})
        d = d.sort_values(["_o"], kind="mergesort")
    ref = d["reference"].fillna("").astype(str)
    d["label"] = [f"{label(m)}: {label(lv)}" + (f" vs {label(r)}" if r else "")
                  for m, lv, r in zip(d["marker"], d["level"].astype(str), ref)]
    d["note"] = [f"{estimate_ci(h, lo, hi, 'ratio')}  q{p_equals(q).replace(' ', '')}"
                 for h, lo, hi, q in zip(d["hr"], d["hr_ci_low"], d["hr_ci_high"], d["q_marker"])]
    return d


def top_markers(markers: pd.DataFrame, cox: pd.DataFrame, n: int = 3) -> list[dict]:
    """The ``n`` markers with the smallest q (Cox LR), each with its first non-reference level's HR."""
    ok = markers[(markers["status"].astype(str) == "ok") & markers["q_marker"].notna()]
    ok = ok.sort_values(["q_marker", "p_marker", "marker"]).head(n)
    out = []
    for r in ok.to_dict("records"):
        levels = cox[(cox["marker"] == r["marker"]) & ~cox["is_reference"].map(_truthy)]
        lv = levels.iloc[0].to_dict() if len(levels) else {}
        out.append({"marker": r["marker"], "q": r["q_marker"], "p": r["p_marker"], "n_levels": int(len(levels)),
                    "level": lv.get("level"), "reference": lv.get("reference"), "hr": lv.get("hr"),
                    "lower": lv.get("hr_ci_low"), "upper": lv.get("hr_ci_high"), "type": r.get("type")})
    return out


def biomarkers_section(files: dict, k: int = 0, q_threshold: float = 0.1, populations=("post_stop",),
                       endpoints: dict | None = None) -> SectionResult:
    """One block per population (figure, tables, a paragraph); ``values['populations'][population]`` holds
    what the key findings say about it."""
    sec = new_section("biomarkers", TITLE)
    result = SectionResult(sec, figures={}, tables={})
    sec["values"] = {"populations": {}, "q_threshold": q_threshold}
    for population in populations:
        named = {n[len(population) + 1:]: f for n, f in files.items() if n.startswith(population + "_")}
        endpoint = (endpoints or {}).get(population, "pfs")
        sec["values"]["populations"][population] = _population_block(sec, result, named, population, endpoint,
                                                                    k, q_threshold)
    return result


def _population_block(sec: dict, result: SectionResult, files: dict, population: str, endpoint: str, k: int,
                      q_threshold: float) -> dict:
    cox = read_tsv(files["cox_levels"])
    markers = read_tsv(files["cox_markers"])
    fisher = read_tsv(files["fisher"])
    require_columns(cox, ["marker", "level", "is_reference", "n_level", "events_level", "hr", "hr_ci_low",
                          "hr_ci_high", "q_marker", "status"], files["cox_levels"])
    require_columns(markers, ["marker", "p_marker", "q_marker", "status"], files["cox_markers"])
    require_columns(fisher, ["marker", "level", "n_level", "recurred_level", "p_marker", "q_marker"], files["fisher"])
    words = population_text(population, endpoint)
    short, event, heading, origin, since = (words[w] for w in ("endpoint", "event", "population", "origin", "since"))
    horizon_event = (label(fisher["horizon_event"].dropna().iloc[0]) if "horizon_event" in fisher
                     and fisher["horizon_event"].notna().any() else event)
    method = markers["fdr_method"].dropna().iloc[0] if "fdr_method" in markers and markers["fdr_method"].notna().any() else "BH"
    n_cohort = int(fisher["n_cohort"].dropna().iloc[0]) if "n_cohort" in fisher and fisher["n_cohort"].notna().any() else None
    columns, rows = combined_table(cox, fisher, k, key="bm" if population == "post_stop" else f"bm_{population}")
    chi_markers = {label(m) for m, t in zip(fisher["marker"], fisher.get("test", pd.Series([""] * len(fisher))))
                   if str(t).startswith("Pearson")}
    display = frame_from_cells(columns, rows)
    stem = f"biomarkers_{population}"
    result.tables[f"{stem}_cox_fisher"] = display
    frows = forest_rows(cox, markers)
    if len(frows):
        result.figures[f"{stem}_forest"] = forest_figure(frows, label="label", est="hr", lower="hr_ci_low",
                                                         upper="hr_ci_high", note="note",
                                                         xlabel=f"Hazard ratio of {event} {origin} (log scale)")
    else:
        result.figures[f"{stem}_forest"] = message_figure("No marker could be estimated.")
    add_figure(sec, figure_spec(f"{stem}_forest", f"Biomarkers {heading}: univariable hazard ratios of {short} "
                                f"{origin} per marker level (95% CI), ordered by q-value.",
                                f"Forest plot of biomarker hazard ratios, {short} {origin}"))
    add_table(sec, table_spec(
        f"{stem}_cox_fisher",
        f"Biomarkers {heading}: univariable Cox models of {short} {origin} (left) next to the Simmons-style "
        f"comparison of the event by a fixed horizon {since} (right, Fisher's exact test).", display,
        numeric=tuple(columns[2:]), cells=rows, group_rows=True,
        notes=[f"q: {method}-adjusted across markers (one test per marker: Cox likelihood ratio; Fisher exact"
               + ("; Pearson chi-square for " + ", ".join(sorted(chi_markers)) + " (many levels, large n)" if chi_markers else "")
               + ").",
               f"Fisher columns: patients evaluable at the horizon (with the event, {horizon_event}, by then, or "
               "followed without it at least to the horizon)."]))
    tables = result.tables
    if "multivariable" in files and files["multivariable"]:
        mv = read_tsv(files["multivariable"])
        if "hr" in mv and (mv.get("status", pd.Series(dtype=str)).astype(str) == "ok").any():
            mv = mv[mv["status"].astype(str) == "ok"]
            mframe = pd.DataFrame({
                "Covariate": [label(m) for m in mv["marker"]],
                "Level": [label(lv) + (f" vs {label(r)}" if isinstance(r, str) and r else "")
                          for lv, r in zip(mv["level"].astype(str), mv.get("reference", pd.Series([""] * len(mv))))],
                "HR (95% CI)": [estimate_ci(h, lo, hi, "ratio") for h, lo, hi in zip(mv["hr"], mv["hr_ci_low"], mv["hr_ci_high"])],
                "p (Wald)": [pvalue(p) for p in mv["p_level"]],
                "p (drop-one LR)": [pvalue(p) for p in mv.get("p_marker_lr", pd.Series([np.nan] * len(mv)))],
            })
            n_mv, e_mv = mv["n"].iloc[0] if "n" in mv else None, mv["events"].iloc[0] if "events" in mv else None
            add_table(sec, table_spec(f"{stem}_multivariable",
                                      f"Biomarkers {heading}: multivariable Cox model of {short} {origin} (complete "
                                      f"cases: n = {suppress_count(n_mv, k)}, events = {suppress_count(e_mv, k)}).",
                                      mframe))
            tables[f"{stem}_multivariable"] = mframe
    top = top_markers(markers, cox)
    values = {"top": top, "q_threshold": q_threshold, "fdr_method": method, "endpoint": short, "origin": origin,
              "n_cohort": n_cohort, "n_markers": int((markers["status"].astype(str) == "ok").sum()),
              "n_significant": int(((markers["status"].astype(str) == "ok") & (markers["q_marker"] < q_threshold)).sum())}
    text = (f"Biomarkers {heading}, endpoint {short}: {values['n_markers']} markers were analysed; "
            f"{values['n_significant']} had q < {q_threshold:g}.")
    if population == "post_stop" and not n_cohort:
        text = ("The stop cohort is empty (no patient in this data stopped ICI without progression, or the data "
                "have no stop dates): biomarkers are analysed from the ICI start only.")
    sec["paragraphs"].append(text)
    return values


__all__ = ["biomarkers_section", "combined_table", "top_markers", "forest_rows", "ratio"]
