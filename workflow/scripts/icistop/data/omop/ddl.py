"""The OMOP CDM v5.4 tables the adapter reads, with their v5.4 columns (OHDSI CommonDataModel DDL).

``create_statements`` writes them (all columns, v5.4 types and NOT NULL flags) for DuckDB and PostgreSQL;
``REQUIRED`` lists the tables and columns the adapter needs, checked before anything is read. The
Oncology extension tables ``episode`` and ``episode_event`` are optional.
"""

from __future__ import annotations

# (column, type, required) in v5.4 order; types are valid in both DuckDB and PostgreSQL
TABLES: dict[str, list[tuple[str, str, bool]]] = {
    "person": [
        ("person_id", "INTEGER", True), ("gender_concept_id", "INTEGER", True), ("year_of_birth", "INTEGER", True),
        ("month_of_birth", "INTEGER", False), ("day_of_birth", "INTEGER", False), ("birth_datetime", "TIMESTAMP", False),
        ("race_concept_id", "INTEGER", True), ("ethnicity_concept_id", "INTEGER", True), ("location_id", "INTEGER", False),
        ("provider_id", "INTEGER", False), ("care_site_id", "INTEGER", False), ("person_source_value", "VARCHAR(50)", False),
        ("gender_source_value", "VARCHAR(50)", False), ("gender_source_concept_id", "INTEGER", False),
        ("race_source_value", "VARCHAR(50)", False), ("race_source_concept_id", "INTEGER", False),
        ("ethnicity_source_value", "VARCHAR(50)", False), ("ethnicity_source_concept_id", "INTEGER", False),
    ],
    "observation_period": [
        ("observation_period_id", "INTEGER", True), ("person_id", "INTEGER", True),
        ("observation_period_start_date", "DATE", True), ("observation_period_end_date", "DATE", True),
        ("period_type_concept_id", "INTEGER", True),
    ],
    "death": [
        ("person_id", "INTEGER", True), ("death_date", "DATE", True), ("death_datetime", "TIMESTAMP", False),
        ("death_type_concept_id", "INTEGER", False), ("cause_concept_id", "INTEGER", False),
        ("cause_source_value", "VARCHAR(50)", False), ("cause_source_concept_id", "INTEGER", False),
    ],
    "care_site": [
        ("care_site_id", "INTEGER", True), ("care_site_name", "VARCHAR(255)", False),
        ("place_of_service_concept_id", "INTEGER", False), ("location_id", "INTEGER", False),
        ("care_site_source_value", "VARCHAR(50)", False), ("place_of_service_source_value", "VARCHAR(50)", False),
    ],
    "condition_occurrence": [
        ("condition_occurrence_id", "INTEGER", True), ("person_id", "INTEGER", True), ("condition_concept_id", "INTEGER", True),
        ("condition_start_date", "DATE", True), ("condition_start_datetime", "TIMESTAMP", False),
        ("condition_end_date", "DATE", False), ("condition_end_datetime", "TIMESTAMP", False),
        ("condition_type_concept_id", "INTEGER", True), ("condition_status_concept_id", "INTEGER", False),
        ("stop_reason", "VARCHAR(20)", False), ("provider_id", "INTEGER", False), ("visit_occurrence_id", "INTEGER", False),
        ("visit_detail_id", "INTEGER", False), ("condition_source_value", "VARCHAR(50)", False),
        ("condition_source_concept_id", "INTEGER", False), ("condition_status_source_value", "VARCHAR(50)", False),
    ],
    "drug_exposure": [
        ("drug_exposure_id", "INTEGER", True), ("person_id", "INTEGER", True), ("drug_concept_id", "INTEGER", True),
        ("drug_exposure_start_date", "DATE", True), ("drug_exposure_start_datetime", "TIMESTAMP", False),
        ("drug_exposure_end_date", "DATE", True), ("drug_exposure_end_datetime", "TIMESTAMP", False),
        ("verbatim_end_date", "DATE", False), ("drug_type_concept_id", "INTEGER", True), ("stop_reason", "VARCHAR(20)", False),
        ("refills", "INTEGER", False), ("quantity", "NUMERIC", False), ("days_supply", "INTEGER", False),
        ("sig", "TEXT", False), ("route_concept_id", "INTEGER", False), ("lot_number", "VARCHAR(50)", False),
        ("provider_id", "INTEGER", False), ("visit_occurrence_id", "INTEGER", False), ("visit_detail_id", "INTEGER", False),
        ("drug_source_value", "VARCHAR(50)", False), ("drug_source_concept_id", "INTEGER", False),
        ("route_source_value", "VARCHAR(50)", False), ("dose_unit_source_value", "VARCHAR(50)", False),
    ],
    "measurement": [
        ("measurement_id", "INTEGER", True), ("person_id", "INTEGER", True), ("measurement_concept_id", "INTEGER", True),
        ("measurement_date", "DATE", True), ("measurement_datetime", "TIMESTAMP", False), ("measurement_time", "VARCHAR(10)", False),
        ("measurement_type_concept_id", "INTEGER", True), ("operator_concept_id", "INTEGER", False),
        ("value_as_number", "NUMERIC", False), ("value_as_concept_id", "INTEGER", False), ("unit_concept_id", "INTEGER", False),
        ("range_low", "NUMERIC", False), ("range_high", "NUMERIC", False), ("provider_id", "INTEGER", False),
        ("visit_occurrence_id", "INTEGER", False), ("visit_detail_id", "INTEGER", False),
        ("measurement_source_value", "VARCHAR(50)", False), ("measurement_source_concept_id", "INTEGER", False),
        ("unit_source_value", "VARCHAR(50)", False), ("unit_source_concept_id", "INTEGER", False),
        ("value_source_value", "VARCHAR(50)", False), ("measurement_event_id", "BIGINT", False),
        ("meas_event_field_concept_id", "INTEGER", False),
    ],
    "observation": [
        ("observation_id", "INTEGER", True), ("person_id", "INTEGER", True), ("observation_concept_id", "INTEGER", True),
        ("observation_date", "DATE", True), ("observation_datetime", "TIMESTAMP", False),
        ("observation_type_concept_id", "INTEGER", True), ("value_as_number", "NUMERIC", False),
        ("value_as_string", "VARCHAR(60)", False), ("value_as_concept_id", "INTEGER", False),
        ("qualifier_concept_id", "INTEGER", False), ("unit_concept_id", "INTEGER", False), ("provider_id", "INTEGER", False),
        ("visit_occurrence_id", "INTEGER", False), ("visit_detail_id", "INTEGER", False),
        ("observation_source_value", "VARCHAR(50)", False), ("observation_source_concept_id", "INTEGER", False),
        ("unit_source_value", "VARCHAR(50)", False), ("qualifier_source_value", "VARCHAR(50)", False),
        ("value_source_value", "VARCHAR(50)", False), ("observation_event_id", "BIGINT", False),
        ("obs_event_field_concept_id", "INTEGER", False),
    ],
    "concept": [
        ("concept_id", "INTEGER", True), ("concept_name", "VARCHAR(255)", True), ("domain_id", "VARCHAR(20)", True),
        ("vocabulary_id", "VARCHAR(20)", True), ("concept_class_id", "VARCHAR(20)", True),
        ("standard_concept", "VARCHAR(1)", False), ("concept_code", "VARCHAR(50)", True), ("valid_start_date", "DATE", True),
        ("valid_end_date", "DATE", True), ("invalid_reason", "VARCHAR(1)", False),
    ],
    "concept_ancestor": [
        ("ancestor_concept_id", "INTEGER", True), ("descendant_concept_id", "INTEGER", True),
        ("min_levels_of_separation", "INTEGER", True), ("max_levels_of_separation", "INTEGER", True),
    ],
    "episode": [
        ("episode_id", "BIGINT", True), ("person_id", "BIGINT", True), ("episode_concept_id", "INTEGER", True),
        ("episode_start_date", "DATE", True), ("episode_start_datetime", "TIMESTAMP", False), ("episode_end_date", "DATE", False),
        ("episode_end_datetime", "TIMESTAMP", False), ("episode_parent_id", "BIGINT", False), ("episode_number", "INTEGER", False),
        ("episode_object_concept_id", "INTEGER", True), ("episode_type_concept_id", "INTEGER", True),
        ("episode_source_value", "VARCHAR(50)", False), ("episode_source_concept_id", "INTEGER", False),
    ],
    "episode_event": [
        ("episode_id", "BIGINT", True), ("event_id", "BIGINT", True), ("episode_event_field_concept_id", "INTEGER", True),
    ],
}
OPTIONAL_TABLES = {"episode", "episode_event", "observation", "care_site"}

