"""cfn-lint, `sam validate --lint` and checkov pass on template.yaml, and each of them fails on a broken copy.

The tools come from the pinned environments under .tools/ (`scripts/dev test` installs them); cfn-lint also
runs in-process from the project's environment, at the same version the SAM CLI pins.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_template import TEMPLATE, fresh_template, run_tool, template, tool
from cfnlint.api import ManualArgs, lint

# Informational rules are on, except I4010, which asks for a Metadata.com.aws.cloudformation.Context block
# meant for AI assistants; the template documents each resource in its comments instead.
LINT_CONFIG = ManualArgs(
    include_checks=["I"],
    ignore_checks=["I4010"],
    regions=["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1", "ap-southeast-2"],
)


def lint_problems(text: str) -> list[str]:
    return [f"{match.rule.id} line {match.linenumber}: {match.message}" for match in lint(text, config=LINT_CONFIG)]


def test_cfn_lint_is_clean() -> None:
    assert lint_problems(TEMPLATE.read_text(encoding="utf-8")) == []


def test_cfn_lint_catches_a_wrong_property() -> None:
    broken = TEMPLATE.read_text(encoding="utf-8").replace("WorkerType: G.1X", "WorkerType: G.3X")
    assert any(problem.startswith("E3030") and "G.3X" in problem for problem in lint_problems(broken))


def test_sam_validate_lint_is_clean() -> None:
    result = run_tool([tool("sam", "sam"), "validate", "--lint", "--template-file", TEMPLATE])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


def test_sam_validate_lint_rejects_a_broken_serverless_resource(tmp_path: Path) -> None:
    broken = tmp_path / "template.yaml"
    broken.write_text(
        TEMPLATE.read_text(encoding="utf-8").replace("AutoPublishAlias: live", "AutoPublishAlias: [live]")
    )
    result = run_tool([tool("sam", "sam"), "validate", "--lint", "--template-file", broken])
    assert result.returncode != 0
    assert "Linting failed" in result.stderr and "['live'] is not of type 'string'" in result.stdout


@pytest.fixture(scope="module")
def checkov(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """One checkov run over the template and a copy with a public bucket and an unencrypted topic."""
    folder = tmp_path_factory.mktemp("checkov")
    broken = fresh_template()
    del broken["Resources"]["DataBucket"]["Properties"]["PublicAccessBlockConfiguration"]
    del broken["Resources"]["AlertsTopic"]["Properties"]["KmsMasterKeyId"]
    (folder / "broken.json").write_text(json.dumps(broken))
    result = run_tool(
        [
            tool("checkov", "checkov"),
            "--framework", "cloudformation",
            "--skip-download",
            "--output", "json",
            "--file", TEMPLATE,
            "--file", folder / "broken.json",
        ],
        timeout=300,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    by_file: dict[str, dict] = {"template": {"failed": [], "skipped": [], "passed": []}, "broken": {"failed": []}}
    for section in reports:
        for outcome in ("failed", "skipped", "passed"):
            for check in section["results"][f"{outcome}_checks"]:
                name = "broken" if check["file_path"].endswith("broken.json") else "template"
                by_file[name].setdefault(outcome, []).append((check["check_id"], check["resource"]))
    return by_file


def test_checkov_passes_the_template(checkov: dict[str, dict]) -> None:
    assert checkov["template"]["failed"] == []
    assert len(checkov["template"]["passed"]) >= 20  # it did scan: bucket, roles, job, topic, key, logs


def test_every_checkov_skip_is_justified_and_still_needed(checkov: dict[str, dict]) -> None:
    declared = [
        (skip["id"], f"{res['Type']}.{name}", skip.get("comment", ""))
        for name, res in template()["Resources"].items()
        for skip in res.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert declared, "the template declares its checkov skips next to the resources"
    thin = [(check, resource) for check, resource, comment in declared if len(comment.split()) < 8]
    assert thin == [], "each skip needs a comment saying why"
    stale = sorted({(check, resource) for check, resource, _ in declared} - set(checkov["template"]["skipped"]))
    assert stale == [], "skips of checks checkov no longer raises"


def test_checkov_fails_a_public_bucket_and_an_unencrypted_topic(checkov: dict[str, dict]) -> None:
    failed = set(checkov["broken"]["failed"])
    assert {("CKV_AWS_53", "AWS::S3::Bucket.DataBucket"), ("CKV_AWS_26", "AWS::SNS::Topic.AlertsTopic")} <= failed
