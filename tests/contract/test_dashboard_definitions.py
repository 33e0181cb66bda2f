"""The committed QuickSight definitions: valid, canonical, environment-free, and held to template.yaml."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from quicksight_helpers import ENV, copy_project, edit

from bcr.cli import main
from bcr.quicksight.documents import DEFAULT_ROOT, dumps, kind_of, load_definitions, noncanonical_files
from bcr.quicksight.export import committed_form
from bcr.quicksight.placeholders import environment_leaks, resolve
from bcr.quicksight.template import DEFAULT_TEMPLATE, contract_problems, load_template

FILES = sorted(path.relative_to(DEFAULT_ROOT).as_posix() for path in DEFAULT_ROOT.rglob("*.json"))


def test_validate_passes_on_the_committed_definitions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dashboard", "validate"]) == 0
    assert "valid (6 datasets, 5 sheets, 38 visuals)" in capsys.readouterr().out


@pytest.mark.parametrize("relative", FILES)
def test_committed_file_is_normalized_and_normalizing_again_changes_nothing(relative: str) -> None:
    text = (DEFAULT_ROOT / relative).read_text(encoding="utf-8")
    document = json.loads(text)
    assert dumps(document) == text
    # The export normalizer (create-request members, placeholders) is a fixed point on committed files too.
    once = committed_form(kind_of(relative), resolve(document, ENV.values()), ENV)
    twice = committed_form(kind_of(relative), resolve(once, ENV.values()), ENV)
    assert dumps(once) == dumps(twice) == text


@pytest.mark.parametrize("relative", FILES)
def test_committed_file_holds_no_account_region_or_arn(relative: str) -> None:
    assert list(environment_leaks(json.loads((DEFAULT_ROOT / relative).read_text(encoding="utf-8")))) == []


def test_the_formatting_check_fails_on_a_file_that_is_not_normalized(tmp_path: Path) -> None:
    root, _ = copy_project(tmp_path)
    assert noncanonical_files(root) == []
    path = root / "datasets" / "pipeline_runs.json"
    path.write_text(json.dumps(json.loads(path.read_text(encoding="utf-8")), indent=4), encoding="utf-8")
    assert noncanonical_files(root) == ["datasets/pipeline_runs.json"]


def test_template_and_definitions_agree() -> None:
    template = load_template(DEFAULT_TEMPLATE)
    assert contract_problems(template, DEFAULT_TEMPLATE.parent, DEFAULT_ROOT, load_definitions()) == []


def drift(tmp_path: Path, change_template: Any = None, change_file: tuple[str, Any] | None = None) -> list[str]:
    root, template_path = copy_project(tmp_path)
    if change_file:
        edit(root / change_file[0], change_file[1])
    if change_template:
        template_path.write_text(change_template(template_path.read_text(encoding="utf-8")), encoding="utf-8")
    return contract_problems(load_template(template_path), template_path.parent, root, load_definitions(root))


def test_a_renamed_dataset_id_is_drift(tmp_path: Path) -> None:
    """The refresh schedule, the refresh state machine and the dashboard's ARN all repeat the dataset id."""
    problems = drift(
        tmp_path,
        change_file=("datasets/daily_costs.json", lambda d: d.update(DataSetId={"Fn::Sub": "${AWS::StackName}-spend"})),
    )
    assert (
        "refresh schedules cover ['bcr-daily-costs', 'bcr-dq-results', 'bcr-pipeline-runs', 'bcr-rejected-records'], "
        "the SPICE datasets are ['bcr-dq-results', 'bcr-pipeline-runs', 'bcr-rejected-records', 'bcr-spend']"
        in problems
    )
    assert any(p.startswith("QuickSightSpiceRefresh refreshes ['bcr-daily-costs'") for p in problems)


def test_a_definition_file_the_template_does_not_include_is_drift(tmp_path: Path) -> None:
    problems = drift(
        tmp_path,
        change_template=lambda text: text.replace(
            "Location: quicksight_definitions/datasets/rejected_records.json",
            "Location: quicksight_definitions/datasets/pipeline_runs.json",
        ),
    )
    assert "datasets/rejected_records.json is included by 0 resources of template.yaml, not exactly one" in problems
    assert "datasets/pipeline_runs.json is included by 2 resources of template.yaml, not exactly one" in problems


def test_a_missing_dependency_or_permission_is_drift(tmp_path: Path) -> None:
    problems = drift(
        tmp_path,
        change_template=lambda text: text.replace("      - QuickSightRejectedRecordsDataSet\n", "", 1).replace(
            "            - quicksight:UpdateDashboardPublishedVersion\n", "", 1
        ),
    )
    assert "QuickSightDashboard must list QuickSightRejectedRecordsDataSet in DependsOn" in problems
    assert any(
        p.startswith("QuickSightDashboard Permissions must grant QuickSightPrincipalArn exactly") for p in problems
    )
