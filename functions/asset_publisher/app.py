"""CloudFormation custom resource: publish the Glue job's assets under a content-hashed prefix of the data bucket.

`sam package` uploads a Glue job's ``ScriptLocation`` but not its ``--extra-py-files``, and nothing uploads a
price catalog. So `sam build` bundles the entry script, the ``bedrock_costs`` package zip and the catalog into
this function (see ``bundle.py``), and on every create or update CloudFormation calls it to copy them, with the
tag-alias config from the template parameter, to ``<Prefix><hash>/``. The hash covers every byte published:
new code or config lands beside the old version, the job's arguments move to it, and a run already started
keeps reading the old one. A prefix that stops being current is tagged ``superseded=true`` and expires
through the bucket's lifecycle rule.

Runs in the Lambda Python runtime (boto3 included); standard library otherwise.
"""

from __future__ import annotations

import hashlib
import json
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

ASSETS_DIR = Path(__file__).with_name("assets")
SCRIPT = "bedrock_cost_etl.py"
PACKAGE = "bedrock_costs.zip"
PRICING = "bedrock_prices.csv"
TAG_ALIASES = "tag_aliases.json"
SUPERSEDED = {"Key": "superseded", "Value": "true"}  # the bucket's lifecycle rule filters on this tag
_CONTENT_TYPES = {".py": "text/x-python", ".zip": "application/zip", ".csv": "text/csv", ".json": "application/json"}


def handler(event: Mapping[str, Any], context: Any, s3: Any = None) -> None:
    """Create/Update publish the assets, Delete retires them; the outcome always goes back to CloudFormation."""
    physical_id = event.get("PhysicalResourceId", "not-published")
    try:
        s3 = s3 or boto3.client("s3")
        properties = event["ResourceProperties"]
        if event["RequestType"] == "Delete":
            retire(s3, physical_id)
            data: dict[str, str] = {}
        else:
            physical_id, data = publish(s3, properties["Bucket"], properties["Prefix"], properties["TagAliases"])
        respond(event, "SUCCESS", physical_id, data, reason=_log_stream(context))
    except Exception as exc:  # CloudFormation waits for an answer, whatever went wrong
        respond(event, "FAILED", physical_id, {}, reason=f"{type(exc).__name__}: {exc}")


def bundle(tag_aliases: str) -> dict[str, bytes]:
    """Every file to publish, by name: the bundled assets and the tag-alias config in a canonical form."""
    try:
        aliases = json.loads(tag_aliases or "{}")
    except json.JSONDecodeError as exc:
        raise ValueError(f"TagAliases is not valid JSON: {exc.msg} at position {exc.pos}") from exc
    if not isinstance(aliases, dict):
        raise ValueError('TagAliases must be a JSON object like {"tenant": ["TenantID", "org"]}')
    files = {path.name: path.read_bytes() for path in sorted(ASSETS_DIR.iterdir()) if path.is_file()}
    missing = {SCRIPT, PACKAGE, PRICING} - files.keys()
    if missing:
        raise FileNotFoundError(f"the function was built without {', '.join(sorted(missing))}: run `sam build`")
    files[TAG_ALIASES] = (json.dumps(aliases, sort_keys=True, indent=2) + "\n").encode()
    return files


def content_hash(files: Mapping[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(f"{name}\0{len(files[name])}\0".encode())
        digest.update(files[name])
    return digest.hexdigest()[:16]


def publish(s3: Any, bucket: str, prefix: str, tag_aliases: str) -> tuple[str, dict[str, str]]:
    """Upload the bundle to ``s3://bucket/<prefix><hash>/``; return that URI and the URI of each asset."""
    files = bundle(tag_aliases)
    root = f"{prefix}{content_hash(files)}/"
    for name, body in files.items():
        # A plain put also clears a superseded tag, should an older version become current again.
        s3.put_object(Bucket=bucket, Key=root + name, Body=body, ContentType=_CONTENT_TYPES.get(Path(name).suffix, ""))
    base = f"s3://{bucket}/{root}"
    data = {
        "Prefix": base,
        "ScriptUri": base + SCRIPT,
        "PackageUri": base + PACKAGE,
        "PricingUri": base + PRICING,
        "TagAliasesUri": base + TAG_ALIASES,
    }
    return base, data


def retire(s3: Any, physical_id: str) -> None:
    """Tag a prefix's objects superseded; a prefix never published (failed create) needs nothing."""
    if not physical_id.startswith("s3://"):
        return
    bucket, _, prefix = physical_id.removeprefix("s3://").partition("/")
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for entry in page.get("Contents", []):
                s3.put_object_tagging(Bucket=bucket, Key=entry["Key"], Tagging={"TagSet": [SUPERSEDED]})
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchBucket":  # bucket emptied and deleted by hand
            raise


def respond(event: Mapping[str, Any], status: str, physical_id: str, data: Mapping[str, str], reason: str) -> None:
    """PUT the result to CloudFormation's pre-signed response URL."""
    url = event["ResponseURL"]
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"unexpected ResponseURL scheme: {url[:16]}")
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:1000],
            "PhysicalResourceId": physical_id,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": dict(data),
        }
    ).encode()
    request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": ""})
    with urllib.request.urlopen(request, timeout=30) as response:  # the scheme is checked above
        response.read()


def _log_stream(context: Any) -> str:
    stream = getattr(context, "log_stream_name", None)
    return f"see CloudWatch log stream {stream}" if stream else "done"
