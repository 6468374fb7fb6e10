"""Wiring of the report rules (used by workflow/rules/report.smk; plain Python, no Snakemake import).

Each report section has its own rule fed by a named dict of input files. The three stage sections
(survival, continuation, biomarkers) are part of a run only when the stage's config block is present
(and not ``enabled: false``) and the workflow includes the stage's rules (a rule name starting with
the stage's prefix); otherwise the page shows the section as "not run". An included stage whose
rules do not produce a file the section requires is a wiring error, raised when the DAG is built.

To align the report with a stage's outputs, edit ``STAGE_FILES`` and the ``*_OPTIONAL`` names below;
the columns each section reads are documented in icistop/report/<stage>.py.
"""

from __future__ import annotations

from icistop.biomarkers.populations import POPULATIONS, population_endpoint

CATEGORY = "0. Report"
CORE_SECTIONS = ["data", "cohort", "table1", "swimmer"]
STAGES = ["survival", "continuation", "biomarkers"]
STAGE_RULE_PREFIX = {"survival": "survival_", "continuation": "continuation_", "biomarkers": "biomarker_"}
SURVIVAL_FIGURES = [
    "survival_km_pfs_after_stop",
    "survival_km_os_after_stop",
    "survival_km_pfs_after_stop_by_stop_reason",
    "survival_km_pfs_from_start",
    "survival_km_os_from_start",
    "survival_cif",
    "survival_hazard",
]
SURVIVAL_OPTIONAL = {"risktable", "medians", "followup", "cox", "logrank", "ph_test", "cif_curves", "cif_landmarks",
                     "hazard", "rmst", "notes_km", "notes_compare", "notes_competing", "notes_hazard", "notes_rmst"}
CONTINUATION_OPTIONAL_PER_OUTCOME = ("estimates", "km", "weights", "censoring")
BIOMARKERS_OPTIONAL_PER_POPULATION = ("multivariable",)
# named input files of each stage section: name -> file in the stage's results folder (keep in step with the
# stage's rules); continuation: "protocol", then these files per outcome named "<outcome>_<name>"; biomarkers:
# these files per population named "<population>_<name>"
STAGE_FILES = {
    "survival": {
        "curves": "km_curves.tsv",
        "landmarks": "km_landmarks.tsv",
        "risktable": "km_risktable.tsv",
        "medians": "km_medians.tsv",
        "followup": "followup.tsv",
        "cox": "cox.tsv",
        "logrank": "logrank.tsv",
        "ph_test": "ph_test.tsv",
        "cif_curves": "cif_curves.tsv",
        "cif_landmarks": "cif_landmarks.tsv",
        "hazard": "hazard_by_interval.tsv",
        "rmst": "rmst.tsv",
        "notes_km": "km_notes.tsv",
        "notes_compare": "compare_notes.tsv",
        "notes_competing": "competing_notes.tsv",
        "notes_hazard": "hazard_notes.tsv",
        "notes_rmst": "rmst_notes.tsv",
    },
    "continuation": {
        "comparison": "comparison.tsv",
        "estimates": "ccw_estimates.tsv",
        "km": "ccw_km.tsv",
        "weights": "weight_diagnostics.tsv",
        "censoring": "artificial_censoring.tsv",
    },
    "biomarkers": {
        "cox_levels": "cox_univariable.tsv",
        "cox_markers": "marker_tests.tsv",
        "fisher": "horizon_fisher.tsv",
        "multivariable": "cox_multivariable.tsv",
    },
}


# adapters that write a mapping report (results/adapter/mapping.tsv), shown in the data section
MAPPING_ADAPTERS = ("omop", "adam")


class WiringError(Exception):
    pass


