"""Placeholder: replaced by its format module."""
FORMATS: list = []
