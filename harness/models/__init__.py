"""Model builders by name (see :data:`harness.registry.MODELS`)."""
