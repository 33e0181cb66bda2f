"""`sam build` then `sam package` against moto's S3 on 127.0.0.1: everything the job needs gets uploaded,
the packaged template points only at S3, and the package the job runs works on a fresh interpreter."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_template import ROOT, load_template, run_tool, tool
from loopback import cloudformation_responses
from moto.server import ThreadedMotoServer

ARTIFACTS, DATA = "sam-artifacts", "bcr-data"
PATH_PROPERTIES = ("CodeUri", "ScriptLocation", "ContentUri", "DefinitionUri", "TemplateURL", "Location")


@dataclass
class Packaged:
    endpoint: str
    build: Path
    template: dict
    function_zip: bytes


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Packaged]:
    """One `sam build` and one `sam package` for the module (they are the slow part)."""
    work = tmp_path_factory.mktemp("sam")
    build = work / "build"
    built = run_tool([tool("sam", "sam"), "build", "--template-file", ROOT / "template.yaml", "--build-dir", build])
    assert built.returncode == 0, built.stdout + built.stderr
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    s3 = boto3.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket=ARTIFACTS)
    output = work / "packaged.yaml"
    result = run_tool(
        [tool("sam", "sam"), "package", "--template-file", build / "template.yaml", "--s3-bucket", ARTIFACTS,
         "--output-template-file", output, "--region", "us-east-1", "--no-progressbar"],
        endpoint=endpoint,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    template = load_template(output)
    uri = template["Resources"]["AssetPublisherFunction"]["Properties"]["CodeUri"]
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    function_zip = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    yield Packaged(endpoint, build, template, function_zip)
    server.stop()


def strings(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from strings(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from strings(value, f"{path}[{index}]")
    elif isinstance(node, str):
        yield path, node


def test_the_packaged_template_points_only_at_s3(packaged: Packaged) -> None:
    """Every value that named a file or folder of the build now names an uploaded object."""

    def local(where: str, value: str) -> bool:
        """A property value (not a resource name inside Ref/GetAtt) naming something on this disk."""
        if ".Properties." not in where or any(f".{k}" in where for k in ("Ref", "Fn::GetAtt", "Fn::Sub")):
            return False
        if len(value) > 255 or any(c.isspace() for c in value) or value in ("", "."):
            return False
        return (packaged.build / value).exists() or (value.startswith("/") and Path(value).exists())

    built = dict(strings(load_template(packaged.build / "template.yaml")))
    was_local = {where for where, value in built.items() if local(where, value)}
    included = {
        f".Resources.{name}.Properties.Fn::Transform.Parameters.Location"
        for name, resource in packaged.template["Resources"].items()
        if resource["Properties"].get("Fn::Transform", {}).get("Name") == "AWS::Include"
    }
    assert len(included) == 8  # the QuickSight data source, six datasets and the dashboard
    assert was_local == {".Resources.AssetPublisherFunction.Properties.CodeUri", *included}
    after = dict(strings(packaged.template))
    assert {where: after[where] for where in was_local if not after[where].startswith(f"s3://{ARTIFACTS}/")} == {}
    assert [(where, value) for where, value in after.items() if local(where, value)] == []
    paths = [(where, value) for where, value in after.items() if where.rsplit(".", 1)[-1] in PATH_PROPERTIES]
    assert [(w, v) for w, v in paths if not v.startswith(f"s3://{ARTIFACTS}/")] == []


def test_every_artefact_the_job_needs_is_in_the_uploaded_function(packaged: Packaged) -> None:
    names = set(zipfile.ZipFile(io.BytesIO(packaged.function_zip)).namelist())
    assert {"app.py", "assets/bedrock_cost_etl.py", "assets/bedrock_costs.zip", "assets/bedrock_prices.csv"} <= names
    archive = zipfile.ZipFile(io.BytesIO(packaged.function_zip))
    assert archive.read("assets/bedrock_cost_etl.py") == (ROOT / "glue" / "bedrock_cost_etl.py").read_bytes()
    assert archive.read("assets/bedrock_prices.csv") == (ROOT / "pricing" / "bedrock_prices.csv").read_bytes()


def fresh_python(code: str, **env: str) -> str:
    """Run ``code`` in a new interpreter that ignores PYTHONPATH and the user site; return its stdout."""
    result = subprocess.run(
        [sys.executable, "-I", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_the_uploaded_code_publishes_assets_that_run_an_etl_stage(
    packaged: Packaged, tmp_path: Path, corpus: Path
) -> None:
    # What CloudFormation does with the uploaded function: unpack it and call it with the Create event.
    function = tmp_path / "function"
    zipfile.ZipFile(io.BytesIO(packaged.function_zip)).extractall(function)
    s3 = boto3.client("s3", endpoint_url=packaged.endpoint)
    s3.create_bucket(Bucket=DATA)
    with cloudformation_responses() as (url, received):
        event = {
            "RequestType": "Create",
            "ResponseURL": url,
            "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/bcr/1",
            "RequestId": "r1",
            "LogicalResourceId": "Assets",
            "ResourceProperties": {"Bucket": DATA, "Prefix": "assets/", "TagAliases": '{"tenant": ["org"]}'},
        }
        fresh_python(
            f"""
            import json, sys
            sys.path.insert(0, {str(function)!r})
            import app
            app.handler(json.loads({json.dumps(event)!r}), None)
            """,
            AWS_ENDPOINT_URL=packaged.endpoint,
        )
    (answer,) = received
    assert answer["Status"] == "SUCCESS", answer["Reason"]
    data = answer["Data"]

    # The package the job gets through --extra-py-files, straight from where the job reads it.
    package = tmp_path / "bedrock_costs.zip"
    key = data["PackageUri"].removeprefix(f"s3://{DATA}/")
    package.write_bytes(s3.get_object(Bucket=DATA, Key=key)["Body"].read())
    catalog = s3.get_object(Bucket=DATA, Key=data["PricingUri"].removeprefix(f"s3://{DATA}/"))["Body"].read()
    (tmp_path / "catalog.csv").write_bytes(catalog)
    log, expected = next(
        (path, ids) for path in sorted(corpus.rglob("*.json.gz")) if (ids := request_ids(path)) is not None
    )

    output = fresh_python(
        f"""
        import json, sys
        sys.path.insert(0, {str(package)!r})
        import bedrock_costs
        assert bedrock_costs.__file__.startswith({str(package)!r}), bedrock_costs.__file__
        from pathlib import Path
        from pyspark.sql import SparkSession
        from bedrock_costs.catalog import parse_catalog
        from bedrock_costs.discover import discover_local
        from bedrock_costs.parse import parse_lines
        from bedrock_costs.read import read_lines
        from bedrock_costs.spark import PIPELINE_CONF

        builder = SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false")
        builder = builder.config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
        for key, value in PIPELINE_CONF.items():
            builder = builder.config(key, value)
        spark = builder.getOrCreate()
        objects = [o for o in discover_local({str(corpus)!r}) if o.path == {str(log)!r}]
        parsed = parse_lines(read_lines(spark, objects))
        rows = parsed.where("reject_reason IS NULL").select("request_id").collect()
        prices = parse_catalog(Path({str(tmp_path / "catalog.csv")!r}).read_text(), "catalog.csv")
        print(json.dumps({{"objects": len(objects), "requests": [r.request_id for r in rows], "prices": len(prices)}}))
        spark.stop()
        """,
        SPARK_LOCAL_IP="127.0.0.1",
    )
    result = json.loads(output.strip().splitlines()[-1])
    assert result["objects"] == 1 and result["prices"] > 100
    assert sorted(result["requests"]) == expected


def request_ids(path: Path) -> list[str] | None:
    """The request ids of an intact log object whose every line is a record; ``None`` for any other object."""
    try:
        records = [json.loads(line) for line in gzip.decompress(path.read_bytes()).decode().splitlines()]
    except (OSError, EOFError, ValueError):
        return None
    ids = [record.get("requestId") for record in records if isinstance(record, dict)]
    return sorted(ids) if ids and len(ids) == len(records) and all(ids) else None
