"""What a Glue session's workbench reads, from the job cell's values: the logs prefix (S3 on a moto server on
127.0.0.1), the published catalog and tag aliases, application profiles of the regions in the sample
(Stubber) and the deployed rulesets (Stubber); the offline kernel's inputs from a local folder.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto.server import ThreadedMotoServer

from bedrock_costs.catalog import DEFAULT_CATALOG, load_catalog
from bedrock_costs.session import LOCAL_LOGS, LOCAL_TABLES, glue_sources, local_sources

ACCOUNT = "123456789012"
LOGS, DATA = "org-bedrock-logs", "costs-prod-databucket"
ASSETS = f"s3://{DATA}/assets/3f1c9a7e5b2d4c60/"
PROFILE = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:application-inference-profile/chatbot01"
TODAY = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def key(hour: datetime, region: str = "us-east-1") -> str:
    folder = f"bedrock/AWSLogs/{ACCOUNT}/BedrockModelInvocationLogs/{region}/{hour:%Y/%m/%d/%H}"
    return f"{folder}/{hour:%Y%m%dT%H}0000Z_a.json.gz"


RECENT, OLD = key(TODAY - timedelta(hours=1), "eu-west-1"), key(TODAY - timedelta(days=5))
OFFLOADED = key(TODAY - timedelta(hours=1), "eu-west-1").rsplit("/", 1)[0] + "/data/body.json.gz"
JOB = {
    "stack": "costs-prod",
    "logs_uri": f"s3://{LOGS}/bedrock/",
    "pricing_uri": f"{ASSETS}bedrock_prices.csv",
    "tag_aliases": f"{ASSETS}tag_aliases.json",
    "tables_uri": f"s3://{DATA}/tables/",
    "scratch_tables_uri": f"s3://{DATA}/glue/notebook/tables/",
    "rulesets": "costs-prod-invocations",
}


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    s3 = boto3.Session(aws_access_key_id="t", aws_secret_access_key="t", region_name="us-east-1").client(
        "s3", endpoint_url=url
    )
    for bucket in (LOGS, DATA):
        s3.create_bucket(Bucket=bucket)
    for log in (RECENT, OLD):
        s3.put_object(Bucket=LOGS, Key=log, Body=gzip.compress(b'{"requestId": "r1"}\n', mtime=0))
    s3.put_object(Bucket=LOGS, Key=OFFLOADED, Body=b"usage only")
    s3.put_object(Bucket=DATA, Key=JOB["pricing_uri"].split(f"{DATA}/", 1)[1], Body=DEFAULT_CATALOG.read_bytes())
    s3.put_object(Bucket=DATA, Key=JOB["tag_aliases"].split(f"{DATA}/", 1)[1], Body=b'{"tenant": ["org"]}')
    yield url
    server.stop()


def test_a_glue_session_reads_the_jobs_inputs(endpoint: str) -> None:
    session = boto3.Session(aws_access_key_id="t", aws_secret_access_key="t", region_name="us-east-1")
    bedrock = session.client("bedrock", region_name="eu-west-1")
    glue = session.client("glue")
    asked: list[tuple[str, str | None]] = []

    def client(service: str, region_name: str | None = None) -> Any:
        asked.append((service, region_name))
        return {"s3": session.client("s3", endpoint_url=endpoint), "bedrock": bedrock, "glue": glue}[service]

    with Stubber(bedrock) as profiles, Stubber(glue) as rulesets:
        profiles.add_response(
            "list_inference_profiles",
            {
                "inferenceProfileSummaries": [
                    {
                        "inferenceProfileName": "chatbot",
                        "inferenceProfileArn": PROFILE,
                        "inferenceProfileId": "chatbot01",
                        "models": [{"modelArn": "arn:aws:bedrock:eu-west-1::foundation-model/amazon.nova-pro-v1:0"}],
                        "status": "ACTIVE",
                        "type": "APPLICATION",
                    }
                ]
            },
            {"typeEquals": "APPLICATION"},
        )
        sources = glue_sources(JOB, (TODAY - timedelta(days=1)).date(), None, client)
        rulesets.add_response(
            "get_data_quality_ruleset",
            {
                "Name": "costs-prod-invocations",
                "Ruleset": "Rules = [ RowCount > 0 ]",
                "TargetTable": {"TableName": "invocations", "DatabaseName": "bedrock_costs"},
            },
            {"Name": "costs-prod-invocations"},
        )
        (ruleset,) = sources.rulesets()
    assert [obj.path for obj in sources.objects] == [f"s3://{LOGS}/{RECENT}"]  # the old delivery is outside
    assert sources.catalog == load_catalog(DEFAULT_CATALOG)
    assert sources.tag_aliases["tenant"] == ("org",)
    assert list(sources.profiles) == [PROFILE]
    assert ("bedrock", "eu-west-1") in asked  # the regions of the sample, as the job asks
    assert sources.tables == f"s3://{DATA}/glue/notebook/tables"
    assert sources.read_object(f"s3://{LOGS}/{OFFLOADED}") == b"usage only"
    assert (ruleset.table, ruleset.dqdl) == ("invocations", "Rules = [ RowCount > 0 ]")


def test_a_local_kernel_reads_a_folder_and_refuses_s3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    logs = tmp_path / "logs"
    target = logs / key(TODAY).removeprefix("bedrock/")
    target.parent.mkdir(parents=True)
    target.write_bytes(gzip.compress(b"{}\n"))
    monkeypatch.setenv(LOCAL_LOGS, str(logs))
    monkeypatch.delenv(LOCAL_TABLES, raising=False)
    sources = local_sources()
    assert [Path(obj.path) for obj in sources.objects] == [target]
    assert sources.tables == str(tmp_path / "notebook-tables") and sources.profiles == {}
    assert [r.name for r in sources.rulesets()] == ["invocations", "daily_costs", "pipeline_runs"]
    monkeypatch.setenv(LOCAL_LOGS, f"s3://{LOGS}/bedrock/")
    with pytest.raises(
        ValueError, match="local Spark cannot read s3://org-bedrock-logs/bedrock/: set BCR_SESSION_LOGS"
    ):
        local_sources()
