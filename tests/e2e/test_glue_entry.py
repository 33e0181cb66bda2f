"""The Glue entry script's own control flow, end to end, with the job arguments template.yaml gives it.

S3, the Glue Data Catalog, EventBridge and SQS are moto on 127.0.0.1; Bedrock's ListInferenceProfiles is a
loopback stand-in (moto lacks it); ``awsglue`` is stood in over the local SparkSession (tests/glue_standin.py).
Local Spark has no S3 connector, so the two departures from the deployed job are that Spark reads the
``s3://`` log objects from a local mirror of the bucket (listing and gzip tails still come from S3) and
that ``--tables_uri`` is a local folder. The tables must equal what `bcr etl` makes of the same logs.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import ModuleType

import boto3
import pytest
from aws_template import ENTRY_SCRIPT, ROOT, default_refs, fresh_template, resolve, resources
from botocore.response import StreamingBody
from botocore.stub import Stubber
from glue_standin import JobRecord, load_entry_script, modules, resolved_options
from loopback import bedrock_profiles
from moto.server import ThreadedMotoServer

from bcr.glue_tables import glue_type
from bedrock_costs.lock import LOCK_NAME, LockHeld, LockOwner, S3LockStore
from bedrock_costs.pipeline import RunFailed
from bedrock_costs.quality.dqdl import parse
from bedrock_costs.quality.rulesets import load_rulesets
from bedrock_costs.schemas import PUBLISHED_TABLES, TABLE_SCHEMAS
from bedrock_costs.spark import LOOKED_UP_BY_NAME

LOGS_BUCKET, LOGS_PREFIX = "central-bedrock-logs", "bedrock/"
DATA_BUCKET, DATABASE, JOB = "bcr-data", "bedrock_costs", "bcr-cost-etl"
ASSETS = f"s3://{DATA_BUCKET}/assets/0123456789abcdef/"
FACT_TABLES = ("invocations", "daily_costs", "invocation_tags", "rejected_records")
# The corpus's re-deliveries are exact copies, so no request has conflicting copies: the one table it leaves
# empty (conflicts end to end: tests/e2e/test_integrity.py).
WRITTEN = [table for table in PUBLISHED_TABLES if table.name != "request_conflicts"]


@dataclass
class Stack:
    """The deployed-looking world one test module shares."""

    endpoint: str
    tables: Path
    argv: list[str]
    template: dict
    queue_url: str
    rulesets: dict[str, dict]  # GetDataQualityRuleset's answer per ruleset name, as CloudFormation deploys them


@pytest.fixture(scope="module")
def stack(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    tpl = fresh_template()
    tables = tmp_path_factory.mktemp("glue-job-tables")
    refs = default_refs(
        tpl,
        LogsBucketName=LOGS_BUCKET,
        LogsPrefix=LOGS_PREFIX,
        DataBucket=DATA_BUCKET,
        GlueDatabase=DATABASE,
        CostEtlJob=JOB,
        JobLogs=f"/aws-glue/jobs/bedrock-cost-reporting/{JOB}",
        **{
            "Assets.ScriptUri": ASSETS + "bedrock_cost_etl.py",
            "Assets.PackageUri": ASSETS + "bedrock_costs.zip",
            "Assets.PricingUri": ASSETS + "bedrock_prices.csv",
            "Assets.TagAliasesUri": ASSETS + "tag_aliases.json",
        },
    )
    s3 = boto3.client("s3", endpoint_url=endpoint)
    for bucket in (LOGS_BUCKET, DATA_BUCKET):
        s3.create_bucket(Bucket=bucket)
    for path in sorted(corpus.rglob("*")):
        if path.is_file():
            s3.put_object(
                Bucket=LOGS_BUCKET, Key=LOGS_PREFIX + path.relative_to(corpus).as_posix(), Body=path.read_bytes()
            )
    assets = ASSETS.removeprefix(f"s3://{DATA_BUCKET}/")
    s3.put_object(
        Bucket=DATA_BUCKET,
        Key=assets + "bedrock_prices.csv",
        Body=(ROOT / "pricing" / "bedrock_prices.csv").read_bytes(),
    )
    s3.put_object(Bucket=DATA_BUCKET, Key=assets + "tag_aliases.json", Body=b"{}\n")

    glue = boto3.client("glue", endpoint_url=endpoint)
    glue.create_database(DatabaseInput={"Name": DATABASE})
    for resource in resources(tpl, "AWS::Glue::Table").values():
        table_input = resolve(resource["Properties"]["TableInput"], refs)
        table_input["StorageDescriptor"]["Location"] = (tables / table_input["Name"]).as_uri() + "/"
        glue.create_table(DatabaseName=DATABASE, TableInput=table_input)

    # The template's not-reconciled rule, delivering to a queue the test can read.
    sqs = boto3.client("sqs", endpoint_url=endpoint)
    queue_url = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = boto3.client("events", endpoint_url=endpoint)
    pattern = resolve(tpl["Resources"]["RunNotReconciledRule"]["Properties"]["EventPattern"], refs)
    events.put_rule(Name="not-reconciled", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="not-reconciled", Targets=[{"Id": "queue", "Arn": queue_arn}])

    # Exactly what Glue passes: the resolved DefaultArguments, the job's ids, and a backfill window
    # covering the corpus (its delivery dates are fixed in the past).
    defaults = resolve(tpl["Resources"]["CostEtlJob"]["Properties"]["DefaultArguments"], refs)
    defaults["--tables_uri"] = tables.as_uri() + "/"
    manifest = json.loads((corpus / "_generator_manifest.json").read_text())
    since = date.fromisoformat(manifest["params"]["start"])
    until = since + timedelta(days=manifest["params"]["days"])
    argv = [str(ENTRY_SCRIPT), "--JOB_NAME", JOB, "--JOB_ID", "j_1", "--JOB_RUN_ID", "jr_1"]
    argv += [item for key, value in defaults.items() for item in (key, str(value))]
    argv += ["--since", since.isoformat(), "--until", until.isoformat()]
    # The data-quality rulesets as CloudFormation creates them from the template (moto has no Glue DQ).
    rulesets = {}
    for resource in resources(tpl, "AWS::Glue::DataQualityRuleset").values():
        deployed = resolve(resource["Properties"], refs)
        rulesets[deployed["Name"]] = {k: deployed[k] for k in ("Name", "Ruleset", "TargetTable")}
    yield Stack(endpoint, tables, argv, tpl, queue_url, rulesets)
    server.stop()


class DeployedRulesets:
    """Glue's GetDataQualityRuleset over the stack's deployed rulesets (moto does not implement Glue DQ)."""

    def __init__(self, deployed: dict[str, dict]) -> None:
        self._deployed = deployed

    def get_data_quality_ruleset(self, Name: str) -> dict:
        return self._deployed[Name]


def run_job(stack: Stack, corpus: Path, spark, patcher: pytest.MonkeyPatch, patch=None) -> JobRecord:
    """Call the entry script's ``main`` as Glue would; return what the job recorded and the regions asked."""
    summaries = json.loads((corpus / "inference_profiles.json").read_text())["inferenceProfileSummaries"]
    with bedrock_profiles(summaries) as (bedrock_url, asked):
        patcher.setenv("AWS_ENDPOINT_URL", stack.endpoint)
        patcher.setenv("AWS_ENDPOINT_URL_BEDROCK", bedrock_url)
        texts = {name: ruleset["Ruleset"] for name, ruleset in stack.rulesets.items()}
        stand_ins, record = modules(spark, {f"s3://{LOGS_BUCKET}/{LOGS_PREFIX}": corpus}, texts)
        for name, module in stand_ins.items():
            patcher.setitem(sys.modules, name, module)
        entry = load_entry_script(ENTRY_SCRIPT)
        real_fetch = entry.fetch_rulesets
        entry.fetch_rulesets = lambda _glue, names: real_fetch(DeployedRulesets(stack.rulesets), names)
        if patch:
            patch(entry)
        try:
            entry.main(list(stack.argv))
        finally:
            record.asked = sorted(set(asked))
    return record


