"""Dataset loaders (one module per dataset) and where their files are found."""
