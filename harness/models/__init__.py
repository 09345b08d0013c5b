"""Model builders, each `build(input_shape, outputs, seed, **options)` (see :mod:`harness.workloads.components`)."""
