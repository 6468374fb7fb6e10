"""Input data: contract, validation, issues, table I/O, adapters, synthetic generator."""