@pytest.fixture(scope="module")
def first(stack: Stack, corpus: Path, spark, jvm_view) -> JobRecord:
    """The first run, shared by the checks below (moto's state is per module).

    The test session imported the classes PySpark looks up on every call; they are removed first, so that
    the job is seen to import them into Glue's session itself.
    """
    for name in LOOKED_UP_BY_NAME:
        jvm_view.removeSingleImport(name)
    with pytest.MonkeyPatch.context() as patcher:
        return run_job(stack, corpus, spark, patcher)


def rows(spark, root: Path, table: str) -> list[tuple]:
    schema = TABLE_SCHEMAS[table]
    frame = spark.read.schema(schema).parquet(str(root / table)).drop("run_id", "ingested_at")
    return sorted(tuple(str(v) for v in row) for row in frame.collect())


def test_the_job_makes_the_same_tables_as_bcr_etl(first: JobRecord, stack: Stack, etl_tables: Path, spark) -> None:
    for table in FACT_TABLES:
        assert rows(spark, stack.tables, table) == rows(spark, etl_tables, table), table
    assert first.commits == 1 and first.inits[0][0] == JOB
    # Profiles were fetched from the regions in the logs, the way the job does it on AWS.
    assert first.asked == ["eu-central-1", "us-east-1", "us-west-2"]


