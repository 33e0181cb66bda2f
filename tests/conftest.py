"""Shared fixtures: one local SparkSession per test run, one generated log corpus, one `bcr demo` run."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# Fake credentials and a region so no test can reach a real AWS account by accident.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
)
os.environ.pop("AWS_PROFILE", None)


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    """The process-wide local session (the CLI reuses it); tests must not stop it."""
    from bedrock_costs.spark import local_session

    yield local_session(app_name="bcr-tests", cores=2, write_class_archive=False)


@pytest.fixture(scope="session")
def jvm_view(spark) -> object:
    """py4j's Java side of the JVM view PySpark resolves class names in: its imports, as the JVM holds them."""
    from py4j.java_gateway import JavaObject

    server = JavaObject("GATEWAY_SERVER", spark.sparkContext._gateway._gateway_client)
    return server.getGateway().getDefaultJVMView()


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated log bucket with every record shape, duplicates and corrupt input."""
    from bcr.generate import generate_logs

    root = tmp_path_factory.mktemp("corpus")
    generate_logs(root, records=1500, seed=11, corrupt=True)
    return root


@pytest.fixture(scope="session")
def etl_tables(corpus: Path, tmp_path_factory: pytest.TempPathFactory, spark) -> Path:
    """`bcr etl` run once on the corpus (with its profile file): the reference other runs are held to."""
    from bcr.cli import main

    out = tmp_path_factory.mktemp("etl-tables")
    assert (
        main(["etl", "--logs", str(corpus), "--out", str(out), "--profiles", str(corpus / "inference_profiles.json")])
        == 0
    )
    return out


# A second dashboard in the committed layout, using visual types and options the committed one does not
# (relative-date controls, sheet-local controls, an unaggregated table, a CustomSql dataset, sumIf, …).
DEFINITIONS_FIXTURE = Path(__file__).parent / "fixtures" / "quicksight_definitions"


@dataclass(frozen=True)
class DemoRun:
    folder: Path
    exit_code: int
    output: str

    @property
    def tables(self) -> Path:
        return self.folder / "tables"

    @property
    def report(self) -> Path:
        """The committed dashboard (quicksight_definitions/) rendered over the demo tables."""
        return self.folder / "report.html"

    @property
    def fixture_report(self) -> Path:
        """The fixture dashboard rendered over the same tables."""
        return self.folder / "fixture-report.html"


@pytest.fixture(scope="session")
def definitions_fixture() -> Path:
    return DEFINITIONS_FIXTURE


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory, spark) -> DemoRun:
    """`bcr demo` as a newcomer runs it (default size and definitions), then the fixture dashboard's report."""
    from bcr.cli import main

    folder = tmp_path_factory.mktemp("demo") / "bcr-demo"
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = main(["demo", "--dir", str(folder)])
    run = DemoRun(folder, code, output.getvalue())
    with contextlib.redirect_stdout(io.StringIO()):
        arguments = ["--tables", str(run.tables), "--definitions", str(DEFINITIONS_FIXTURE)]
        assert main(["report", *arguments, "--out", str(run.fixture_report)]) == 0
    return run
