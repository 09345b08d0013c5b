"""Reproducibility harness for deep-learning training claims."""

import os

__version__ = "0.1.0"

# One CPU kernel path on every x86 machine: oneDNN (TensorFlow's matrix-product kernels, also
# PyTorch's) picks kernels by the CPU's best instruction set, so an AVX-512 machine computed other
# last digits than an AVX2 one. Capped at AVX2 — which every x86 CPU of the last decade has — both
# run the same kernels. Before any backend is imported; a value the user exports wins (``ALL``:
# no cap). Recorded in every run's provenance (``onednn``).
os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")