class ReportWiring:
    def __init__(self, config: dict, workflow=None, report=None,
                 contract_tables=("patients", "treatments", "assessments", "ctdna")):
        self.config = config
        self.workflow = workflow
        self.report = report
        self.contract_tables = list(contract_tables)
        self.options = dict(config.get("report") or {})

    # ------------------------------------------------------------------ options passed as params
    @property
    def privacy(self) -> dict:
        return {"show_identifiers": bool(self.options.get("show_identifiers", False)),
                "small_cell_k": int(self.options.get("small_cell_k", 0))}

    def outcomes(self) -> list[str]:
        return list((self.config.get("continuation") or {}).get("outcomes", ["pfs"]))

    def populations(self) -> list[str]:
        return list((self.config.get("biomarkers") or {}).get("populations") or POPULATIONS)

    def biomarker_options(self) -> dict:
        biomarkers = self.config.get("biomarkers") or {}
        return {"q_threshold": float(self.options.get("q_threshold", 0.1)), "populations": self.populations(),
                "endpoints": {p: population_endpoint(biomarkers, p) for p in self.populations()}}

    def survival_options(self) -> dict:
        surv = self.config.get("survival") or {}
        return {"min_at_risk_frac": float(surv.get("min_at_risk_frac", 0.0)),
                "risk_times": [float(t) for t in surv.get("risk_table_times", [])] or None,
                "figures": SURVIVAL_FIGURES}

    def section_options(self, section: str) -> dict:
        if section == "swimmer":
            return {"swimmer": bool(self.options.get("swimmer", True)),
                    "max_patients": int(self.options.get("swimmer_max_patients", 500)),
                    "seed": int(self.options.get("swimmer_seed", 0))}
        if section == "survival":
            return self.survival_options()
        if section == "continuation":
            return {"outcomes": self.outcomes()}
        if section == "biomarkers":
            return self.biomarker_options()
        return {}

    # ------------------------------------------------------------------ files
    @property
    def adapter_mapping(self) -> str | None:
        """Mapping report of a source adapter (OMOP, ADaM) when one made the contract tables."""
        return "results/adapter/mapping.tsv" if any(self.config.get(a) for a in MAPPING_ADAPTERS) else None

    def data_files(self) -> dict:
        """Named inputs of rule report_data (read by icistop.report.core.data_section)."""
        files = {"summary": "results/validation/summary.json", "issues": "results/validation/issues.tsv"}
        if self.adapter_mapping:
            files["mapping"] = self.adapter_mapping
        return files

    @staticmethod
    def cohort_files() -> dict:
        """Named inputs of rule report_cohort (read by icistop.report_core.cohort_section)."""
        return {"attrition": "results/cohort/attrition.tsv",
                "exclusion_reasons": "results/cohort/exclusion_reasons.tsv"}

    def stage_files(self, stage: str) -> dict:
        """Named input files of a stage section (``STAGE_FILES``)."""
        if stage not in STAGE_FILES:
            raise ValueError(stage)
        if stage == "continuation":
            files = {"protocol": "results/continuation/protocol.tsv"}
            for o in self.outcomes():
                files.update({f"{o}_{n}": f"results/continuation/{o}/{f}" for n, f in STAGE_FILES[stage].items()})
            return files
        if stage == "biomarkers":
            return {f"{p}_{n}": f"results/biomarkers/{p}/{f}" for p in self.populations()
                    for n, f in STAGE_FILES[stage].items()}
        return {n: f"results/{stage}/{f}" for n, f in STAGE_FILES[stage].items()}

    def optional(self, stage: str) -> set:
        if stage == "survival":
            return set(SURVIVAL_OPTIONAL)
        if stage == "continuation":
            return {f"{o}_{n}" for o in self.outcomes() for n in CONTINUATION_OPTIONAL_PER_OUTCOME}
        if stage == "biomarkers":
            return {f"{p}_{n}" for p in self.populations() for n in BIOMARKERS_OPTIONAL_PER_POPULATION}
        return set()

    def section_outputs(self, section: str) -> tuple[list[str], list[str]]:
        """(figure stems, table stems) a section rule writes."""
        outcomes = self.outcomes()
        return {
            "data": ([], ["data_inputs", "data_warnings"] + (["data_mapping"] if self.adapter_mapping else [])),
            "cohort": (["consort"], ["attrition"]),
            "table1": ([], ["table1"]),
            "swimmer": (["swimmer"], []),
            "survival": (list(SURVIVAL_FIGURES),
                         ["survival_landmarks", "survival_landmarks_by_group", "survival_medians", "survival_followup",
                          "survival_comparisons", "survival_competing", "survival_hazard", "survival_rmst"]),
            "continuation": ([f"continuation_{o}_{n}" for o in outcomes for n in ("estimates", "ccw_km", "weights")],
                             ["continuation_protocol"]
                             + [f"continuation_{o}_{n}" for o in outcomes for n in ("comparison", "strategies", "weights")]),
            "biomarkers": ([f"biomarkers_{p}_forest" for p in self.populations()],
                           [f"biomarkers_{p}_{n}" for p in self.populations() for n in ("cox_fisher", "multivariable")]),
        }[section]

    @staticmethod
    def caption(stem: str) -> str:
        """Caption file of a figure (variants of one kind of figure share it)."""
        if stem.startswith("survival_km_"):
            return "report_survival_km.rst"
        if stem.startswith("continuation_"):
            kind = stem.split("_", 2)[2]
            return f"report_continuation_{kind}.rst"
        if stem.startswith("biomarkers_"):
            return f"report_biomarkers_{stem.rsplit('_', 1)[1]}.rst"
        return f"report_{stem}.rst"

    def figure_files(self, section: str, wrap: bool = False) -> list:
        """PNG and SVG of every figure; with ``wrap`` the PNG goes into `snakemake --report`."""
        files = []
        for stem in self.section_outputs(section)[0]:
            png, svg = f"results/figures/{stem}.png", f"results/figures/{stem}.svg"
            if wrap and self.report is not None:
                png = self.report(png, caption=f"../report/{self.caption(stem)}", category=CATEGORY,
                                  subcategory=section)
            files += [png, svg]
        return files

    def table_files(self, section: str) -> list[str]:
        return [f"results/tables/{stem}.tsv" for stem in self.section_outputs(section)[1]]

    # ------------------------------------------------------------------ which stages are in the run
    def _rules(self):
        return list(self.workflow.rules) if self.workflow is not None else []

    def stage_included(self, stage: str) -> bool:
        prefix = STAGE_RULE_PREFIX[stage]
        return any(rule.name.startswith(prefix) for rule in self._rules())

    def producible(self, path: str) -> bool:
        return any(rule.is_producer(path) for rule in self._rules() if not rule.name.startswith("report"))

    def stage_enabled(self, stage: str) -> bool:
        block = self.config.get(stage)
        if block is None or (isinstance(block, dict) and block.get("enabled", True) is False):
            return False
        if not self.stage_included(stage):
            return False
        files = self.stage_files(stage)
        optional = self.optional(stage)
        missing = [p for n, p in files.items() if n not in optional and not self.producible(p)]
        if missing:
            raise WiringError(f"report: the {stage} stage is included but no rule produces {', '.join(missing)}; "
                              "align ReportWiring.stage_files() in workflow/scripts/icistop/report/wiring.py "
                              "with the stage's outputs")
        return True

    def stage_inputs(self, stage: str):
        """Input function of a stage section rule: required files and the optional ones some rule makes."""
        def inputs(wildcards=None):
            optional = self.optional(stage)
            return {n: p for n, p in self.stage_files(stage).items() if n not in optional or self.producible(p)}
        return inputs

    def sections(self) -> list[str]:
        return CORE_SECTIONS + [s for s in STAGES if self.stage_enabled(s)]

    def inputs(self, wildcards=None) -> dict:
        """Named inputs of rule report: a section JSON per section in the run, their figures and tables,
        the template, and what provenance and the privacy check read."""
        sections = self.sections()
        inputs = {
            "template": "workflow/report/templates/report.html.j2",
            "summary": "results/validation/summary.json",
            "cutoff": "results/cohort/cutoff.json",
            "tables": [f"results/validation/{t}.parquet" for t in self.contract_tables],
            "figures": [f for s in sections for f in self.figure_files(s)],
            "display_tables": [f for s in sections for f in self.table_files(s)],
        }
        for s in sections:
            inputs[f"section_{s}"] = f"results/report/sections/{s}.json"
        # "what changed since the previous run" (icistop.report.history)
        inputs["endpoints"] = "results/endpoints/endpoints.parquet"
        if "survival" in sections:
            inputs["km_landmarks"] = "results/survival/km_landmarks.tsv"
            inputs["followup"] = "results/survival/followup.tsv"
        return inputs
