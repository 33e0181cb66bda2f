"""Developing the ETL interactively: the job's own stages, one at a time, on a bounded sample of the logs.

``glue/notebooks/develop_cost_etl.ipynb`` calls this in a Glue interactive session (the job's runtime,
role, package and Spark settings, reading the configured logs prefix) or on a local PySpark kernel
(generated or downloaded logs in a folder). Every step calls the functions ``run_pipeline`` calls, in its
order, and keeps the intermediate DataFrame so it can be looked at; ``run`` then runs ``run_pipeline``
itself, so what the notebook writes is what the job and ``bcr etl`` write. Nothing is written before
``run``, and ``run`` writes only to the scratch location it is given.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from bedrock_costs import storage
from bedrock_costs.aggregate import conform, daily_costs, invocation_tags
from bedrock_costs.catalog import DEFAULT_CATALOG, PriceRow, load_catalog, read_catalog
from bedrock_costs.dedupe import Deduped, dedupe
from bedrock_costs.discover import LogObject, discover_local
from bedrock_costs.lock import lock_store_for
from bedrock_costs.offloaded import with_offloaded_ttl
from bedrock_costs.parse import parse_lines
from bedrock_costs.pipeline import EtlSettings, RunSummary, enrich, run_pipeline
from bedrock_costs.profiles import ResolvedProfile, fetch_profiles, load_profile_file, profiles_from_summaries
from bedrock_costs.quality.rulesets import RulesetDefinition, fetch_rulesets, load_rulesets
from bedrock_costs.quarantine import rejected_records
from bedrock_costs.read import (
    FileCheck,
    FileStats,
    ObjectReader,
    TailReader,
    check_files,
    file_stats,
    local_object_reader,
    number_lines,
    read_lines,
    read_local_tails,
    source_key,
)
from bedrock_costs.s3_source import list_log_objects, object_reader, parse_s3_uri, read_object, read_tails, read_text
from bedrock_costs.schemas import INVOCATIONS
from bedrock_costs.spark import PIPELINE_CONF, import_looked_up_classes
from bedrock_costs.summary import print_costs, print_run
from bedrock_costs.tags import DEFAULT_TAG_ALIASES, parse_tag_aliases

if TYPE_CHECKING:  # the evaluator needs lark (and the template PyYAML): imported when quality() runs
    from bedrock_costs.quality.results import RulesetResult

# Log objects a notebook reads by default: the newest ones of the window, enough to see every stage at work
# in seconds; pass another bound (or None) to Workbench.open.
SAMPLE_OBJECTS = 40
# On a local kernel the logs and the scratch tables are folders (local Spark cannot read S3).
LOCAL_LOGS = "BCR_SESSION_LOGS"
LOCAL_TABLES = "BCR_SESSION_TABLES"
# The profile map `bcr profiles fetch` (and the generator) writes next to local logs.
PROFILE_FILE = "inference_profiles.json"
_NOTEBOOK_RUN = "notebook"


def is_local(spark: SparkSession) -> bool:
    """A local PySpark kernel, not a Glue session: Glue's Spark never runs with a ``local`` master."""
    return spark.sparkContext.master.startswith("local")


@dataclass
class Sources:
    """Where this environment reads the logs and the run's inputs from, and where ``run`` writes."""

    objects: list[LogObject]
    catalog: list[PriceRow]
    profiles: dict[str, ResolvedProfile]
    tag_aliases: Mapping[str, Sequence[str]]
    read_tails: TailReader
    read_object: ObjectReader | None
    tables: str
    rulesets: Callable[[], list[RulesetDefinition]]
    s3: Any = None


def sample(objects: Sequence[LogObject], limit: int | None) -> list[LogObject]:
    """The ``limit`` most recently delivered objects (all when ``limit`` is None), in the pipeline's order."""
    if limit is None or limit >= len(objects):
        return sorted(objects)
    by_delivery = sorted(objects, key=lambda o: (o.delivery_hour, o.path))
    return sorted(by_delivery[len(by_delivery) - limit :]) if limit > 0 else []


