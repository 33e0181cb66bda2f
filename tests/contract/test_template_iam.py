"""Least privilege, checked on every policy statement in template.yaml, and each rule shown to fire."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from fnmatch import fnmatchcase
from typing import Any

import pytest
from aws_template import TEMPLATE, default_refs, fresh_template, resolve

from bedrock_costs.commit import MANIFEST, STAGING, STARTED
from bedrock_costs.lock import LOCK_NAME
from bedrock_costs.storage import STATE

# APIs that have no resource type, so "Resource: *" is the only way to grant them (AWS Service Authorization
# Reference), with the condition key that must then scope them, if the API has one.
RESOURCE_STAR_ALLOWED = {
    "bedrock:ListInferenceProfiles": None,  # a list call; profiles are read to resolve their ARNs
    "cloudwatch:PutMetricData": "cloudwatch:namespace",  # Glue job metrics, namespace "Glue" only
}
SOURCE_CONDITIONS = ("aws:SourceAccount", "aws:SourceArn")
RESOURCE_POLICIES = {
    "AWS::S3::BucketPolicy": "PolicyDocument",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    "AWS::KMS::Key": "KeyPolicy",
}


def statements(document: Any) -> Iterator[dict[str, Any]]:
    """Every statement of a policy document, both branches of an ``Fn::If`` included."""
    items = document.get("Statement", []) if isinstance(document, dict) else []
    for item in items if isinstance(items, list) else [items]:
        if isinstance(item, dict) and "Fn::If" in item:
            yield from statements({"Statement": [b for b in item["Fn::If"][1:] if b != {"Ref": "AWS::NoValue"}]})
        else:
            yield item


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def text(value: Any) -> str:
    """A resource or ARN as readable text: the Sub template, or a placeholder for Ref/GetAtt."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Sub" in value:
        return value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return "<{}>".format(".".join(as_list(value["Fn::GetAtt"])))
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    return repr(value)


def identity_problems(where: str, statement: Mapping[str, Any]) -> list[str]:
    problems = []
    if statement.get("Effect") != "Allow":
        return problems
    for key in ("NotAction", "NotResource", "NotPrincipal"):
        if key in statement:
            problems.append(f"{where}: {key} grants everything but a list")
    actions = [text(a) for a in as_list(statement.get("Action", []))]
    problems += [f"{where}: wildcard action {a}" for a in actions if "*" in a]
    resources = [text(r) for r in as_list(statement.get("Resource", []))]
    if "*" in resources:
        for action in actions:
            if action not in RESOURCE_STAR_ALLOWED:
                problems.append(f'{where}: {action} on Resource "*" (it has resource types: scope it)')
            elif RESOURCE_STAR_ALLOWED[action] and not _has_condition_key(statement, RESOURCE_STAR_ALLOWED[action]):
                problems.append(
                    f'{where}: {action} on Resource "*" without a {RESOURCE_STAR_ALLOWED[action]} condition'
                )
    for resource in resources:
        if resource.startswith("arn:") and (":*:" in resource or resource.split(":", 5)[-1].startswith("*")):
            problems.append(f"{where}: resource {resource} is not scoped to a named resource")
        # The catalog, this stack's database and its tables, or this stack's data-quality rulesets.
        scoped = ("/${GlueDatabase}" in resource, ":dataQualityRuleset/${AWS::StackName}-" in resource)
        if ":glue:" in resource and not (resource.endswith(":catalog") or any(scoped)):
            problems.append(f"{where}: Glue resource {resource} is not scoped to this stack's database")
    return problems


def resource_policy_problems(where: str, statement: Mapping[str, Any], key_policy: bool) -> list[str]:
    if statement.get("Effect") != "Allow":
        return []  # Deny statements only narrow access (TLS-only guards)
    principal = statement.get("Principal", {})
    problems = []
    if principal == "*" or (isinstance(principal, dict) and "*" in as_list(principal.get("AWS", []))):
        problems.append(f"{where}: Allow to any principal")
    if (
        isinstance(principal, dict)
        and "Service" in principal
        and not any(_has_condition_key(statement, key) for key in SOURCE_CONDITIONS)
    ):
        problems.append(f"{where}: Allow to {principal['Service']} without aws:SourceAccount/aws:SourceArn")
    # In a key policy "Resource: *" means the key itself; elsewhere the identity rules apply to the grant.
    checked = {**statement, "Resource": "this-key"} if key_policy else statement
    return problems + identity_problems(where, checked)


