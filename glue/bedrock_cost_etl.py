"""AWS Glue 5.1 job entry point: the only module that imports ``awsglue``.

Everything it runs is the plain-PySpark ``bedrock_costs`` package (shipped with ``--extra-py-files``),
so the job behaves exactly like ``bcr etl`` does locally. One run:

1. reads the price catalog (checked as ``bcr pricing check`` does) and the tag-alias config from S3,
2. lists the last ``--lookback_days`` of log deliveries (or a ``--since``/``--until`` backfill window),
3. resolves the application inference profiles of the regions it sees (of the stored rows, to reprice),
4. takes the output's lock (``_lock.json`` under ``--tables_uri``, an S3 object created only if absent),
   then merges the new objects into the tables under ``--tables_uri`` (or, with ``--reprice true`` /
   ``--compact true``, rewrites the stored dates of the window) and records the run in ``pipeline_runs``,
   Before publishing, it evaluates the template's data-quality rulesets (read from Glue by name) with
   awsgluedq's ``EvaluateDataQuality`` on the tables as they would be published, which publishes the
   results to Glue Data Quality and CloudWatch; ``--dq_policy`` fail stops the run there, warn publishes
   (Glue's result event alerts either way) — the same gate ``bcr etl`` applies with the local evaluator,
5. registers the partitions it created in the Glue database ``--database``, so Athena sees them at once,
6. fails, after publishing a "not reconciled" event, when the run failed a check or a step: it then
   published nothing but its ``failed`` row in ``pipeline_runs``. A run that finds another run's lock
   fails too, naming the holder.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
from awsglue.context import GlueContext
from awsglue.dynamicframe import DynamicFrame
from awsglue.job import Job
from awsglue.utils import getResolvedOptions
from awsgluedq.transforms import EvaluateDataQuality
from botocore.exceptions import BotoCoreError, ClientError
from pyspark.context import SparkContext
from pyspark.sql import DataFrame

from bedrock_costs.catalog import read_catalog
from bedrock_costs.lock import lock_store_for
from bedrock_costs.partitions import register_new_partitions
from bedrock_costs.pipeline import COMPACT, INGEST, REPRICE, EtlSettings, RunFailed, RunSummary, run_pipeline
from bedrock_costs.profiles import ProfileError, fetch_profiles, profiles_from_summaries
from bedrock_costs.quality.gate import GLUE, WARNED, Evaluator, QualityGate
from bedrock_costs.quality.results import RulesetResult, from_rule_outcomes
from bedrock_costs.quality.rulesets import RulesetDefinition, fetch_rulesets
from bedrock_costs.rewrite import stored_regions
from bedrock_costs.s3_source import list_log_objects, object_reader, parse_s3_uri, read_object, read_tails, read_text
from bedrock_costs.spark import PIPELINE_CONF, import_looked_up_classes
from bedrock_costs.storage import TABLES
from bedrock_costs.tags import parse_tag_aliases

# The job's arguments and their defaults (None: required). template.yaml's DefaultArguments give every one of
# them; tests/contract/test_template_job.py reads this table from the source, without importing awsglue.
ARGUMENTS: dict[str, str | None] = {
    "logs_uri": None,  # s3://bucket/prefix/ above AWSLogs/<account>/BedrockModelInvocationLogs/...
    "tables_uri": None,  # s3://bucket/prefix/ of the output tables
    "pricing_uri": None,  # s3:// URI of the price catalog CSV
    "lookback_days": "2",  # delivery days listed per run; objects already processed are skipped
    "tag_aliases": "",  # JSON, or the s3:// URI of a JSON file, overriding requestMetadata aliases
    "database": "",  # Glue database whose tables get the new partitions registered ("" skips it)
    # Age after which another run's lock counts as abandoned: above the job's Timeout (a run older than
    # that was stopped by Glue), so a killed run's lock is taken over by a later run, never a live one's.
    "lock_stale_minutes": "360",
    # Names of the Glue Data Quality rulesets the run must pass before publishing ("" evaluates none), and
    # what a failed rule does: fail (publish nothing) or warn (publish; Glue's result event alerts).
    "dq_rulesets": "",
    "dq_policy": "warn",
}
# Arguments for one run (StartJobRun --arguments). Never job defaults: they would pin every run.
RUN_ARGUMENTS: dict[str, str] = {
    "since": "",  # a backfill window (YYYY-MM-DD), overriding the lookback
    "until": "",
    "retry_damaged": "false",  # read damaged log objects again even after their retries ran out
    "reprice": "false",  # price the stored rows of the window again with the current catalog and profiles
    "compact": "false",  # rewrite each stored date of the window, and each closed day of the run history, into one file
    "break_lock": "false",  # take the output's lock from a run known to be dead
}

# The EventBridge event of a run that failed its checks; template.yaml's RunNotReconciledRule matches it.
EVENT_SOURCE = "bedrock-cost-reporting"
NOT_RECONCILED = "Cost run not reconciled"


def resolve_options(argv: list[str]) -> dict[str, str]:
    """Glue's own parser for the arguments given, the defaults above for the optional ones left out."""
    optional = {**{k: v for k, v in ARGUMENTS.items() if v is not None}, **RUN_ARGUMENTS}
    required = ["JOB_NAME", *(name for name, default in ARGUMENTS.items() if default is None)]
    present = [name for name in optional if f"--{name}" in argv]
    return {**optional, **getResolvedOptions(argv, required + present)}


