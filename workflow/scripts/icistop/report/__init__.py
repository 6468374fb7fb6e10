"""The HTML report: section builders, formatting, privacy, provenance, rendering."""