def iam_problems(tpl: Mapping[str, Any]) -> list[str]:
    """Every breach of the least-privilege rules in a parsed template."""
    problems: list[str] = []
    for name, resource in tpl["Resources"].items():
        kind, properties = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::IAM::Role":
            for statement in statements(properties["AssumeRolePolicyDocument"]):
                principal = statement.get("Principal", {})
                if not (isinstance(principal, dict) and set(principal) == {"Service"}):
                    problems.append(f"{name} trust: only AWS services may assume the role, not {principal}")
            for policy in properties.get("Policies", []):
                for statement in statements(policy["PolicyDocument"]):
                    problems += identity_problems(f"{name}/{policy['PolicyName']}", statement)
            problems += [
                f"{name}: managed policy {text(arn)} (write the statements it needs instead)"
                for arn in properties.get("ManagedPolicyArns", [])
            ]
        elif kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            for statement in statements(properties["PolicyDocument"]):
                problems += identity_problems(name, statement)
        elif kind == "AWS::Serverless::Function":
            for policy in as_list(properties.get("Policies", [])):
                if isinstance(policy, dict) and "Statement" in policy:
                    problems += [p for s in statements(policy) for p in identity_problems(name, s)]
                else:
                    problems.append(f"{name}: SAM policy template or managed policy {text(policy)}")
        elif kind in RESOURCE_POLICIES:
            for statement in statements(properties.get(RESOURCE_POLICIES[kind], {})):
                problems += resource_policy_problems(name, statement, key_policy=kind == "AWS::KMS::Key")
        elif kind == "AWS::Lambda::Permission" and "SourceAccount" not in properties and "SourceArn" not in properties:
            problems.append(f"{name}: Lambda permission without SourceAccount/SourceArn")
    return problems


def _has_condition_key(statement: Mapping[str, Any], key: str) -> bool:
    return any(key in block for block in statement.get("Condition", {}).values() if isinstance(block, dict))


def test_every_statement_is_least_privilege() -> None:
    assert iam_problems(fresh_template()) == []


def test_every_resource_star_is_justified_in_the_template() -> None:
    lines = TEMPLATE.read_text(encoding="utf-8").splitlines()
    for action in RESOURCE_STAR_ALLOWED:
        index = next(i for i, line in enumerate(lines) if f"Action: {action}" in line)
        assert 'Resource "*"' in lines[index - 1] and lines[index - 1].strip().startswith("#"), action


def _job_policy(tpl: dict, name: str) -> list[dict]:
    policies = tpl["Resources"]["JobRole"]["Properties"]["Policies"]
    return next(p for p in policies if p["PolicyName"] == name)["PolicyDocument"]["Statement"]


def _grant(statement: dict):
    return lambda tpl: _job_policy(tpl, "run-and-report").append(statement)