# Tables and columns the adapter reads (checked before reading; a missing one is a one-line error)
REQUIRED: dict[str, list[str]] = {
    "person": ["person_id", "gender_concept_id", "year_of_birth", "month_of_birth", "day_of_birth",
               "care_site_id", "person_source_value"],
    "observation_period": ["person_id", "observation_period_start_date", "observation_period_end_date"],
    "death": ["person_id", "death_date"],
    "condition_occurrence": ["person_id", "condition_concept_id", "condition_start_date"],
    "drug_exposure": ["drug_exposure_id", "person_id", "drug_concept_id", "drug_exposure_start_date",
                      "drug_exposure_end_date", "stop_reason"],
    "measurement": ["measurement_id", "person_id", "measurement_concept_id", "measurement_date", "value_as_number",
                    "value_as_concept_id"],
    "concept_ancestor": ["ancestor_concept_id", "descendant_concept_id"],
}


def create_statements(schema: str, tables=None) -> list[str]:
    """CREATE SCHEMA / CREATE TABLE statements of the given tables (default all) in ``schema``."""
    out = [f"CREATE SCHEMA IF NOT EXISTS {schema}"]
    for name in tables or TABLES:
        cols = ",\n  ".join(f"{c} {t}{' NOT NULL' if req else ''}" for c, t, req in TABLES[name])
        out.append(f"CREATE TABLE {schema}.{name} (\n  {cols}\n)")
    return out
