"""`bcr sessions config` against botocore's Stubber: realistic DescribeStacks and GetJob answers become the
notebook's session magics and job inputs; a missing stack, job or credential is one line and exit 2.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from bcr.aws import AwsError
from bcr.cli import main
from bcr.sessions.config import (
    DEFAULT_NOTEBOOK,
    JOB_TAG,
    MAGICS_TAG,
    ConfigError,
    job_cell,
    magics_cell,
    parse_magics,
    parse_spark_conf,
)
from bcr.sessions.stack import from_stack
from bedrock_costs.discover import LogObject
from bedrock_costs.quality.rulesets import fetch_rulesets
from bedrock_costs.session import sample
from bedrock_costs.spark import PIPELINE_CONF, SESSION_START_CONF

STACK, REGION, ACCOUNT = "costs-prod", "eu-west-1", "210987654321"
JOB_NAME = f"{STACK}-cost-etl"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{STACK}-JobRole-1A2B3C4D5E6F"
BUCKET = f"{STACK}-databucket-9x8y7z6w5v4u"
ASSETS = f"s3://{BUCKET}/assets/3f1c9a7e5b2d4c60/"


def stack_response() -> dict[str, Any]:
    outputs = {
        "DataBucketName": BUCKET,
        "TablesUri": f"s3://{BUCKET}/tables/",
        "GlueDatabaseName": "bedrock_costs",
        "JobName": JOB_NAME,
        "JobRoleArn": ROLE_ARN,
        "AssetsPrefix": ASSETS,
        "PricingUri": f"{ASSETS}bedrock_prices.csv",
    }
    return {
        "Stacks": [
            {
                "StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK}/0f4c2b10-8e7d-11f0-9a3e-0a1b2c3d",
                "StackName": STACK,
                "CreationTime": datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
                "LastUpdatedTime": datetime(2026, 11, 28, 14, 5, tzinfo=UTC),
                "StackStatus": "UPDATE_COMPLETE",
                "Parameters": [
                    {"ParameterKey": "LogsBucketName", "ParameterValue": "org-bedrock-logs"},
                    {"ParameterKey": "LogsPrefix", "ParameterValue": "bedrock/"},
                    {"ParameterKey": "MaxWorkers", "ParameterValue": "6"},
                ],
                "Outputs": [{"OutputKey": k, "OutputValue": v, "Description": k} for k, v in outputs.items()],
                "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
                "Tags": [{"Key": "project", "Value": "bedrock-cost-reporting"}],
                "DisableRollback": False,
            }
        ]
    }


def job_response(**changes: Any) -> dict[str, Any]:
    job = {
        "Name": JOB_NAME,
        "Description": "Prices new Bedrock invocation logs into the cost tables (glue/bedrock_cost_etl.py)",
        "Role": ROLE_ARN,
        "CreatedOn": datetime(2026, 11, 2, 9, 33, tzinfo=UTC),
        "LastModifiedOn": datetime(2026, 11, 28, 14, 7, tzinfo=UTC),
        "ExecutionProperty": {"MaxConcurrentRuns": 1},
        "Command": {"Name": "glueetl", "ScriptLocation": f"{ASSETS}bedrock_cost_etl.py", "PythonVersion": "3"},
        "DefaultArguments": {
            "--job-language": "python",
            "--extra-py-files": f"{ASSETS}bedrock_costs.zip",
            "--TempDir": f"s3://{BUCKET}/glue/temp/",
            "--enable-auto-scaling": "true",
            "--conf": "spark.sql.shuffle.partitions=64 --conf spark.sql.session.timeZone=America/New_York"
            " --conf spark.sql.codegen.cache.maxEntries=500",
            "--logs_uri": "s3://org-bedrock-logs/bedrock/",
            "--tables_uri": f"s3://{BUCKET}/tables/",
            "--pricing_uri": f"{ASSETS}bedrock_prices.csv",
            "--tag_aliases": f"{ASSETS}tag_aliases.json",
            "--database": "bedrock_costs",
            "--lookback_days": "2",
            "--lock_stale_minutes": "360",
        },
        "MaxRetries": 1,
        "AllocatedCapacity": 6,
        "Timeout": 60,
        "MaxCapacity": 6.0,
        "WorkerType": "G.1X",
        "NumberOfWorkers": 6,
        "SecurityConfiguration": f"{STACK}-cost-etl",
        "GlueVersion": "5.1",
        "ExecutionClass": "STANDARD",
    }
    job.update(changes)
    return {"Job": job}


@contextmanager
def stubbed(job: dict[str, Any] | None = None, stack_error: str | None = None) -> Iterator[tuple[Any, Any]]:
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    glue = boto3.client("glue", region_name=REGION)
    with Stubber(cloudformation) as cfn_stub, Stubber(glue) as glue_stub:
        if stack_error:
            cfn_stub.add_client_error("describe_stacks", "ValidationError", stack_error, 400, {"StackName": STACK})
        else:
            cfn_stub.add_response("describe_stacks", stack_response(), {"StackName": STACK})
            if job is not None:
                glue_stub.add_response("get_job", job, {"JobName": JOB_NAME})
            else:
                glue_stub.add_client_error("get_job", "EntityNotFoundException", "Job not found", 400)
        yield cloudformation, glue
        cfn_stub.assert_no_pending_responses()
        glue_stub.assert_no_pending_responses()


def test_the_session_is_the_deployed_jobs() -> None:
    with stubbed(job_response()) as clients:
        config = from_stack(*clients, STACK, REGION)
    magics = parse_magics(magics_cell(config))
    assert magics == {
        "region": REGION,
        "glue_version": "5.1",
        "worker_type": "G.1X",
        "number_of_workers": "6",
        "idle_timeout": "30",
        "iam_role": ROLE_ARN,
        "security_config": f"{STACK}-cost-etl",
        "extra_py_files": f"{ASSETS}bedrock_costs.zip",
        "additional_python_modules": magics["additional_python_modules"],
        "spark_conf": magics["spark_conf"],
    }
    # What a session starts with, the job's own --conf over it (its own class cache size), then the entry
    # script's settings over both (time zone UTC, as every run has it).
    job_conf = {"spark.sql.shuffle.partitions": "64", "spark.sql.codegen.cache.maxEntries": "500"}
    assert job_conf.keys() - PIPELINE_CONF.keys() >= SESSION_START_CONF.keys()
    assert parse_spark_conf(magics["spark_conf"]) == {**job_conf, **PIPELINE_CONF}
    assert parse_spark_conf(magics["spark_conf"])["spark.sql.session.timeZone"] == "UTC"
    assert magics["additional_python_modules"] == f"lark=={version('lark')},pyyaml=={version('pyyaml')}"
    namespace: dict[str, Any] = {}
    exec(job_cell(config), namespace)
    assert namespace["JOB"] == {
        "stack": STACK,
        "logs_uri": "s3://org-bedrock-logs/bedrock/",
        "pricing_uri": f"{ASSETS}bedrock_prices.csv",
        "tag_aliases": f"{ASSETS}tag_aliases.json",
        "tables_uri": f"s3://{BUCKET}/tables/",
        "scratch_tables_uri": f"s3://{BUCKET}/glue/notebook/tables/",
        "rulesets": f"{STACK}-invocations,{STACK}-daily_costs,{STACK}-pipeline_runs",
    }


def test_the_jobs_own_python_modules_are_kept_and_not_repeated() -> None:
    arguments = dict(job_response()["Job"]["DefaultArguments"])
    arguments["--additional-python-modules"] = "PyYAML==6.0.2, s3://deps/wheelhouse.zip"
    with stubbed(job_response(DefaultArguments=arguments)) as clients:
        modules = from_stack(*clients, STACK, REGION).additional_python_modules
    assert modules == f"PyYAML==6.0.2,s3://deps/wheelhouse.zip,lark=={version('lark')}"


def test_a_job_role_given_by_name_is_taken_from_the_stack_output() -> None:
    with stubbed(job_response(Role=f"{STACK}-JobRole-1A2B3C4D5E6F")) as clients:
        assert from_stack(*clients, STACK, REGION).iam_role == ROLE_ARN


def test_a_missing_stack_says_so_with_the_region() -> None:
    with stubbed(stack_error=f"Stack with id {STACK} does not exist") as clients, pytest.raises(ConfigError) as caught:
        from_stack(*clients, STACK, REGION)
    assert str(caught.value) == f"no stack {STACK} in {REGION} (deploy it with `sam deploy`, or pass --region)"


def test_a_missing_job_names_the_call() -> None:
    with stubbed(None) as clients, pytest.raises(AwsError, match="get_job: EntityNotFoundException: Job not found"):
        from_stack(*clients, STACK, REGION)


def test_a_job_without_its_package_or_inputs_is_refused() -> None:
    arguments = dict(job_response()["Job"]["DefaultArguments"])
    del arguments["--extra-py-files"], arguments["--logs_uri"]
    with stubbed(job_response(DefaultArguments=arguments)) as clients, pytest.raises(ConfigError) as caught:
        from_stack(*clients, STACK, REGION)
    assert "the job argument --extra-py-files, the job argument --logs_uri" in str(caught.value)


class _Session:
    """boto3.Session as the command uses it, handing out the stubbed clients."""

    def __init__(self, clients: tuple[Any, Any], **_: Any) -> None:
        self.region_name = REGION
        self._clients = dict(zip(("cloudformation", "glue"), clients, strict=True))

    def client(self, service: str, **_: Any) -> Any:
        return self._clients[service]


def test_config_writes_a_copy_of_the_notebook_with_the_stacks_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "costs.ipynb"
    with stubbed(job_response()) as clients:
        monkeypatch.setattr("bcr.commands.sessions.boto3.Session", lambda **kw: _Session(clients, **kw))
        assert main(["sessions", "config", "--stack", STACK, "--out", str(target)]) == 0
    assert f"stack {STACK} ({REGION}), job {JOB_NAME}" in capsys.readouterr().out
    written, committed = (json.loads(p.read_text(encoding="utf-8"))["cells"] for p in (target, DEFAULT_NOTEBOOK))
    assert len(written) == len(committed)
    for new, old in zip(written, committed, strict=True):
        tags = set(old["metadata"].get("tags", []))
        if tags & {MAGICS_TAG, JOB_TAG}:
            assert new["source"] != old["source"]
        else:
            assert new == old  # every other cell untouched
    assert f"%iam_role {ROLE_ARN}\n" in written[1]["source"]


def test_config_refuses_a_notebook_without_the_generated_cells(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "other.ipynb"
    shutil.copy(DEFAULT_NOTEBOOK, target)
    document = json.loads(target.read_text(encoding="utf-8"))
    for cell in document["cells"]:
        cell["metadata"].pop("tags", None)
    target.write_text(json.dumps(document), encoding="utf-8")
    with stubbed(job_response()) as clients:
        monkeypatch.setattr("bcr.commands.sessions.boto3.Session", lambda **kw: _Session(clients, **kw))
        assert main(["sessions", "config", "--stack", STACK, "--out", str(target)]) == 2
    assert f"no cell tagged {JOB_TAG}, {MAGICS_TAG}" in capsys.readouterr().err


def test_without_credentials_config_exits_2_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing may leave the machine regardless
    assert main(["sessions", "config", "--stack", STACK, "--region", REGION]) == 2
    err = capsys.readouterr().err
    assert err == "bcr sessions: describe_stacks: no AWS credentials found; set AWS_PROFILE or pass --profile\n"


def test_template_mode_takes_no_region(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sessions", "config", "--template", "--region", REGION]) == 2
    assert "--region and --profile go with --stack" in capsys.readouterr().err


def test_the_deployed_rulesets_are_read_by_name() -> None:
    glue = boto3.client("glue", region_name=REGION)
    dqdl = 'Rules = [ IsPrimaryKey "request_id" ]'
    with Stubber(glue) as stub:
        stub.add_response(
            "get_data_quality_ruleset",
            {
                "Name": f"{STACK}-invocations",
                "Ruleset": dqdl,
                "TargetTable": {"TableName": "invocations", "DatabaseName": "bedrock_costs"},
                "CreatedOn": datetime(2026, 11, 2, tzinfo=UTC),
            },
            {"Name": f"{STACK}-invocations"},
        )
        (ruleset,) = fetch_rulesets(glue, [f"{STACK}-invocations"])
    assert (ruleset.name, ruleset.table, ruleset.dqdl, ruleset.aws_name) == (
        "invocations",
        "invocations",
        dqdl,
        f"{STACK}-invocations",
    )


def test_a_ruleset_the_role_may_not_read_says_which_permission_is_missing() -> None:
    glue = boto3.client("glue", region_name=REGION)
    with Stubber(glue) as stub, pytest.raises(RuntimeError) as caught:
        stub.add_client_error("get_data_quality_ruleset", "AccessDeniedException", "not authorized", 400)
        fetch_rulesets(glue, [f"{STACK}-invocations"])
    assert str(caught.value) == (
        f"cannot read the deployed ruleset {STACK}-invocations (AccessDeniedException: not authorized); the job's "
        "role (a Glue session runs as it too) needs glue:GetDataQualityRuleset on it"
    )


def test_the_sample_is_the_newest_objects_in_the_pipelines_order() -> None:
    objects = [
        LogObject(f"AWSLogs/1/BedrockModelInvocationLogs/us-east-1/2026/11/2{d}/0{h}/{n}.json.gz", 10, "1", "r", hour)
        for d in range(3)
        for h in range(2)
        for n, hour in [(f"{d}{h}", datetime(2026, 11, 20 + d, h, tzinfo=UTC))]
    ]
    picked = sample(list(reversed(objects)), 3)
    assert picked == sorted(objects[-3:])
    assert sample(objects, None) == sample(objects, 100) == sorted(objects)
    assert sample(objects, 0) == []
