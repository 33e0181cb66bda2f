"""Jupyter kernels for the notebook, installed into an environment (the project's .venv by default).

``glue_pyspark`` is aws-glue-sessions' kernel (a Glue interactive session, remote); ``bcr_local_pyspark``
runs the same notebook on local PySpark against generated logs, ignoring the Glue magics. Both start with
this interpreter, whatever ``python`` is first on PATH.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

GLUE_KERNEL = "glue_pyspark"
LOCAL_KERNEL = "bcr_local_pyspark"


def glue_kernel_source() -> Path:
    """The kernelspec folder aws-glue-sessions ships (what its `install-glue-kernels` installs)."""
    try:
        import aws_glue_interactive_sessions_kernel as package
    except ImportError as exc:
        raise RuntimeError("aws-glue-sessions is not installed: run `scripts/dev sessions`") from exc
    return Path(package.__file__).parent / GLUE_KERNEL


def _write_spec(folder: Path, argv: list[str], display_name: str, logos: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for logo in logos.glob("logo-*.png"):
        shutil.copy(logo, folder / logo.name)
    spec = {"argv": argv, "display_name": display_name, "language": "python"}
    (folder / "kernel.json").write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")


def install_kernels(prefix: str = sys.prefix) -> list[Path]:
    """Install both kernelspecs under ``<prefix>/share/jupyter/kernels``; return their folders."""
    from jupyter_client.kernelspec import KernelSpecManager

    source = glue_kernel_source()
    glue_spec = json.loads((source / "kernel.json").read_text(encoding="utf-8"))
    argv = [sys.executable if arg == "python" else arg for arg in glue_spec["argv"]]
    manager = KernelSpecManager()
    installed = []
    with tempfile.TemporaryDirectory() as scratch:
        for name, args, title in (
            (GLUE_KERNEL, argv, glue_spec["display_name"]),
            (
                LOCAL_KERNEL,
                [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}", "--ext=bcr.sessions.local"],
                "Bedrock costs (local PySpark)",
            ),
        ):
            folder = Path(scratch) / name
            _write_spec(folder, args, title, source)
            installed.append(Path(manager.install_kernel_spec(str(folder), name, prefix=prefix)))
    return installed
