"""Shared figure helpers."""
