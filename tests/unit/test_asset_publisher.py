"""The asset publisher custom resource: reproducible bundle, content-hashed prefixes, retire, and failures."""

from __future__ import annotations

import importlib.util
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import boto3
import pytest
from aws_template import ROOT, default_refs, fresh_template, resolve
from loopback import cloudformation_responses
from moto import mock_aws

PUBLISHER = ROOT / "functions" / "asset_publisher"
BUCKET = "data-bucket"


def load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bundle = load(PUBLISHER / "bundle.py", "asset_bundle")


@pytest.fixture
def built(tmp_path: Path) -> Path:
    """What `sam build` puts into the function: the handler and assets/."""
    bundle.build(tmp_path / "function")
    return tmp_path / "function"


@pytest.fixture
def s3() -> Iterator[object]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def event(request: str, url: str, tag_aliases: str = "{}", physical_id: str | None = None) -> dict:
    properties = {"ServiceToken": "arn", "Bucket": BUCKET, "Prefix": "assets/", "TagAliases": tag_aliases}
    return {
        "RequestType": request,
        "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/bcr/1",
        "RequestId": "req-1",
        "LogicalResourceId": "Assets",
        "ResourceType": "Custom::GlueJobAssets",
        "ResourceProperties": properties,
        **({"PhysicalResourceId": physical_id} if physical_id else {}),
    }


def invoke(app: ModuleType, s3, request: str, **kwargs) -> dict:
    with cloudformation_responses() as (url, received):
        app.handler(event(request, url, **kwargs), None, s3=s3)
    assert len(received) == 1, "CloudFormation gets exactly one answer"
    return received[0]


def keys(s3, prefix: str = "assets/") -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))


def test_the_bundle_is_reproducible_and_holds_the_package(built: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    bundle.build(again)
    for name in ("bedrock_costs.zip", "bedrock_cost_etl.py", "bedrock_prices.csv"):
        assert (built / "assets" / name).read_bytes() == (again / "assets" / name).read_bytes(), name
    names = zipfile.ZipFile(built / "assets" / "bedrock_costs.zip").namelist()
    assert "bedrock_costs/__init__.py" in names and "bedrock_costs/pipeline.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert sorted(p.name for p in built.iterdir()) == ["app.py", "assets"]


def test_create_publishes_every_asset_under_its_content_hash(built: Path, s3) -> None:
    app = load(built / "app.py", "publisher_create")
    answer = invoke(app, s3, "Create", tag_aliases='{"tenant": ["org"]}')
    assert answer["Status"] == "SUCCESS", answer["Reason"]
    prefix = answer["PhysicalResourceId"]
    assert prefix.startswith(f"s3://{BUCKET}/assets/") and prefix.endswith("/")
    data = answer["Data"]
    assert data["Prefix"] == prefix
    assert {data[k].removeprefix(prefix) for k in ("ScriptUri", "PackageUri", "PricingUri", "TagAliasesUri")} == {
        "bedrock_cost_etl.py",
        "bedrock_costs.zip",
        "bedrock_prices.csv",
        "tag_aliases.json",
    }
    root = prefix.removeprefix(f"s3://{BUCKET}/")
    assert keys(s3) == sorted(root + name for name in app.bundle('{"tenant": ["org"]}'))
    script = s3.get_object(Bucket=BUCKET, Key=root + "bedrock_cost_etl.py")["Body"].read()
    assert script == (ROOT / "glue" / "bedrock_cost_etl.py").read_bytes()
    aliases = json.loads(s3.get_object(Bucket=BUCKET, Key=root + "tag_aliases.json")["Body"].read())
    assert aliases == {"tenant": ["org"]}
    package = zipfile.ZipFile(io.BytesIO(s3.get_object(Bucket=BUCKET, Key=root + "bedrock_costs.zip")["Body"].read()))
    assert "bedrock_costs/schemas.py" in package.namelist()


def test_same_content_same_prefix_and_any_change_a_new_one(built: Path, s3) -> None:
    app = load(built / "app.py", "publisher_update")
    first = invoke(app, s3, "Create")["PhysicalResourceId"]
    assert invoke(app, s3, "Update", physical_id=first)["PhysicalResourceId"] == first
    # Key order and spacing do not matter, content does.
    same = invoke(app, s3, "Update", tag_aliases='{ "tenant":["a"],"team":["b"] }')["PhysicalResourceId"]
    assert invoke(app, s3, "Update", tag_aliases='{"team": ["b"], "tenant": ["a"]}')["PhysicalResourceId"] == same
    assert same != first
    (built / "assets" / "bedrock_prices.csv").write_bytes(b"changed")
    assert invoke(app, s3, "Update")["PhysicalResourceId"] not in (first, same)
    assert len({k.split("/")[1] for k in keys(s3)}) == 3  # old versions stay for runs already started


def test_delete_tags_the_old_prefix_for_the_lifecycle_rule(built: Path, s3) -> None:
    app = load(built / "app.py", "publisher_delete")
    old = invoke(app, s3, "Create")["PhysicalResourceId"]
    new = invoke(app, s3, "Update", tag_aliases='{"tenant": ["org"]}')["PhysicalResourceId"]
    assert invoke(app, s3, "Delete", physical_id=old)["Status"] == "SUCCESS"
    for key in keys(s3):
        tags = s3.get_object_tagging(Bucket=BUCKET, Key=key)["TagSet"]
        expected = [app.SUPERSEDED] if f"s3://{BUCKET}/{key}".startswith(old) else []
        assert tags == expected, key
    assert new != old
    # The bucket's lifecycle rule expires exactly what the publisher tags.
    tpl = fresh_template()
    rules = resolve(tpl["Resources"]["DataBucket"]["Properties"]["LifecycleConfiguration"], default_refs(tpl))["Rules"]
    assert [r["TagFilters"] for r in rules if "TagFilters" in r] == [[app.SUPERSEDED]]


def test_deleting_what_was_never_published_succeeds_without_touching_s3(built: Path, s3) -> None:
    app = load(built / "app.py", "publisher_noop")
    answer = invoke(app, s3, "Delete", physical_id="2026/12/02/[$LATEST]abc")
    assert answer["Status"] == "SUCCESS" and keys(s3) == []


@pytest.mark.parametrize(
    ("tag_aliases", "reason"),
    [("{not json", "TagAliases is not valid JSON"), ('["tenant"]', "TagAliases must be a JSON object")],
)
def test_bad_tag_aliases_fail_the_deployment_with_the_reason(built: Path, s3, tag_aliases: str, reason: str) -> None:
    app = load(built / "app.py", "publisher_bad_aliases")
    answer = invoke(app, s3, "Create", tag_aliases=tag_aliases)
    assert answer["Status"] == "FAILED" and reason in answer["Reason"]
    assert keys(s3) == []


def test_a_function_built_without_assets_fails_clearly(built: Path, s3) -> None:
    (built / "assets" / "bedrock_costs.zip").unlink()
    app = load(built / "app.py", "publisher_unbuilt")
    answer = invoke(app, s3, "Create")
    assert answer["Status"] == "FAILED"
    assert "bedrock_costs.zip" in answer["Reason"] and "sam build" in answer["Reason"]
