"""IPython extension of the local kernel: the notebook runs on local PySpark without AWS.

It ignores the Glue session magics (so the first cell runs and says so), generates sample logs like
`bcr demo` unless ``BCR_SESSION_LOGS`` names a folder of logs already, and provides ``spark`` as a Glue
session does. ``Workbench.open`` then reads those logs and writes to a scratch folder beside them.
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bedrock_costs.session import LOCAL_LOGS, LOCAL_TABLES

# Every line magic of aws-glue-sessions' kernel (KernelMagics): a notebook written for Glue runs here unchanged.
GLUE_MAGICS = [
    "additional_python_modules",
    "connections",
    "endpoint",
    "etl",
    "extra_jars",
    "extra_py_files",
    "glue_version",
    "iam_role",
    "idle_timeout",
    "list_sessions",
    "number_of_workers",
    "profile",
    "reconnect",
    "region",
    "security_config",
    "session_id",
    "session_id_prefix",
    "session_type",
    "spark_conf",
    "status",
    "stop_session",
    "streaming",
    "timeout",
    "worker_type",
]
SAMPLE_RECORDS = 2000


def prepare_logs(root: Path, records: int = SAMPLE_RECORDS) -> dict[str, str]:
    """Generate the demo's kind of logs (three days up to today, a few corrupt lines) under ``root``."""
    from bcr.generate import generate_logs

    logs, tables = root / "logs", root / "tables"
    start = datetime.now(UTC).date() - timedelta(days=3)
    generate_logs(logs, records=records, seed=7, start=start, days=3, corrupt=True)
    return {LOCAL_LOGS: str(logs), LOCAL_TABLES: str(tables)}


def load_ipython_extension(ipython: Any) -> None:
    def ignored(line: str = "", name: str = "") -> None:
        print(f"%{name} {line}".rstrip() + "  (ignored: local PySpark kernel, no Glue session)")

    for name in GLUE_MAGICS:
        ipython.register_magic_function(lambda line, name=name: ignored(line, name), magic_kind="line", magic_name=name)
    if not os.environ.get(LOCAL_LOGS):
        root = Path(tempfile.mkdtemp(prefix="bcr-notebook-"))
        os.environ.update(prepare_logs(root))
        print(f"Sample logs generated in {os.environ[LOCAL_LOGS]}; tables go to {os.environ[LOCAL_TABLES]}")
    from bedrock_costs.spark import local_session

    ipython.push({"spark": local_session(app_name="bcr-notebook", write_class_archive=False)})