def local_sources(
    logs: str | None = None, tables: str | None = None, since: date | None = None, until: date | None = None
) -> Sources:
    """A local kernel: logs in a folder, the shipped catalog, the folder's profile map, the template's rulesets."""
    logs = logs or os.environ.get(LOCAL_LOGS)
    if not logs or logs.startswith("s3://"):
        raise ValueError(
            f"local Spark cannot read {logs or 'the logs prefix'}: set {LOCAL_LOGS} to a folder of logs (the "
            "'Bedrock costs (local PySpark)' kernel generates sample logs there), or use the Glue PySpark kernel"
        )
    tables = tables or os.environ.get(LOCAL_TABLES) or str(Path(logs).resolve().parent / "notebook-tables")
    profile_file = Path(logs) / PROFILE_FILE
    return Sources(
        objects=discover_local(logs, since, until),
        catalog=load_catalog(DEFAULT_CATALOG),
        profiles=load_profile_file(profile_file) if profile_file.is_file() else {},
        tag_aliases=dict(DEFAULT_TAG_ALIASES),
        read_tails=read_local_tails,
        read_object=local_object_reader(logs),
        tables=str(Path(tables).resolve()),
        rulesets=load_rulesets,
    )


def glue_sources(
    job: Mapping[str, str],
    since: date | None,
    until: date | None,
    client: Callable[..., Any],
) -> Sources:
    """A Glue session: the job's logs prefix, catalog and tag aliases in S3, profiles from Bedrock, and the
    deployed rulesets. ``client(service, region_name=None)`` makes boto3 clients (injected for tests).
    """
    s3 = client("s3")
    catalog = read_catalog(read_object(s3, job["pricing_uri"]), job["pricing_uri"])
    aliases_value = job.get("tag_aliases", "")
    aliases = parse_tag_aliases(read_text(s3, aliases_value) if aliases_value.startswith("s3://") else aliases_value)
    objects = list_log_objects(s3, job["logs_uri"], since, until)
    profiles = profiles_from_summaries(
        fetch_profiles(
            sorted({o.region for o in objects}),
            lambda region: client("bedrock", region_name=region),
            failed=lambda _region, exc: print(f"WARNING: {exc}", file=sys.stderr),
        )
    )
    names = [name for name in job.get("rulesets", "").split(",") if name]
    return Sources(
        objects=objects,
        catalog=catalog,
        profiles=profiles,
        tag_aliases=aliases,
        read_tails=lambda objs: read_tails(s3, objs),
        read_object=object_reader(s3, parse_s3_uri(job["logs_uri"])[0]),
        tables=job["scratch_tables_uri"].rstrip("/"),
        rulesets=lambda: fetch_rulesets(client("glue"), names),
        s3=s3,
    )


