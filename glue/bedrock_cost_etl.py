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
``--retry_damaged`` ``true`` reads damaged log objects in the window again even after their retries ran out
``--reprice``       ``true`` prices the stored rows of the window (usage dates) again with the current catalog
                    and profiles instead of reading logs; ``--compact true`` rewrites each date into one file
``--break_lock``    ``true`` takes the output's lock from a run that died; ``--lock_stale_minutes`` (default
                    360, keep it above the job's timeout) is the age after which a lock counts as abandoned

A run that fails a check or a step publishes nothing, records a ``failed`` row in ``pipeline_runs`` and
raises, so the job run is FAILED; a run that finds another run's lock raises too, naming the holder.
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

from bedrock_costs.catalog import parse_catalog
from bedrock_costs.lock import lock_store_for
from bedrock_costs.pipeline import COMPACT, INGEST, REPRICE, EtlSettings, RunFailed, run_pipeline
from bedrock_costs.profiles import ProfileError, fetch_profiles, profiles_from_summaries
from bedrock_costs.rewrite import stored_regions
from bedrock_costs.s3_source import list_log_objects, parse_s3_uri, read_tails
from bedrock_costs.spark import PIPELINE_CONF
from bedrock_costs.tags import parse_tag_aliases

REQUIRED = ["JOB_NAME", "logs_uri", "tables_uri", "pricing_uri"]
OPTIONAL = {
    "lookback_days": "2",
    "since": "",
    "until": "",
    "tag_aliases": "",
    "retry_damaged": "false",
    "reprice": "false",
    "compact": "false",
    "break_lock": "false",
    "lock_stale_minutes": "360",
}


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


def _flag(options: dict[str, str], name: str) -> bool:
    return options[name].strip().lower() in ("true", "1", "yes")


def _mode(options: dict[str, str]) -> str:
    if _flag(options, "reprice"):
        return REPRICE
    return COMPACT if _flag(options, "compact") else INGEST


def main(argv: list[str]) -> None:
    options = _options(argv)
    glue_context = GlueContext(SparkContext.getOrCreate())
    spark = glue_context.spark_session
    for key, value in PIPELINE_CONF.items():
        spark.conf.set(key, value)
    job = Job(glue_context)
    job.init(options["JOB_NAME"], options)

    s3 = boto3.client("s3")
    bucket, key = parse_s3_uri(options["pricing_uri"])
    catalog = parse_catalog(
        s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8"), options["pricing_uri"]
    )
    since, until = _window(options)
    mode = _mode(options)
    out = options["tables_uri"].rstrip("/")
    objects = list_log_objects(s3, options["logs_uri"], since, until) if mode == INGEST else []
    # A repricing resolves the application profiles of the stored rows' regions, not of new logs.
    regions = sorted({obj.region for obj in objects}) if mode == INGEST else stored_regions(spark, out, since, until)
    try:
        profiles = profiles_from_summaries(
            fetch_profiles(regions, lambda region: boto3.client("bedrock", region_name=region))
        )
    except ProfileError as exc:
        # Requests through application profiles are then flagged unresolved_profile, never priced at $0.
        print(f"WARNING: application inference profiles not resolved: {exc}", file=sys.stderr)
        profiles = {}
    settings = EtlSettings(
        out=out,
        since=since,
        until=until,
        retry_damaged=_flag(options, "retry_damaged"),
        mode=mode,
        break_lock=_flag(options, "break_lock"),
        lock_stale_after=timedelta(minutes=int(options["lock_stale_minutes"])),
        tag_aliases=parse_tag_aliases(options["tag_aliases"] or None),
    )
    try:
        summary = run_pipeline(
            spark,
            objects,
            settings,
            catalog,
            profiles,
            lambda objs: read_tails(s3, objs),
            progress=print,
            lock=lock_store_for(settings.out, s3),
        )
    except RunFailed as exc:
        # Nothing was published and pipeline_runs holds the failed row; re-raising fails the job run.
        print(json.dumps({**exc.summary.__dict__, "reconciled": exc.summary.reconciled}, default=str))
        raise
    print(json.dumps({**summary.__dict__, "reconciled": summary.reconciled}, default=str))
    job.commit()


if __name__ == "__main__":
    main(sys.argv)
