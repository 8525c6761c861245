"""Helpers for the vanishing-gradients course (being written)."""
__version__ = "0.1.0"
