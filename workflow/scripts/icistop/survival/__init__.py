"""Question 1: survival after stopping ICI (tables for the report)."""