def window(options: dict[str, str], today: date) -> tuple[date | None, date | None]:
    """The backfill window when one is given, else the lookback (open-ended: late objects are included)."""
    if options["since"] or options["until"]:
        return (
            date.fromisoformat(options["since"]) if options["since"] else None,
            date.fromisoformat(options["until"]) if options["until"] else None,
        )
    return today - timedelta(days=int(options["lookback_days"])), None


def tag_alias_text(s3: Any, value: str) -> str | None:
    """``--tag_aliases`` is inline JSON or the S3 URI of a JSON file (what the template passes)."""
    return read_text(s3, value) if value.startswith("s3://") else (value or None)


def report_not_reconciled(events: Any, options: dict[str, str], summary: RunSummary) -> None:
    """Publish the event that RunNotReconciledRule turns into an alert; never hide the failure itself.

    Sent for every failed run: one whose counts or checks did not add up, and one that failed a step (a
    damaged table file, say); ``error`` says which. Either way nothing was published.
    """
    detail = {
        "job_name": options["JOB_NAME"],
        "job_run_id": options.get("JOB_RUN_ID") or "",
        "run_id": summary.run_id,
        "mode": summary.mode,
        "error": summary.error or "",
        "lines_read": summary.lines_read,
        "rows_written": summary.rows_written,
        "duplicates_dropped": summary.duplicates_dropped,
        "rejected_lines": summary.rejected_lines,
    }
    entry = {"Source": EVENT_SOURCE, "DetailType": NOT_RECONCILED, "Detail": json.dumps(detail)}
    try:
        response = events.put_events(Entries=[entry])
    except (ClientError, BotoCoreError) as exc:
        print(f"WARNING: could not publish the not-reconciled event: {exc}", file=sys.stderr)
        return
    if response.get("FailedEntryCount"):
        print(f"WARNING: EventBridge rejected the not-reconciled event: {response['Entries']}", file=sys.stderr)


def register_partitions(options: dict[str, str], spark: Any) -> None:
    """Whatever the run published is in S3 now: make it queryable, even when the run is about to fail."""
    if options["database"]:
        added = register_new_partitions(boto3.client("glue"), spark, options["database"], TABLES)
        print(json.dumps({"partitions_registered": added}))


