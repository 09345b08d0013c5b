"""CIFAR-10 input pipeline alone (target ≥ 20,000 images/s on the CPU side), and the data load.

Streams whole epochs of augmented, normalized training batches (random crop after
4-pixel padding, horizontal flip, batch 128) from the real training images, without a
model: ``tf.data`` (what the TensorFlow backend uses) and the NumPy ``PyDataset`` (the
other backends), one epoch at a time as ``fit`` would. Data from ``$HARNESS_DATA_DIR``.
"""

from __future__ import annotations

import argparse
import statistics
import time

from record import smoke_option, write_section

from harness.data import cifar10
from harness.data.augment import Augmentation, AugmentedBatches, TFAugmentedBatches, channel_stats


def _epoch_rates(batches, epochs: int, stream) -> list[float]:
    rates = []
    for epoch in range(epochs):
        batches.set_epoch(epoch)
        start = time.perf_counter()
        images = stream(batches)
        rates.append(images / (time.perf_counter() - start))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=5)
    smoke_option(parser)
    args = parser.parse_args()
    if args.smoke:
        args.epochs = 1
    start = time.perf_counter()
    data = cifar10.load()
    load_s = time.perf_counter() - start
    x, y = data.train.x, data.train.y
    if args.smoke:  # a slice of the training images
        x, y = x[:2048], y[:2048]
    mean, std = channel_stats(x)
    arguments = (x, y, 128, 1, Augmentation(4, True), mean, std)
    rows = [
        ("`tf.data` (TensorFlow backend)", TFAugmentedBatches(*arguments), lambda b: sum(len(y) for _, y in b.dataset)),
        (
            "NumPy `PyDataset` (any backend)",
            AugmentedBatches(*arguments),
            lambda b: sum(len(b[i][1]) for i in range(len(b))),
        ),
    ]
    table = []
    for label, batches, stream in rows:
        rates = _epoch_rates(batches, args.epochs, stream)
        verdict = "meets" if statistics.median(rates) >= 20_000 else "MISSES"
        table.append(f"| {label} | {statistics.median(rates):,.0f} | {min(rates):,.0f} | {verdict} ≥ 20,000 images/s |")
    body = (
        f"{len(y):,} training images from {data.source}; {args.epochs} epochs per pipeline, each a fresh "
        f"seeded plan (order, crop offsets, flips), batch 128, float32 output. Loading the arrays "
        f"(cache warm or cold, as found) took {load_s:.1f} s.\n\n"
        "| pipeline | median images/s | slowest epoch | target |\n| --- | ---: | ---: | --- |\n" + "\n".join(table)
    )
    write_section("CIFAR-10 input pipeline (CPU)", body)


if __name__ == "__main__":
    main()
