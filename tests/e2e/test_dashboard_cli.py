"""`bcr dashboard` as a user runs it: exit codes, messages, and files written. AWS clients are stubbed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from quicksight_helpers import ENV, copy_project, described, edit

from bcr.cli import main
from bcr.quicksight.documents import DEFAULT_ROOT, load_definitions

AWS_FLAGS = [
    "--stack-name", ENV.stack_name, "--region", ENV.region, "--account-id", ENV.account_id,
    "--database", ENV.database, "--workgroup", ENV.workgroup,
]  # fmt: skip


@pytest.fixture
def quicksight(monkeypatch: pytest.MonkeyPatch) -> Stubber:
    """Every boto3 client the CLI creates is this stubbed QuickSight client (other services would fail loudly)."""
    client = boto3.session.Session().client("quicksight", region_name=ENV.region)

    def only_quicksight(self: boto3.Session, service: str, *args: Any, **kwargs: Any) -> Any:
        assert service == "quicksight", f"unexpected {service} client"
        return client

    monkeypatch.setattr(boto3.Session, "client", only_quicksight)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def stub_live(stubber: Stubber, responses: dict[str, Any]) -> None:
    stubber.add_response("describe_dashboard_definition", responses["dashboard"])
    for name in ("daily_costs", "invocations", "invocation_tags", "pipeline_runs", "rejected_records", "dq_results"):
        stubber.add_response("describe_data_set", responses[f"dataset:{name}"])
    stubber.add_response("describe_data_source", responses["data_source"])


def test_export_brings_a_console_edit_into_the_files(
    tmp_path: Path, quicksight: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    """The files are one edit behind what is published; export writes the published state, nothing else."""
    root, _ = copy_project(tmp_path)
    responses = described(load_definitions(DEFAULT_ROOT))
    kpi = responses["dashboard"]["Definition"]["Sheets"][0]["Visuals"][1]["KPIVisual"]
    kpi["Title"]["FormatText"]["PlainText"] = "Requests in period"
    stub_live(quicksight, responses)
    assert main(["dashboard", "export", "--definitions", str(root), *AWS_FLAGS]) == 0
    out = capsys.readouterr().out
    assert f"exported into {root}: dashboard.json" in out
    exported = json.loads((root / "dashboard.json").read_text(encoding="utf-8"))
    assert exported["Definition"]["Sheets"][0]["Visuals"][1]["KPIVisual"]["Title"]["FormatText"]["PlainText"] == (
        "Requests in period"
    )
    assert exported["DashboardId"] == {"Fn::Sub": "${AWS::StackName}-bedrock-costs"}
    for relative in ("data_source.json", "datasets/daily_costs.json"):
        assert (root / relative).read_bytes() == (DEFAULT_ROOT / relative).read_bytes()


def test_deploy_dry_run_prints_the_diff_and_changes_nothing(
    tmp_path: Path, quicksight: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = copy_project(tmp_path)
    responses = described(load_definitions(DEFAULT_ROOT))
    edit(root / "datasets" / "invocations.json", lambda d: d.update(ImportMode="SPICE"))
    stub_live(quicksight, responses)
    assert main(["dashboard", "deploy", "--dry-run", "--definitions", str(root), *AWS_FLAGS]) == 0
    out = capsys.readouterr().out
    assert '-  "ImportMode": "DIRECT_QUERY",\n+  "ImportMode": "SPICE",\n' in out
    assert out.count("+++ git/") == 1


def test_deploy_refuses_definitions_that_do_not_validate(
    tmp_path: Path, quicksight: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = copy_project(tmp_path)
    edit(root / "dashboard.json", lambda d: d["Definition"]["CalculatedFields"][0].update(Expression="sum({nope})"))
    assert main(["dashboard", "deploy", "--definitions", str(root), *AWS_FLAGS]) == 1
    captured = capsys.readouterr()
    assert "no column or calculated field 'nope' in dataset daily_costs" in captured.out
    assert "not deployed: `bcr dashboard validate` finds problems" in captured.err


def test_validate_reports_each_problem_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root, template = copy_project(tmp_path)
    edit(root / "datasets" / "rejected_records.json", lambda d: d.update(ImportMode="SPICY"))
    assert main(["dashboard", "validate", "--definitions", str(root), "--template", str(template)]) == 1
    captured = capsys.readouterr()
    assert "datasets/rejected_records.json: Invalid value for parameter ImportMode: 'SPICY'" in captured.out
    assert captured.err.strip().endswith(f"problems in {root}")


def test_format_rewrites_a_hand_edited_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root, _ = copy_project(tmp_path)
    path = root / "data_source.json"
    path.write_text(json.dumps(json.loads(path.read_text(encoding="utf-8"))), encoding="utf-8")
    assert main(["dashboard", "format", "--definitions", str(root)]) == 0
    assert "reformatted data_source.json" in capsys.readouterr().out
    assert path.read_bytes() == (DEFAULT_ROOT / "data_source.json").read_bytes()


def test_wrong_parameters_exit_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dashboard", "deploy", "--stack-name", "costs prod", "--region", ENV.region]) == 2
    assert (
        capsys.readouterr().err.strip()
        == "bcr dashboard: --stack-name: 'costs prod' is not a CloudFormation stack name"
    )
    assert main(["dashboard", "export", "--definitions", str(tmp_path / "nowhere"), *AWS_FLAGS]) == 2
    assert "is not a folder of QuickSight definitions" in capsys.readouterr().err
