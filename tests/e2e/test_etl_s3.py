"""End to end: `bcr etl --logs s3://...` against moto's S3 on 127.0.0.1, and S3 failures as one-line errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from bcr.cli import main
from bedrock_costs.schemas import INVOCATIONS, PIPELINE_RUNS

BUCKET = "central-bedrock-logs"
PREFIX = "bedrock/"


@pytest.fixture(scope="module")
def s3_endpoint(corpus: Path) -> Iterator[str]:
    """A loopback S3 holding the generated corpus under a key prefix, as a central log bucket would."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    client = boto3.client("s3", endpoint_url=url, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    for path in corpus.rglob("*"):
        if path.is_file():
            client.put_object(Bucket=BUCKET, Key=PREFIX + path.relative_to(corpus).as_posix(), Body=path.read_bytes())
    yield url
    server.stop()


@pytest.fixture
def aws_endpoint(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_endpoint)
    return s3_endpoint


def test_s3_logs_give_the_same_ledger_as_the_local_copy(aws_endpoint: str, corpus: Path, tmp_path: Path, spark) -> None:
    profiles = str(corpus / "inference_profiles.json")
    cache = tmp_path / "cache"
    from_s3, local = tmp_path / "from-s3", tmp_path / "local"
    uri = f"s3://{BUCKET}/{PREFIX}"
    assert main(["etl", "--logs", uri, "--out", str(from_s3), "--cache", str(cache), "--profiles", profiles]) == 0
    assert main(["etl", "--logs", str(corpus), "--out", str(local), "--profiles", profiles]) == 0

    def ledger(out: Path) -> list[tuple]:
        rows = spark.read.schema(INVOCATIONS).parquet(str(out / "invocations")).drop("run_id", "ingested_at")
        return sorted(tuple(str(v) for v in row) for row in rows.collect())

    assert ledger(from_s3) == ledger(local)
    assert not any(p.name.endswith(".part") for p in cache.rglob("*"))
    # A second run downloads nothing new and adds nothing.
    assert main(["etl", "--logs", uri, "--out", str(from_s3), "--cache", str(cache), "--profiles", profiles]) == 0
    last = spark.read.schema(PIPELINE_RUNS).parquet(str(from_s3 / "pipeline_runs")).orderBy("started_at").collect()[-1]
    assert (last.files_new, last.rows_written) == (0, 0)


def test_missing_bucket_is_one_clear_line(
    aws_endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["etl", "--logs", "s3://no-such-bucket/logs/", "--out", str(tmp_path / "o"), "--cache", str(tmp_path)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "no-such-bucket" in err and "\n" not in err


def test_unreachable_s3_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")
    argv = ["etl", "--logs", f"s3://{BUCKET}/{PREFIX}", "--out", str(tmp_path / "o"), "--cache", str(tmp_path)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "127.0.0.1:9" in err and "Traceback" not in err
