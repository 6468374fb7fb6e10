"""OMOP CDM v5.4 source: database access (db), the CDM tables read (ddl), concept lists (concepts) and the
mapping to data contract v1 (adapter). docs/omop-mapping.md states every rule."""