@pytest.mark.parametrize(
    ("inject", "expected"),
    [
        (_grant({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"}), "wildcard action s3:*"),
        (_grant({"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b"}), "wildcard action *"),
        (_grant({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}), 's3:GetObject on Resource "*"'),
        (
            _grant({"Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*"}),
            "without a cloudwatch:namespace condition",
        ),
        (_grant({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}), "NotAction grants everything"),
        (_grant({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::*/*"}), "is not scoped"),
        (
            _grant(
                {"Effect": "Allow", "Action": "glue:GetTable", "Resource": {"Fn::Sub": "arn:aws:glue:r:a:table/*/*"}}
            ),
            "not scoped to this stack's database",
        ),
        (
            _grant(
                {
                    "Effect": "Allow",
                    "Action": "glue:PublishDataQuality",
                    "Resource": {"Fn::Sub": "arn:aws:glue:r:a:dataQualityRuleset/*"},
                }
            ),
            "not scoped to this stack's database",
        ),
        (
            lambda tpl: tpl["Resources"]["JobRole"]["Properties"].update(
                ManagedPolicyArns=["arn:aws:iam::aws:policy/service-role/AWSGlueServiceRole"]
            ),
            "managed policy arn:aws:iam::aws:policy/service-role/AWSGlueServiceRole",
        ),
        (
            lambda tpl: tpl["Resources"]["AlertsTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"][0].pop(
                "Condition"
            ),
            "without aws:SourceAccount/aws:SourceArn",
        ),
        (
            lambda tpl: tpl["Resources"]["DataBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"].append(
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "quicksight.amazonaws.com"},
                    "Action": "s3:GetObject",
                    "Resource": {"Fn::Sub": "${DataBucket.Arn}/*"},
                }
            ),
            "Allow to quicksight.amazonaws.com without",
        ),
        (
            lambda tpl: tpl["Resources"]["DataBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"].append(
                {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
            ),
            "Allow to any principal",
        ),
        (
            lambda tpl: tpl["Resources"]["JobRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0].update(
                Principal={"AWS": "*"}
            ),
            "only AWS services may assume",
        ),
        (
            lambda tpl: tpl["Resources"]["AssetPublisherFunction"]["Properties"].update(Policies=["S3CrudPolicy"]),
            "SAM policy template or managed policy S3CrudPolicy",
        ),
    ],
)
def test_each_rule_fires_on_a_breach(inject, expected: str) -> None:
    tpl = fresh_template()
    inject(tpl)
    problems = iam_problems(tpl)
    assert any(expected in problem for problem in problems), problems


def test_conditional_statements_are_checked_in_both_branches() -> None:
    tpl = fresh_template()
    kms = _job_policy(tpl, "read-invocation-logs")[-1]
    assert "Fn::If" in kms
    kms["Fn::If"][1]["Action"] = "kms:*"
    assert any("wildcard action kms:*" in problem for problem in iam_problems(tpl))


def job_allows(tpl: Mapping[str, Any], action: str, arn: str) -> bool:
    """Whether an unconditional Allow of the job role's inline policies grants ``action`` on ``arn``."""
    arns = {"DataBucket.Arn": "arn:aws:s3:::bcr-data", "JobLogs.Arn": "arn:aws:logs:us-east-1:123456789012:log-group:j"}
    refs = default_refs(tpl, DataBucket="bcr-data", GlueDatabase="bedrock_costs", **arns)
    conditions = {"HasLogsKmsKey": False, "HasDataKmsKey": False}
    for policy in tpl["Resources"]["JobRole"]["Properties"]["Policies"]:
        for statement in resolve(policy["PolicyDocument"], refs, conditions)["Statement"]:
            if statement["Effect"] == "Allow" and "Condition" not in statement:
                actions, resources = as_list(statement["Action"]), as_list(statement["Resource"])
                if action in actions and any(fnmatchcase(arn, pattern) for pattern in resources):
                    return True
    return False


def _run_objects(tpl: Mapping[str, Any]) -> list[str]:
    """ARNs of the objects one run writes, moves and deletes under the job's --tables_uri."""
    refs = default_refs(tpl, DataBucket="bcr-data")
    tables = resolve(tpl["Resources"]["CostEtlJob"]["Properties"]["DefaultArguments"]["--tables_uri"], refs)
    root = "arn:aws:s3:::" + tables.removeprefix("s3://").rstrip("/")
    run = "20261202T021500Z-0a1b2c3d"
    return [
        f"{root}/{LOCK_NAME}",
        f"{root}/{STAGING}/{run}/{STARTED}",
        f"{root}/{STAGING}/{run}/{MANIFEST}",
        f"{root}/{STAGING}/{run}/01-invocations/usage_date=2026-12-01/part-00000.snappy.parquet",
        f"{root}/invocations/usage_date=2026-12-01/part-{run}-01000.snappy.parquet",
        f"{root}/{STATE}/run_date=2026-12-02/part-{run}-05000.snappy.parquet",
    ]


def test_the_job_may_lock_stage_publish_and_replace_its_table_files() -> None:
    """A run takes its lock with a conditional put and deletes it; publishing moves (copy, then delete) staged
    files into the tables and deletes the files a repricing or compaction replaces."""
    tpl = fresh_template()
    for arn in _run_objects(tpl):
        for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
            assert job_allows(tpl, action, arn), (action, arn)
    assert job_allows(tpl, "s3:ListBucket", "arn:aws:s3:::bcr-data")


def test_a_missing_delete_grant_is_caught() -> None:
    tpl = fresh_template()
    for statement in _job_policy(tpl, "write-cost-tables"):
        if isinstance(statement.get("Action"), list) and "s3:DeleteObject" in statement["Action"]:
            statement["Action"].remove("s3:DeleteObject")
    arns = _run_objects(tpl)
    assert not any(job_allows(tpl, "s3:DeleteObject", arn) for arn in arns)
    assert all(job_allows(tpl, "s3:PutObject", arn) for arn in arns)