@dataclass
class Workbench:
    """The pipeline's stages on a sample, each step keeping its output for the next and for inspection."""

    spark: SparkSession
    sources: Sources
    objects: list[LogObject]
    stamp: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, FileStats] = field(default_factory=dict)
    checks: list[FileCheck] = field(default_factory=list)
    lines: DataFrame | None = None
    deduped: Deduped | None = None
    ledger: DataFrame | None = None
    summary: RunSummary | None = None

    @classmethod
    def open(
        cls,
        spark: SparkSession,
        job: Mapping[str, str],
        sample_objects: int | None = SAMPLE_OBJECTS,
        days: int = 1,
        client: Callable[..., Any] | None = None,
    ) -> Workbench:
        """Apply the job's Spark settings, find the inputs and pick the sample (the last ``days`` of deliveries
        on Glue; every local object's newest ``sample_objects``).
        """
        import_looked_up_classes(spark)
        for key, value in PIPELINE_CONF.items():  # what the entry script sets on Glue's session
            spark.conf.set(key, value)
        if is_local(spark):
            sources = local_sources()
        else:
            import boto3  # a Glue session only

            since = datetime.now(UTC).date() - timedelta(days=days)
            sources = glue_sources(job, since, None, client or boto3.client)
        stamp = {
            "run_id": F.lit(_NOTEBOOK_RUN),
            "ingested_at": F.lit(datetime.now(UTC).replace(microsecond=0)).cast("timestamp"),
        }
        return cls(spark, sources, sample(sources.objects, sample_objects), stamp)

    def read(self) -> DataFrame:
        """Read and parse every line of the sample (file and line numbers kept), and check each object whole."""
        parsed = parse_lines(read_lines(self.spark, self.objects)).cache()
        self.stats = file_stats(parsed)
        self.checks = check_files(
            self.objects, self.sources.read_tails(self.objects), self.stats, self.sources.read_object
        )
        self.lines = number_lines(parsed, self.stats)
        return self.lines

    def quarantine(self) -> DataFrame:
        """What the run would put in ``rejected_records``: rejected lines and damaged objects, with reasons."""
        lines = self._lines()
        delivered = {source_key(o.path): o.delivery_date.isoformat() for o in self.objects}
        broken = [check for check in self.checks if not check.complete]
        return rejected_records(lines, broken, delivered, self.stamp)

    def dedupe(self) -> DataFrame:
        """The first copy of each request id the ledger at ``sources.tables`` does not hold yet."""
        accepted = (
            self._lines()
            .where(F.col("reject_reason").isNull())
            .withColumn("usage_date", F.date_format("event_time", "yyyy-MM-dd"))
        )
        accepted = with_offloaded_ttl(accepted, self.sources.read_object)
        stored = storage.read_table(self.spark, storage.table_path(self.sources.tables, "invocations"), INVOCATIONS)
        self.deduped = dedupe(accepted, stored)
        return self.deduped.rows

    def conflicts(self) -> DataFrame | None:
        """Dropped copies whose contents differ from the kept one (``request_conflicts``), None without copies."""
        return self._deduped().conflicts

    def price(self) -> DataFrame:
        """Ledger rows as ``invocations`` holds them: model, caller, tags and every cost class."""
        rows = enrich(self._deduped().rows, self.sources.catalog, self.sources.profiles, self.sources.tag_aliases)
        self.ledger = conform(rows.select("*", *(v.alias(k) for k, v in self.stamp.items())), INVOCATIONS).cache()
        return self.ledger

    def daily_costs(self) -> DataFrame:
        """The ``daily_costs`` rows of the sample's new requests."""
        return daily_costs(self._ledger())

    def invocation_tags(self) -> DataFrame:
        """One row per new request and ``requestMetadata`` key."""
        return invocation_tags(self._ledger())

    def run(self, progress: Callable[[str], None] = print) -> RunSummary:
        """``run_pipeline`` on the sample into ``sources.tables``, exactly as the job runs it, then its summary."""
        out = self.sources.tables
        self.summary = run_pipeline(
            self.spark,
            self.objects,
            EtlSettings(out=out, tag_aliases=self.sources.tag_aliases),
            self.sources.catalog,
            self.sources.profiles,
            self.sources.read_tails,
            progress=progress,
            lock=lock_store_for(out, self.sources.s3) if out.startswith("s3://") else None,
            read_object=self.sources.read_object,
        )
        print_run(self.summary, out)
        return self.summary

    def quality(self, now: datetime | None = None) -> list[RulesetResult]:
        """The data-quality rulesets on the tables ``run`` wrote, evaluated like `bcr quality` does."""
        from bedrock_costs.quality.tables import evaluate_rulesets, table_datasets

        datasets = table_datasets(self.spark, self.sources.tables, self.sources.catalog)
        return evaluate_rulesets(self.sources.rulesets(), datasets, now=now)

    def quality_frame(self, results: Sequence[RulesetResult]) -> DataFrame:
        """The results as a DataFrame, failures first, for ``show()``."""
        from bedrock_costs.quality.results import fmt

        rows = [
            (result.ruleset, rule.outcome, rule.rule, fmt(rule.measured), rule.message or "")
            for result in results
            for rule in result.results
        ]
        frame = self.spark.createDataFrame(
            rows, "ruleset string, outcome string, rule string, measured string, why string"
        )
        return frame.orderBy(F.col("outcome") == "PASS", "ruleset")

    def costs(self) -> None:
        """Spend by model, tenant and caller of the written tables: what `bcr demo` prints."""
        print_costs(self.spark, self.sources.tables)

    def _lines(self) -> DataFrame:
        if self.lines is None:
            raise RuntimeError("run read() first")
        return self.lines

    def _deduped(self) -> Deduped:
        if self.deduped is None:
            raise RuntimeError("run dedupe() first")
        return self.deduped

    def _ledger(self) -> DataFrame:
        if self.ledger is None:
            raise RuntimeError("run price() first")
        return self.ledger
