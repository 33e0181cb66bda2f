"""AWS Glue 5.1 job entry point: the only module that imports ``awsglue``.

Everything it runs is the plain-PySpark ``bedrock_costs`` package (shipped with ``--extra-py-files``),
so the job behaves exactly like ``bcr etl`` does locally. Job arguments:

``--logs_uri``      s3://bucket/prefix/ that holds ``AWSLogs/<account>/BedrockModelInvocationLogs/...``
``--tables_uri``    s3://bucket/prefix/ for the output tables
``--pricing_uri``   s3:// URI of the price catalog CSV
``--lookback_days`` delivery days listed each run (default 2): late objects inside it are picked up,
                    objects already processed are skipped, so a run costs what is new
``--since``/``--until`` optional backfill window (YYYY-MM-DD), overriding the lookback
``--tag_aliases``   optional JSON overriding the requestMetadata → tag column aliases
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime, timedelta

import boto3
from awsglue.context import GlueContext
from awsglue.job import Job
from awsglue.utils import getResolvedOptions
from pyspark.context import SparkContext

from bedrock_costs.catalog import read_catalog
from bedrock_costs.pipeline import EtlSettings, run_pipeline
from bedrock_costs.profiles import ProfileError, fetch_profiles, profiles_from_summaries
from bedrock_costs.s3_source import list_log_objects, object_reader, parse_s3_uri, read_object, read_tails
from bedrock_costs.spark import PIPELINE_CONF
from bedrock_costs.tags import parse_tag_aliases

REQUIRED = ["JOB_NAME", "logs_uri", "tables_uri", "pricing_uri"]
OPTIONAL = {"lookback_days": "2", "since": "", "until": "", "tag_aliases": ""}


def _options(argv: list[str]) -> dict[str, str]:
    present = [name for name in OPTIONAL if f"--{name}" in argv]
    return {**OPTIONAL, **getResolvedOptions(argv, REQUIRED + present)}


def _window(options: dict[str, str]) -> tuple[date | None, date | None]:
    if options["since"] or options["until"]:
        return (
            date.fromisoformat(options["since"]) if options["since"] else None,
            date.fromisoformat(options["until"]) if options["until"] else None,
        )
    return datetime.now(UTC).date() - timedelta(days=int(options["lookback_days"])), None


def main(argv: list[str]) -> None:
    options = _options(argv)
    glue_context = GlueContext(SparkContext.getOrCreate())
    spark = glue_context.spark_session
    for key, value in PIPELINE_CONF.items():
        spark.conf.set(key, value)
    job = Job(glue_context)
    job.init(options["JOB_NAME"], options)

    s3 = boto3.client("s3")
    catalog = read_catalog(read_object(s3, options["pricing_uri"]), options["pricing_uri"])
    since, until = _window(options)
    objects = list_log_objects(s3, options["logs_uri"], since, until)
    regions = sorted({obj.region for obj in objects})
    try:
        profiles = profiles_from_summaries(
            fetch_profiles(
                regions,
                lambda region: boto3.client("bedrock", region_name=region),
                # One region's failure leaves only its application-profile requests unresolved.
                failed=lambda _region, exc: print(f"WARNING: {exc}", file=sys.stderr),
            )
        )
    except ProfileError as exc:
        # Requests through application profiles are then flagged unresolved_profile, never priced at $0.
        print(f"WARNING: application inference profiles not resolved: {exc}", file=sys.stderr)
        profiles = {}
    settings = EtlSettings(
        out=options["tables_uri"].rstrip("/"),
        since=since,
        until=until,
        tag_aliases=parse_tag_aliases(options["tag_aliases"] or None),
    )
    summary = run_pipeline(
        spark,
        objects,
        settings,
        catalog,
        profiles,
        lambda objs: read_tails(s3, objs),
        progress=print,
        read_object=object_reader(s3, parse_s3_uri(options["logs_uri"])[0]),
    )
    print(json.dumps({**summary.__dict__, "reconciled": summary.reconciled}, default=str))
    if not summary.reconciled:
        raise RuntimeError(f"run {summary.run_id} does not reconcile: see pipeline_runs")
    job.commit()


if __name__ == "__main__":
    main(sys.argv)
