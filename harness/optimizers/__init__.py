"""Keras 3 optimizers and schedules that Keras does not ship.

A self-contained library: it imports nothing else from the harness. Works with any
Keras 3 backend; TensorFlow's sparse ``IndexedSlices`` path is used where available.
"""

from harness.optimizers.heun import Heun, TwiceEachBatch
from harness.optimizers.lazy import LazyAdam, MaskedLazy
from harness.optimizers.lookahead import Lookahead, SlowWeightsEvaluation
from harness.optimizers.momentum import CycledMomentum
from harness.optimizers.range_test import RangeTest, lr_range_test, plot_range_test, read_range_test
from harness.optimizers.schedules import CyclicalLearningRate, OneCycle

__all__ = [
    "CycledMomentum",
    "CyclicalLearningRate",
    "Heun",
    "LazyAdam",
    "Lookahead",
    "MaskedLazy",
    "OneCycle",
    "RangeTest",
    "SlowWeightsEvaluation",
    "TwiceEachBatch",
    "lr_range_test",
    "plot_range_test",
    "read_range_test",
]
