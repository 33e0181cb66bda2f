"""`bcr sessions`: the notebook's session settings from the deployed stack or the template, and its kernels."""