def test_the_job_imports_the_classes_pyspark_looks_up_into_its_session(first: JobRecord, jvm_view) -> None:
    imported = dict(jvm_view.getSingleImportsMap())
    assert {fqn.rsplit(".", 1)[1]: fqn for fqn in LOOKED_UP_BY_NAME}.items() <= imported.items()


def test_the_run_is_recorded_with_the_counts_of_bcr_etl(
    first: JobRecord, stack: Stack, etl_tables: Path, spark
) -> None:
    counts = ["files_discovered", "files_new", "files_corrupt", "lines_read", "rows_written", "duplicates_dropped"]
    counts += ["rejected_lines", "unpriced_rows", "reconciled", "affected_dates"]
    job, local = (
        spark.read.parquet(str(root / "pipeline_runs")).orderBy("started_at").select(counts).first()
        for root in (stack.tables, etl_tables)
    )
    assert job.reconciled and job.files_new > 0
    assert job == local


def test_every_written_partition_is_registered_in_the_catalog(first: JobRecord, stack: Stack) -> None:
    glue = boto3.client("glue", endpoint_url=stack.endpoint)
    for table in PUBLISHED_TABLES:
        folders = sorted(p.name.split("=", 1)[1] for p in (stack.tables / table.name).glob(f"{table.partition}=*"))
        registered = glue.get_partitions(DatabaseName=DATABASE, TableName=table.name)["Partitions"]
        assert bool(folders) == (table in WRITTEN), table.name
        assert sorted(p["Values"][0] for p in registered) == folders, table.name


def test_the_parquet_the_job_writes_has_the_catalogs_columns(first: JobRecord, stack: Stack, spark) -> None:
    glue = boto3.client("glue", endpoint_url=stack.endpoint)
    for table in WRITTEN:
        declared = glue.get_table(DatabaseName=DATABASE, Name=table.name)["Table"]["StorageDescriptor"]["Columns"]
        data_file = next((stack.tables / table.name).glob("*=*/*.parquet"))
        written = spark.read.parquet(str(data_file)).schema  # the file alone: no partition column
        assert [(f.name, glue_type(f.dataType)) for f in written.fields] == [
            (c["Name"], c["Type"]) for c in declared
        ], table.name


