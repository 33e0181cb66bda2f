"""``bcr``: the command-line face of Bedrock Cost Reporting (demo, etl, generate, pricing, ...)."""
