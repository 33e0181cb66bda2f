"""The notebook's kernels, started the way Jupyter starts them: the kernelspecs are installed into a scratch
Jupyter folder and launched through ``jupyter_client``.

The Glue PySpark kernel (aws-glue-sessions) answers the first cell's session magics and creates no session
(no AWS call: every endpoint it could use is a loopback listener that counts connections); a statement, by
contrast, does try to create one, which shows the listener would notice. The local PySpark kernel runs the
whole notebook on generated logs. Needs the sessions dependency group, which `scripts/dev test` installs.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

try:
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
except ImportError:  # pragma: no cover - the message is the point
    pytest.fail("the sessions dependency group is missing: run `scripts/dev sessions` (scripts/dev test does)")

from bcr.sessions.config import MAGICS_TAG
from bcr.sessions.kernels import GLUE_KERNEL, LOCAL_KERNEL, install_kernels
from bedrock_costs.session import LOCAL_LOGS, LOCAL_TABLES

NOTEBOOK = Path(__file__).resolve().parents[2] / "glue" / "notebooks" / "develop_cost_etl.ipynb"


def notebook_cells() -> list[dict[str, Any]]:
    return json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]


def first_cell() -> str:
    return "".join(next(c for c in notebook_cells() if MAGICS_TAG in c["metadata"].get("tags", []))["source"])


class Listener:
    """A loopback TCP port standing in for every AWS endpoint and for the HTTP(S) proxy: it records the first
    line of each request (``CONNECT pypi.org:443 …``, ``POST / …``) and closes the connection.
    """

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.requests: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(5)
                try:
                    self.requests.append(connection.recv(4096).split(b"\r\n", 1)[0].decode("latin-1"))
                except OSError:
                    self.requests.append("(nothing sent)")

    def aws_requests(self) -> list[str]:
        """Everything but the kernel's check for a newer aws-glue-sessions on PyPI."""
        return [line for line in self.requests if not line.startswith("CONNECT pypi.org:")]

    def close(self) -> None:
        self.socket.close()


def closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def kernel_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Both kernelspecs in a scratch environment's Jupyter folder, nothing of the user's or of .venv's."""
    root = tmp_path_factory.mktemp("jupyter")
    with pytest.MonkeyPatch.context() as env:
        for name in ("JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTER_CONFIG_DIR", "IPYTHONDIR"):
            env.setenv(name, str(root / name.lower()))
        env.setenv("JUPYTER_PATH", str(root / "env" / "share" / "jupyter"))
        installed = install_kernels(str(root / "env"))
        assert sorted(p.name for p in installed) == sorted([GLUE_KERNEL, LOCAL_KERNEL])
        yield root / "env" / "share" / "jupyter" / "kernels"


def start(kernel_dirs: Path, name: str, env: dict[str, str]) -> tuple[KernelManager, Any]:
    manager = KernelManager(kernel_name=name, kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernel_dirs)]))
    manager.start_kernel(env={**os.environ, **env})
    client = manager.client()
    client.start_channels()
    client.wait_for_ready(timeout=120)
    return manager, client


def execute(client: Any, code: str, timeout: float = 120) -> tuple[str, str]:
    """(reply status, everything the cell printed or raised)."""
    printed: list[str] = []

    def output(message: dict[str, Any]) -> None:
        content = message["content"]
        if message["msg_type"] == "stream":
            printed.append(content["text"])
        elif message["msg_type"] in ("execute_result", "display_data"):
            printed.append(content["data"].get("text/plain", ""))
        elif message["msg_type"] == "error":
            printed.append("\n".join(content["traceback"]))

    reply = client.execute_interactive(code, output_hook=output, timeout=timeout)
    return reply["content"]["status"], "".join(printed)


def test_the_glue_kernel_answers_the_session_magics_without_calling_aws(kernel_dirs: Path) -> None:
    aws = Listener()
    here = f"http://127.0.0.1:{aws.port}"
    env = {
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": here,
        "glue_endpoint_url": here,  # the kernel's own setting for its Glue client
        # Anything else (the kernel asks PyPI for its latest version) goes through the listener as a proxy.
        "HTTPS_PROXY": here,
        "HTTP_PROXY": here,
        "NO_PROXY": "",
        "AWS_MAX_ATTEMPTS": "1",
    }
    cell = first_cell()
    (spark_conf,) = [line.removeprefix("%spark_conf ") for line in cell.splitlines() if line.startswith("%spark_conf ")]
    manager, client = start(kernel_dirs, GLUE_KERNEL, env)
    try:
        status, printed = execute(client, cell)
        assert status == "ok", printed
        for line in (
            "Setting Glue version to: 5.1",
            "Setting new worker type to: G.1X",
            "Setting new number of workers to: 4",
            "idle_timeout has been set to 30 minutes.",
            "iam_role has been set to <JobRole.Arn>.",
            "Setting new security_config to: <GlueSecurityConfiguration>",
            "<Assets.PackageUri>",
            # Every setting the cell gives, the session-start ones and the job's.
            f"Setting new Spark configuration to: {spark_conf}\n",
        ):
            assert line in printed, printed
        status, printed = execute(client, "%status")
        assert (status, printed.strip()) == ("ok", "There is no current session.")
        assert aws.aws_requests() == [], "configuring the session must not call AWS"

        # The listener would notice: a statement makes the kernel create a session, through the loopback port.
        _, printed = execute(client, "1 + 1")
        assert aws.aws_requests(), printed
        assert "Trying to create a Glue session" in printed
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
        aws.close()


@pytest.mark.spark
def test_the_local_kernel_runs_the_whole_notebook_offline(kernel_dirs: Path, tmp_path: Path) -> None:
    from bcr.sessions.local import prepare_logs

    env = prepare_logs(tmp_path, records=300)
    env |= {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{closed_port()}", "BCR_DRIVER_MEMORY": "1g"}
    manager, client = start(kernel_dirs, LOCAL_KERNEL, env)
    try:
        outputs = []
        for cell in notebook_cells():
            if cell["cell_type"] == "code":
                status, printed = execute(client, "".join(cell["source"]), timeout=600)
                assert status == "ok", printed
                outputs.append(printed)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert "%glue_version 5.1  (ignored: local PySpark kernel, no Glue session)" in outputs[0]
    assert "-> reconciled" in "".join(outputs)
    assert "Total spend" in outputs[-1]
    assert (Path(env[LOCAL_TABLES]) / "invocations").is_dir() and Path(env[LOCAL_LOGS]).is_dir()
