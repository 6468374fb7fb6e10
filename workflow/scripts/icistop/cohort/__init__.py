"""Cohort definition and endpoints."""
