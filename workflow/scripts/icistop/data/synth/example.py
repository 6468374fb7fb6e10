"""Public entry points: one cohort (:func:`generate_cohort`), the embedded example with its
``truth.yaml`` (:func:`write_example`), summaries, and the command line.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from icistop import DAYS_PER_MONTH
from icistop.data.synth.model import simulate
from icistop.data.synth.params import GeneratorParams, RESPONSES
from icistop.data.synth.tables import build_tables
from icistop.data.synth.truth import counterfactual_truth, model_truth, post_stop_truth, rounded



def generate_cohort(params: GeneratorParams | None = None) -> tuple[dict, dict]:
    """Simulate one cohort: (tables of data contract v1, generative truth). Cheap for n = 800."""
    p = params or GeneratorParams()
    d = simulate(p, p.n_patients, p.seed)
    return build_tables(p, d), model_truth(p)


def write_tables(tables: dict, out_dir) -> None:
    """Write contract tables as CSV (ISO dates, empty cells for missing values)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(out / f"{name}.csv", index=False, date_format="%Y-%m-%d", na_rep="", lineterminator="\n")


def _yaml_clean(x):
    if isinstance(x, dict):
        return {(_yaml_clean(k) if not isinstance(k, str) else k): _yaml_clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_yaml_clean(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (float, np.floating)):
        return round(float(x), 6)
    return x


def write_example(out_dir, params: GeneratorParams | None = None, truth_n: int = 200_000) -> dict:
    """Write the four tables and ``truth.yaml`` (model truth, calibration achieved on ``truth_n``
    simulated patients, uncensored post-stop PFS and the counterfactual continuation truth)."""
    import yaml

    p = params or GeneratorParams()
    tables, truth = generate_cohort(p)
    write_tables(tables, out_dir)
    truth["realised_example"] = summarise(tables)
    big, _ = generate_cohort(replace(p, n_patients=truth_n, seed=p.seed + 1))
    truth["calibration_achieved"] = summarise(big)
    truth["calibration_achieved"]["n_patients"] = truth_n
    truth["post_stop_truth"] = post_stop_truth(p, n=truth_n, seed=p.seed + 2)
    truth["continuation_truth"] = counterfactual_truth(p, n=truth_n, seed=p.seed + 3)
    with open(Path(out_dir) / "truth.yaml", "w", encoding="utf-8") as fh:
        yaml.safe_dump(_yaml_clean(truth), fh, sort_keys=False, default_flow_style=None, width=110,
                       allow_unicode=False)
    return truth


def stop_cohort_pfs(tables: dict) -> pd.DataFrame:
    """Per patient stopping course 1 without progression (stop_reason not progression/death, no PD on or
    before the stop): PFS from the stop date (first PD after the stop or death; censored at last contact)."""
    t, a, pt = tables["treatments"], tables["assessments"], tables["patients"].set_index("patient_id")
    c1 = t[(t["course"] == 1) & t["stop_date"].notna() & ~t["stop_reason"].isin(["progression", "death"])]
    c1 = c1.set_index("patient_id")
    pdx = a[a["response"] == "PD"].merge(c1[["stop_date"]], left_on="patient_id", right_index=True)
    early = set(pdx.loc[pdx["date"] <= pdx["stop_date"], "patient_id"])
    c1 = c1[~c1.index.isin(early)]
    first_pd = pdx[pdx["date"] > pdx["stop_date"]].groupby("patient_id")["date"].min()
    death = pt["death_date"].reindex(c1.index)
    last = pt["last_contact_date"].reindex(c1.index)
    ev_date = pd.concat([first_pd.reindex(c1.index), death], axis=1).min(axis=1)
    event = ev_date.notna()
    end = ev_date.where(event, last)
    return pd.DataFrame({"time": (end - c1["stop_date"]).dt.days / DAYS_PER_MONTH, "event": event.astype(int),
                         "time_on_ici": (c1["stop_date"] - c1["start_date"]).dt.days / DAYS_PER_MONTH,
                         "stop_reason": c1["stop_reason"], "follow_up": (last - c1["stop_date"]).dt.days
                         / DAYS_PER_MONTH})


def pfs_from_start(tables: dict) -> pd.DataFrame:
    """PFS from course-1 start: first PD or death, censored at last contact."""
    t = tables["treatments"]
    c1 = t[t["course"] == 1].set_index("patient_id")
    a, pt = tables["assessments"], tables["patients"].set_index("patient_id")
    first_pd = a[a["response"] == "PD"].groupby("patient_id")["date"].min().reindex(c1.index)
    ev_date = pd.concat([first_pd, pt["death_date"].reindex(c1.index)], axis=1).min(axis=1)
    end = ev_date.where(ev_date.notna(), pt["last_contact_date"].reindex(c1.index))
    return pd.DataFrame({"time": (end - c1["start_date"]).dt.days / DAYS_PER_MONTH,
                         "event": ev_date.notna().astype(int), "regimen": c1["regimen"]})


def summarise(tables: dict) -> dict:
    """Calibration summary of a cohort (the quantities of ``calibration_targets``)."""
    from lifelines import KaplanMeierFitter

    pt, t = tables["patients"], tables["treatments"]
    c1 = t[t["course"] == 1]
    share = c1["best_response"].value_counts(normalize=True)
    msi = ((pt["msi_status"] == "MSI-H") | (pt["mmr_status"] == "dMMR")).mean()
    pfs = pfs_from_start(tables)
    km = KaplanMeierFitter().fit(pfs["time"], pfs["event"])
    combo = pfs[pfs["regimen"] == "anti-PD-1+anti-CTLA-4"]
    kmc = KaplanMeierFitter().fit(combo["time"], combo["event"])
    sc = stop_cohort_pfs(tables)
    kms = KaplanMeierFitter().fit(sc["time"], sc["event"])
    return {
        "n_patients": int(len(pt)),
        "best_response_share": {k: rounded(share.get(k, 0.0), 3) for k in RESPONSES},
        "msi_h_or_dmmr_share": rounded(msi, 3),
        "combination_share": rounded((c1["regimen"] == "anti-PD-1+anti-CTLA-4").mean(), 3),
        "median_pfs_from_ici_start": rounded(km.median_survival_time_, 2),
        "pfs_from_ici_start": {h: rounded(km.predict(h), 3) for h in (12, 24, 36)},
        "combination_pfs_24": rounded(kmc.predict(24.0), 3),
        "n_stopped_without_progression": int(len(sc)),
        "post_stop_pfs_km": {h: rounded(kms.predict(float(h)), 3) for h in (12, 24, 36)},
        "median_time_on_ici_stopped_without_progression": rounded(sc["time_on_ici"].median(), 2),
        "toxicity_share_of_stops_without_progression": rounded((sc["stop_reason"] == "toxicity").mean(), 3),
        "median_follow_up_after_stop": rounded(sc["follow_up"].median(), 2),
        "n_rechallenged": int((t["course"] == 2).sum()),
        "n_ctdna_patients": int(tables["ctdna"]["patient_id"].nunique()),
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m icistop.data.synth", description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--seed", type=int, default=GeneratorParams.seed)
    ap.add_argument("--n-patients", type=int, default=GeneratorParams.n_patients)
    ap.add_argument("--continuation-hr", type=float, default=GeneratorParams.continuation_hr)
    ap.add_argument("--no-confounding", action="store_true")
    ap.add_argument("--truth-n", type=int, default=200_000, help="simulated patients for truth.yaml")
    a = ap.parse_args(argv)
    p = GeneratorParams(n_patients=a.n_patients, seed=a.seed, continuation_hr=a.continuation_hr,
                        confounding=not a.no_confounding)
    write_example(a.out, p, truth_n=a.truth_n)
