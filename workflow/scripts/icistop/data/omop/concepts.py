"""The concept file of the OMOP adapter (config/omop_concepts.yaml): loading, checking and id lookups."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from icistop.data.issues import UserError

REGIMEN_CLASSES = ("PD-1", "PD-L1", "CTLA-4", "LAG-3", "other")
SECTIONS = ("gender", "colorectal_cancer", "metastasis", "m_category", "values", "tests", "lynch_condition", "numeric",
            "response", "ctdna", "episode", "ici_ingredients", "stop_reasons")
TESTS = ("msi_status", "mmr_status", "kras", "nras", "braf_v600e", "lynch_syndrome")
STOP_REASONS = ("planned_completion", "elective_response", "toxicity", "patient_choice", "surgery", "progression",
                "death", "other")


def ids(entries) -> list[int]:
    """Concept ids of a list of {concept_id, name} entries."""
    return [int(e["concept_id"]) for e in entries or []]


def value_map(values: dict) -> dict[int, str]:
    """{value concept id: category} of a {category: [entries]} mapping (first category listed wins)."""
    out: dict[int, str] = {}
    for category, entries in values.items():
        for cid in ids(entries):
            out.setdefault(cid, str(category))
    return out


def load_concepts(path: str | Path) -> dict:
    """Read and check the concept file; a structural problem is a one-line UserError naming file and key."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise UserError(f"OMOP concept file {path}: not found") from None
    except yaml.YAMLError as exc:
        raise UserError(f"OMOP concept file {path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise UserError(f"OMOP concept file {path}: expected a mapping of sections")
    missing = [s for s in SECTIONS if s not in data]
    if missing:
        raise UserError(f"OMOP concept file {path}: missing section(s) {', '.join(missing)}")

    def check_list(entries, where):
        if not isinstance(entries, list):
            raise UserError(f"OMOP concept file {path}, {where}: expected a list of {{concept_id, name}}")
        for e in entries:
            if not isinstance(e, dict) or not isinstance(e.get("concept_id"), int) or e["concept_id"] < 0:
                raise UserError(f"OMOP concept file {path}, {where}: entry {e!r} needs an integer concept_id >= 0")

    for key in ("female", "male"):
        check_list(data["gender"].get(key), f"gender.{key}")
    for group in ("right_colon", "left_colon", "rectum", "unknown"):
        check_list(data["colorectal_cancer"].get(group, []), f"colorectal_cancer.{group}")
    for site in ("liver", "lung", "lymph_node", "peritoneum", "bone"):
        entry = data["metastasis"].get(site)
        if not isinstance(entry, dict):
            raise UserError(f"OMOP concept file {path}, metastasis.{site}: expected measurement and condition lists")
        check_list(entry.get("measurement", []), f"metastasis.{site}.measurement")
        check_list(entry.get("condition", []), f"metastasis.{site}.condition")
    for name in TESTS:
        test = data["tests"].get(name)
        if not isinstance(test, dict):
            raise UserError(f"OMOP concept file {path}, tests.{name}: missing")
        check_list(test.get("concepts"), f"tests.{name}.concepts")
        for cat, entries in (test.get("values") or {}).items():
            check_list(entries, f"tests.{name}.values.{cat}")
        if "any_result" in test and test["any_result"] not in (test.get("values") or {}):
            raise UserError(f"OMOP concept file {path}, tests.{name}.any_result: '{test['any_result']}' is not one "
                            f"of its values ({', '.join(test.get('values') or {})})")
    for ing in data["ici_ingredients"]:
        check_list([ing], "ici_ingredients")
        if ing.get("class") not in REGIMEN_CLASSES:
            raise UserError(f"OMOP concept file {path}, ici_ingredients: '{ing.get('name')}' has class "
                            f"'{ing.get('class')}'; expected one of {', '.join(REGIMEN_CLASSES)}")
    for reason, patterns in data["stop_reasons"].items():
        if reason not in STOP_REASONS:
            raise UserError(f"OMOP concept file {path}, stop_reasons: '{reason}' is not a contract stop_reason "
                            f"({', '.join(STOP_REASONS)})")
        for p in patterns:
            try:
                re.compile(p)
            except re.error as exc:
                raise UserError(f"OMOP concept file {path}, stop_reasons.{reason}: '{p}' is not a regular "
                                f"expression ({exc})") from None
    return data
