"""Reproducibility harness for deep-learning training claims."""

__version__ = "0.1.0"
