"""One module per ``bcr`` verb; each exposes ``register(subparsers)``."""
