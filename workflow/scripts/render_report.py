"""Snakemake entry point: the self-contained HTML report (rule report).

Named inputs: ``section_<name>`` (results/report/sections/<name>.json, one per section in the run),
``figures`` (their SVG/PNG files, embedded), ``template``, ``summary`` (validation summary: input
checksums and rows), ``cutoff`` (results/cohort/cutoff.json), ``endpoints`` and ``tables`` (validated
input tables, for the privacy check only). Params: ``title``, ``show_identifiers``, ``small_cell_k``,
``config`` (the whole configuration: methods text and provenance).
"""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

import hashlib  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

from icistop import __version__  # noqa: E402
from icistop.data.issues import DataError, Issue  # noqa: E402
from icistop.report.render import ISO_DATE, build_context, privacy_leaks, render  # noqa: E402
from icistop.report.methods import methods_sections  # noqa: E402
from icistop.report.provenance import provenance  # noqa: E402
from icistop.report.history import append_run, compare, key_numbers, previous_different_run, read_history  # noqa: E402
from icistop.runner import run_step  # noqa: E402
from icistop.data.tableio import read_json  # noqa: E402


def data_identifiers_and_dates(table_paths):
    ids, dates = set(), set()
    for path in table_paths:
        frame = pd.read_parquet(path)
        if "patient_id" in frame:
            ids.update(frame["patient_id"].dropna().astype(str))
        for col in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[col]):  # distinct values first: strftime is slow
                dates.update(pd.Series(frame[col].dropna().unique()).dt.strftime("%Y-%m-%d"))
    return ids, dates


HISTORY = "results/history/runs.jsonl"


def run_changes(smk, config, summary, prov) -> dict:
    """Key numbers of this run next to those of the previous run on different inputs or settings;
    appends this run to results/history/runs.jsonl (aggregates only: no identifiers, no data dates)."""
    optional = {name: pd.read_csv(getattr(smk.input, name), sep="\t")
                for name in ("km_landmarks", "followup") if hasattr(smk.input, name)}
    numbers = key_numbers(pd.read_parquet(smk.input.endpoints), optional.get("km_landmarks"), optional.get("followup"))
    inputs = {name: info["sha256"] for name, info in sorted(summary["tables"].items())}
    fingerprint = hashlib.sha256(json.dumps({"inputs": inputs, "config": config}, sort_keys=True,
                                            default=str).encode()).hexdigest()
    history = read_history(HISTORY)
    previous = previous_different_run(history, fingerprint)
    table = compare(previous, numbers)
    k = int(smk.params.small_cell_k)
    if k:  # a change between suppressed counts would reveal them
        small = table.apply(lambda r: any(isinstance(v, int) and 0 < v < k for v in (r["previous"], r["current"])), axis=1)
        table.loc[small, "change"] = None
    if not history or history[-1].get("fingerprint") != fingerprint:
        append_run(HISTORY, {"fingerprint": fingerprint, "run_date": prov["run_date"], "numbers": numbers})
    return {"previous_run_date": previous["run_date"][:10] if previous else None,
            "rows": table.to_dict("records")}


def main(smk):
    log = logging.getLogger("report")
    config = dict(smk.params.config)
    show = bool(smk.params.show_identifiers)
    k = int(smk.params.small_cell_k)
    sections = {}
    for name, path in smk.input.items():
        if name.startswith("section_") and isinstance(path, str):
            sec = read_json(path)
            sections[sec["name"]] = sec
    summary = read_json(smk.input.summary)
    cutoff = read_json(smk.input.cutoff)
    workflow_dir = Path(smk.scriptdir).parent.parent
    prov = provenance(config, summary, cutoff, __version__, workflow_dir, show)
    methods = methods_sections(config, cutoff=cutoff, summary=summary,
                               results={name: sec.get("values", {}) for name, sec in sections.items()},
                               stages=[name for name in sections])
    context = build_context(sections, title=smk.params.title, methods=methods, provenance=prov,
                            show_identifiers=show, k=k)
    context["changes"] = run_changes(smk, config, summary, prov)
    html = render(smk.input.template, context, small_cell_k=k)
    if not show:
        ids, dates = data_identifiers_and_dates(list(smk.input.tables))
        # dates written by the analyst (configured cut-off, paths) and the run date are not data
        allowed = set(ISO_DATE.findall(prov["config_yaml"])) | {prov["run_date"][:10]}
        if context["changes"]["previous_run_date"]:
            allowed.add(context["changes"]["previous_run_date"])
        leaks = privacy_leaks(html, ids, dates, allowed_dates=allowed)
        log.info("privacy check: %s", leaks)
        if leaks["identifiers"] or leaks["dates"]:
            raise DataError([Issue("error", "report", None, None, None,
                                   f"the report would show {leaks['identifiers']} patient identifier(s) and "
                                   f"{leaks['dates']} date(s) from the data (section(s): "
                                   f"{', '.join(leaks['sections']) or 'unknown'}) although report.show_identifiers "
                                   "is off; not written. Please report this as a bug.")])
    Path(smk.output.html).parent.mkdir(parents=True, exist_ok=True)
    with open(smk.output.html, "w", encoding="utf-8") as handle:
        handle.write(html)
    log.info("report: %d sections, %d bytes", len(context["order"]), len(html))


run_step(snakemake, main)  # noqa: F821