def test_a_second_run_finds_nothing_new_and_registers_nothing(
    first: JobRecord, stack: Stack, corpus: Path, spark, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = {t: rows(spark, stack.tables, t) for t in FACT_TABLES}
    record = run_job(stack, corpus, spark, monkeypatch)
    assert record.commits == 1
    assert {t: rows(spark, stack.tables, t) for t in FACT_TABLES} == before
    last = max(spark.read.parquet(str(stack.tables / "pipeline_runs")).collect(), key=lambda r: r.started_at)
    assert (last.files_new, last.rows_written, last.reconciled) == (0, 0, True)


def _table_files(root: Path) -> dict[str, bytes]:
    """Every file under the tables folder but ``pipeline_runs`` and ``dq_results``, where even a failed run
    records itself and its rules' results."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).parts[0] not in ("pipeline_runs", "dq_results")
    }


def _last_run(spark, tables: Path):
    return max(spark.read.parquet(str(tables / "pipeline_runs")).collect(), key=lambda r: (r.started_at, r.run_id))


def test_a_failed_run_alerts_fails_the_job_and_publishes_nothing(
    first: JobRecord, stack: Stack, corpus: Path, spark, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real fault, not a made-up summary: the processed-object state has a damaged Parquet file.
    damaged = sorted((stack.tables / "_state" / "processed_files").rglob("*.parquet"))[0]
    good = damaged.read_bytes()
    crc = damaged.with_name(f".{damaged.name}.crc")
    crc_bytes = crc.read_bytes() if crc.exists() else None
    try:
        damaged.write_bytes(good[: len(good) // 2])
        crc.unlink(missing_ok=True)  # as on S3: only Parquet itself can tell
        before = _table_files(stack.tables)
        with pytest.raises(RunFailed, match=damaged.name) as failure:
            run_job(stack, corpus, spark, monkeypatch)
        assert _table_files(stack.tables) == before
    finally:
        damaged.write_bytes(good)
        if crc_bytes is not None:
            crc.write_bytes(crc_bytes)
    failed = _last_run(spark, stack.tables)
    assert (failed.run_id, failed.status, failed.reconciled) == (failure.value.summary.run_id, "failed", False)
    assert damaged.name in failed.error
    assert not (stack.tables / LOCK_NAME).exists()  # a failed run releases the output
    messages = boto3.client("sqs", endpoint_url=stack.endpoint).receive_message(
        QueueUrl=stack.queue_url, WaitTimeSeconds=1
    )["Messages"]
    event = json.loads(messages[0]["Body"])
    assert event["detail-type"] == "Cost run not reconciled" and event["source"] == "bedrock-cost-reporting"
    assert event["detail"]["job_name"] == JOB and event["detail"]["job_run_id"] == "jr_1"
    assert event["detail"]["run_id"] == failed.run_id and damaged.name in event["detail"]["error"]


def _s3_lock(stack: Stack):
    """The deployed layout: the lock object under the tables prefix of the data bucket (moto)."""
    s3 = boto3.client("s3", endpoint_url=stack.endpoint)
    return S3LockStore(s3, DATA_BUCKET, f"tables/{LOCK_NAME}")


def test_a_run_finding_another_runs_s3_lock_fails_and_break_lock_takes_it(
    first: JobRecord, stack: Stack, corpus: Path, spark, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock_clients = []

    def deployed_lock(entry: ModuleType) -> None:
        real = entry.lock_store_for

        def on_s3(out: str, s3_client) -> object:
            # Local Spark writes the tables to a folder; the lock goes where the deployed job keeps it.
            lock_clients.append(s3_client)
            return real(f"s3://{DATA_BUCKET}/tables/", s3_client)

        entry.lock_store_for = on_s3

    holder = LockOwner("20261202T021500Z-0a1b2c3d", "ip-10-0-0-1.ec2.internal", 7, datetime.now(UTC).isoformat())
    assert _s3_lock(stack).create(holder.to_json())
    runs_before = spark.read.parquet(str(stack.tables / "pipeline_runs")).count()
    before = _table_files(stack.tables)
    facts = {t: rows(spark, stack.tables, t) for t in FACT_TABLES}
    with pytest.raises(LockHeld, match=r"run 20261202T021500Z-0a1b2c3d on ip-10-0-0-1\.ec2\.internal \(pid 7\)"):
        run_job(stack, corpus, spark, monkeypatch, patch=deployed_lock)
    assert _table_files(stack.tables) == before
    assert spark.read.parquet(str(stack.tables / "pipeline_runs")).count() == runs_before  # not its output
    assert LockOwner.from_json(_s3_lock(stack).read()[0]) == holder
    # The job's own S3 client: a conditional put to the data bucket, not a client of its own making.
    assert lock_clients and all(client.meta.endpoint_url == stack.endpoint for client in lock_clients)

    monkeypatch.setattr(stack, "argv", [*stack.argv, "--break_lock", "true"])
    record = run_job(stack, corpus, spark, monkeypatch, patch=deployed_lock)
    assert record.commits == 1
    assert _s3_lock(stack).read() is None  # taken over, then released
    assert {t: rows(spark, stack.tables, t) for t in FACT_TABLES} == facts  # nothing new to read
    assert (_last_run(spark, stack.tables).status, _last_run(spark, stack.tables).files_new) == ("succeeded", 0)


def test_a_repricing_run_resolves_the_stored_rows_regions_and_keeps_the_ledger(
    first: JobRecord, stack: Stack, corpus: Path, spark, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = {t: rows(spark, stack.tables, t) for t in FACT_TABLES}
    monkeypatch.setattr(stack, "argv", [*stack.argv, "--reprice", "true"])
    record = run_job(stack, corpus, spark, monkeypatch)
    assert record.commits == 1
    since, until = (stack.argv[stack.argv.index(flag) + 1] for flag in ("--since", "--until"))
    stored = spark.read.schema(TABLE_SCHEMAS["invocations"]).parquet(str(stack.tables / "invocations"))
    in_window = stored.where(stored.usage_date.between(since, until)).select("region").distinct().collect()
    assert record.asked == sorted(r.region for r in in_window) != []
    # Same catalog and profiles as the run that stored the rows: nothing to change, nothing rewritten.
    assert {t: rows(spark, stack.tables, t) for t in FACT_TABLES} == before
    last = _last_run(spark, stack.tables)
    assert (last.mode, last.status, last.rows_repriced, last.reconciled) == ("reprice", "succeeded", 0, True)
    assert last.window_cost_change == 0


def _dq_rows(spark, tables: Path, run_id: str) -> list:
    frame = spark.read.schema(TABLE_SCHEMAS["dq_results"]).parquet(str(tables / "dq_results"))
    return frame.where(frame.run_id == run_id).collect()


def test_the_job_gates_on_the_deployed_rulesets_through_evaluate_data_quality(
    first: JobRecord, stack: Stack, spark
) -> None:
    # Each deployed ruleset once, its text exactly as deployed (the stand-in asserts it), with the other tables
    # and the price catalog as additional sources, publishing to Glue Data Quality and CloudWatch.
    assert [call[0] for call in first.dq_calls] == list(stack.rulesets)
    for context, text, aliases, publishing in first.dq_calls:
        table = stack.rulesets[context]["TargetTable"]["TableName"]
        assert text == stack.rulesets[context]["Ruleset"]
        assert table not in aliases and {"pricing", "invocations", "daily_costs", "pipeline_runs"} - {table} <= set(
            aliases
        )
        assert publishing == {
            "dataQualityEvaluationContext": context,
            "enableDataQualityCloudWatchMetrics": True,
            "enableDataQualityResultsPublishing": True,
        }
    # The template's rulesets as bcr etl reads them are the same text as the deployed ones.
    local = {d.table: d.dqdl for d in load_rulesets()}
    assert {r["TargetTable"]["TableName"]: r["Ruleset"] for r in stack.rulesets.values()} == local
    # Every rule's outcome is a dq_results row of the run, and the run's row counts them.
    run = min(spark.read.parquet(str(stack.tables / "pipeline_runs")).collect(), key=lambda r: r.started_at)
    rows = _dq_rows(spark, stack.tables, run.run_id)
    expected_rules = sum(len(parse(text).rules) for text in local.values())
    assert len(rows) == expected_rules == run.dq_rules_evaluated
    failed = [r for r in rows if r.outcome != "PASS"]
    assert run.dq_rules_failed == len(failed)
    assert run.dq_outcome == ("warned" if failed else "passed") and run.status == "succeeded"
    assert {(r.engine, r.policy) for r in rows} == {("glue", "warn")}


def test_under_policy_fail_a_broken_rule_fails_the_job_and_publishes_nothing(
    first: JobRecord, stack: Stack, corpus: Path, spark, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A rule that really breaks: the corpus was delivered on fixed dates long past, so its newest request is
    # older than DqMaxDataAgeHours (freshness, invocations Rule_6), as when logs stop arriving.
    first_run = min(spark.read.parquet(str(stack.tables / "pipeline_runs")).collect(), key=lambda r: r.started_at)
    assert [r.outcome for r in _dq_rows(spark, stack.tables, first_run.run_id) if r.rule_name == "Rule_6"] == ["FAIL"]
    monkeypatch.setattr(stack, "argv", [*stack.argv, "--dq_policy", "fail"])
    before = _table_files(stack.tables)
    with pytest.raises(RunFailed, match=r"data quality failed \(policy fail\).*invocations Rule_6 FAIL") as failure:
        run_job(stack, corpus, spark, monkeypatch)
    assert _table_files(stack.tables) == before
    failed = _last_run(spark, stack.tables)
    assert (failed.run_id, failed.status, failed.dq_outcome) == (failure.value.summary.run_id, "failed", "failed")
    assert "event_time" in failed.error and failed.dq_rules_failed >= 1
    rows = _dq_rows(spark, stack.tables, failed.run_id)
    assert {r.rule_name for r in rows if r.ruleset == "invocations" and r.outcome == "FAIL"} >= {"Rule_6"}
    assert {r.policy for r in rows} == {"fail"}
    sqs = boto3.client("sqs", endpoint_url=stack.endpoint)
    bodies = [
        json.loads(m["Body"])
        for m in sqs.receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        )
    ]
    assert any(b["detail"]["run_id"] == failed.run_id and "data quality" in b["detail"]["error"] for b in bodies)


def test_the_fallback_option_parser_agrees_with_glues(stack: Stack) -> None:
    awsglue_utils = pytest.importorskip("awsglue.utils")
    options = ["JOB_NAME", "logs_uri", "tables_uri", "pricing_uri", "since"]
    assert (
        resolved_options(stack.argv, options).items() <= awsglue_utils.getResolvedOptions(stack.argv, options).items()
    )


@pytest.fixture
def entry(spark, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    stand_ins, _record = modules(spark, {})
    for name, module in stand_ins.items():
        monkeypatch.setitem(sys.modules, name, module)
    return load_entry_script(ENTRY_SCRIPT)


def test_scheduled_runs_look_back_and_backfills_use_their_window(entry: ModuleType) -> None:
    options = {**entry.ARGUMENTS, **entry.RUN_ARGUMENTS, "lookback_days": "2"}
    assert entry.window(options, date(2026, 12, 2)) == (date(2026, 11, 30), None)
    assert entry.window({**options, "since": "2026-01-01"}, date(2026, 12, 2)) == (date(2026, 1, 1), None)
    backfill = {**options, "since": "2026-01-01", "until": "2026-01-31"}
    assert entry.window(backfill, date(2026, 12, 2)) == (date(2026, 1, 1), date(2026, 1, 31))


def test_optional_arguments_default_and_required_ones_are_enforced(entry: ModuleType) -> None:
    base = ["script", "--JOB_NAME", JOB, "--logs_uri", "s3://l/", "--tables_uri", "s3://t/", "--pricing_uri", "s3://p"]
    options = entry.resolve_options(base)
    assert {k: options[k] for k in ("lookback_days", "tag_aliases", "database", "since")} == {
        "lookback_days": "2",
        "tag_aliases": "",
        "database": "",
        "since": "",
    }
    assert entry.resolve_options([*base, "--lookback_days", "5"])["lookback_days"] == "5"
    with pytest.raises(Exception, match="pricing_uri"):
        entry.resolve_options(base[:-2])


def test_tag_aliases_are_inline_json_or_an_s3_file(entry: ModuleType) -> None:
    assert entry.tag_alias_text(None, "") is None
    assert entry.tag_alias_text(None, '{"tenant": ["org"]}') == '{"tenant": ["org"]}'

    body = b'{"team": ["squad"]}'
    s3 = boto3.client("s3", region_name="us-east-1")
    with Stubber(s3) as stub:
        expected = {"Bucket": "bucket", "Key": "assets/x/tag_aliases.json"}
        stub.add_response("get_object", {"Body": StreamingBody(io.BytesIO(body), len(body))}, expected)
        assert entry.tag_alias_text(s3, "s3://bucket/assets/x/tag_aliases.json") == body.decode()