def glue_evaluator(glue_context: Any) -> Evaluator:
    """The gate's engine on Glue: EvaluateDataQuality per ruleset, its table as the primary input and the
    other tables (and the price catalog) as additional data sources under the aliases the rules use.
    Each evaluation publishes its results to Glue Data Quality and CloudWatch under the ruleset's name.
    """

    def evaluate(
        definitions: list[RulesetDefinition], datasets: dict[str, DataFrame], now: datetime
    ) -> list[RulesetResult]:
        results = []
        for definition in definitions:
            frames = {alias: DynamicFrame.fromDF(df, glue_context, alias) for alias, df in datasets.items()}
            primary = frames.pop(definition.table)
            outcomes = EvaluateDataQuality().process_rows(
                frame=primary,
                additional_data_sources=frames,
                ruleset=definition.dqdl,
                publishing_options={
                    "dataQualityEvaluationContext": definition.aws_name,
                    "enableDataQualityCloudWatchMetrics": True,
                    "enableDataQualityResultsPublishing": True,
                },
                additional_options={"performanceTuning.caching": "CACHE_NOTHING"},
            )
            rows = [row.asDict() for row in outcomes.select("ruleOutcomes").toDF().collect()]
            results.append(from_rule_outcomes(definition.name, rows, now))
        return results

    return evaluate


def summary_json(summary: RunSummary) -> str:
    """The run as one JSON line for the job's log; the rules' results are in dq_results."""
    fields = {key: value for key, value in summary.__dict__.items() if key != "quality"}
    return json.dumps({**fields, "reconciled": summary.reconciled, "dq_outcome": summary.dq_outcome}, default=str)


def _flag(options: dict[str, str], name: str) -> bool:
    return options[name].strip().lower() in ("true", "1", "yes")


def _mode(options: dict[str, str]) -> str:
    if _flag(options, "reprice"):
        return REPRICE
    return COMPACT if _flag(options, "compact") else INGEST


def main(argv: list[str]) -> None:
    options = resolve_options(argv)
    glue_context = GlueContext(SparkContext.getOrCreate())
    spark = glue_context.spark_session
    import_looked_up_classes(spark)
    for key, value in PIPELINE_CONF.items():
        spark.conf.set(key, value)
    job = Job(glue_context)
    job.init(options["JOB_NAME"], options)

    s3 = boto3.client("s3")
    catalog = read_catalog(read_object(s3, options["pricing_uri"]), options["pricing_uri"])
    aliases = parse_tag_aliases(tag_alias_text(s3, options["tag_aliases"]))
    since, until = window(options, datetime.now(UTC).date())
    mode = _mode(options)
    out = options["tables_uri"].rstrip("/")
    objects = list_log_objects(s3, options["logs_uri"], since, until) if mode == INGEST else []
    # A repricing resolves the application profiles of the stored rows' regions, not of new logs.
    regions = sorted({obj.region for obj in objects}) if mode == INGEST else stored_regions(spark, out, since, until)
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
        out=out,
        since=since,
        until=until,
        retry_damaged=_flag(options, "retry_damaged"),
        mode=mode,
        break_lock=_flag(options, "break_lock"),
        lock_stale_after=timedelta(minutes=int(options["lock_stale_minutes"])),
        tag_aliases=aliases,
    )
    names = [name.strip() for name in options["dq_rulesets"].split(",") if name.strip()]
    gate = (
        QualityGate(
            fetch_rulesets(boto3.client("glue"), names),
            catalog,
            options["dq_policy"],
            glue_evaluator(glue_context),
            GLUE,
        )
        if names
        else None
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
            lock=lock_store_for(out, s3),
            read_object=object_reader(s3, parse_s3_uri(options["logs_uri"])[0]),
            quality_gate=gate,
        )
    except RunFailed as exc:
        # Nothing was published but the failed row in pipeline_runs: make that queryable, alert, fail the job.
        print(summary_json(exc.summary))
        register_partitions(options, spark)
        report_not_reconciled(boto3.client("events"), options, exc.summary)
        raise
    print(summary_json(summary))
    if summary.quality is not None and summary.dq_outcome == WARNED:
        print(f"WARNING: {summary.quality.describe()}", file=sys.stderr)
    register_partitions(options, spark)
    job.commit()


if __name__ == "__main__":
    main(sys.argv)
