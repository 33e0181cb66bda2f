"""Export and deploy against botocore's Stubber: every request is validated against the QuickSight model and
compared with what we expect to be sent; nothing leaves the machine."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber
from quicksight_helpers import ENV, arn, described

from bcr.quicksight import api
from bcr.quicksight.deploy import DeployError, deploy, dry_run
from bcr.quicksight.documents import Definitions, dumps, load_definitions
from bcr.quicksight.export import ExportError, live_definitions
from bcr.quicksight.permissions import DASHBOARD_ACTIONS, DATA_SOURCE_ACTIONS, DATASET_ACTIONS
from bcr.quicksight.placeholders import resolve

ACCOUNT = ENV.account_id
DASHBOARD_ID = "costs-prod-bedrock-costs"
PRINCIPAL = "arn:aws:quicksight:eu-west-1:444455556666:group/default/bedrock-cost-admins"
DECLARED = ["daily_costs", "invocations", "invocation_tags", "pipeline_runs", "rejected_records", "dq_results"]
CLOSED_PORT = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def client() -> Any:
    """One client for the module (building it loads QuickSight's large model); each test stubs it afresh."""
    return boto3.session.Session().client("quicksight", region_name=ENV.region)


@pytest.fixture
def committed() -> Definitions:
    return load_definitions()


def texts(definitions: Definitions) -> dict[str, str]:
    return {path: dumps(document) for path, document in definitions.files().items()}


def dataset_id(name: str) -> str:
    return f"costs-prod-{name.replace('_', '-')}"


def stub_export(stubber: Stubber, responses: dict[str, Any], dashboard_id: str = DASHBOARD_ID) -> None:
    stubber.add_response(
        "describe_dashboard_definition",
        responses["dashboard"],
        {"AwsAccountId": ACCOUNT, "DashboardId": dashboard_id, "AliasName": "$PUBLISHED"},
    )
    for name in DECLARED:
        params = {"AwsAccountId": ACCOUNT, "DataSetId": dataset_id(name)}
        stubber.add_response("describe_data_set", responses[f"dataset:{name}"], params)
    if "data_source" in responses:
        params = {"AwsAccountId": ACCOUNT, "DataSourceId": "costs-prod-athena"}
        stubber.add_response("describe_data_source", responses["data_source"], params)


def without(document: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key not in keys}


def test_export_of_a_faithful_deploy_gives_back_the_committed_files(client: Any, committed: Definitions) -> None:
    """Response-only fields go, the account's ids and ARNs become placeholders again: not one byte differs."""
    with Stubber(client) as stubber:
        stub_export(stubber, described(committed))
        exported = live_definitions(client, ENV, committed)
        stubber.assert_no_pending_responses()
    assert exported is not None
    assert texts(exported) == texts(committed)


def test_export_then_deploy_sends_back_exactly_what_quicksight_described(client: Any, committed: Definitions) -> None:
    responses = described(committed)
    with Stubber(client) as stubber:
        stub_export(stubber, responses)
        exported = live_definitions(client, ENV, committed)
    assert exported is not None
    source = responses["data_source"]["DataSource"]
    dashboard = responses["dashboard"]
    with Stubber(client) as stubber:
        source_params = {"AwsAccountId": ACCOUNT, "DataSourceId": "costs-prod-athena"}
        stubber.add_response("describe_data_source", responses["data_source"], source_params)
        for name in sorted(DECLARED):
            params = {"AwsAccountId": ACCOUNT, "DataSetId": dataset_id(name)}
            stubber.add_response("describe_data_set", responses[f"dataset:{name}"], params)
        stubber.add_response(
            "describe_dashboard",
            {"Dashboard": {"DashboardId": DASHBOARD_ID}, "Status": 200},
            {"AwsAccountId": ACCOUNT, "DashboardId": DASHBOARD_ID},
        )
        stubber.add_response(
            "update_data_source",
            {"DataSourceId": "costs-prod-athena", "UpdateStatus": "UPDATE_IN_PROGRESS", "Status": 202},
            {"AwsAccountId": ACCOUNT, **without(source, "Arn", "Status", "CreatedTime", "LastUpdatedTime", "Type")},
        )
        updated = copy.deepcopy(responses["data_source"])
        updated["DataSource"]["Status"] = "UPDATE_SUCCESSFUL"
        stubber.add_response("describe_data_source", updated, source_params)
        for name in sorted(DECLARED):
            dataset = responses[f"dataset:{name}"]["DataSet"]
            response_only = ("Arn", "CreatedTime", "LastUpdatedTime", "OutputColumns", "ConsumedSpiceCapacityInBytes")
            stubber.add_response(
                "update_data_set",
                {"DataSetId": dataset_id(name), "Status": 201},
                {"AwsAccountId": ACCOUNT, **without(dataset, *response_only)},
            )
        stubber.add_response(
            "update_dashboard",
            {"VersionArn": arn("dashboard", f"{DASHBOARD_ID}/version/7"), "Status": 202},
            {
                "AwsAccountId": ACCOUNT,
                "VersionDescription": "git 1f2e3d4",
                **without(dashboard, "ResourceStatus", "Errors", "Status", "RequestId"),
            },
        )
        version_params = {"AwsAccountId": ACCOUNT, "DashboardId": DASHBOARD_ID, "VersionNumber": 7}
        for status in ("CREATION_IN_PROGRESS", "CREATION_SUCCESSFUL"):
            version = {"Dashboard": {"Version": {"VersionNumber": 7, "Status": status}}, "Status": 200}
            stubber.add_response("describe_dashboard", version, version_params)
        stubber.add_response("update_dashboard_published_version", {"DashboardId": DASHBOARD_ID}, version_params)
        pauses: list[float] = []
        done = deploy(client, exported, ENV, principal_arn=None, version_description="git 1f2e3d4", sleep=pauses.append)
        stubber.assert_no_pending_responses()
    assert pauses == [5.0]
    assert done[0] == "updated data source costs-prod-athena"
    assert done[-1] == f"updated dashboard {DASHBOARD_ID} and published version 7"


def test_first_deploy_creates_everything_owned_by_the_principal(client: Any, committed: Definitions) -> None:
    values = ENV.values()
    with Stubber(client) as stubber:
        stub_nothing_deployed(stubber)
        source = resolve(committed.data_source, values)
        owner = [{"Principal": PRINCIPAL, "Actions": list(DATA_SOURCE_ACTIONS)}]
        stubber.add_response(
            "create_data_source",
            {"DataSourceId": "costs-prod-athena", "CreationStatus": "CREATION_IN_PROGRESS"},
            {"AwsAccountId": ACCOUNT, **source, "Permissions": owner},
        )
        stubber.add_response("describe_data_source", {"DataSource": {"Status": "CREATION_SUCCESSFUL"}})
        for name in sorted(DECLARED):
            dataset = resolve(committed.datasets[name], values)
            owner = [{"Principal": PRINCIPAL, "Actions": list(DATASET_ACTIONS)}]
            expected = {"AwsAccountId": ACCOUNT, **dataset, "Permissions": owner}
            stubber.add_response("create_data_set", {"DataSetId": dataset_id(name)}, expected)
        dashboard = resolve(committed.dashboard, values)
        owner = [{"Principal": PRINCIPAL, "Actions": list(DASHBOARD_ACTIONS)}]
        stubber.add_response(
            "create_dashboard",
            {"VersionArn": arn("dashboard", f"{DASHBOARD_ID}/version/1")},
            {"AwsAccountId": ACCOUNT, **dashboard, "Permissions": owner},
        )
        stubber.add_response("describe_dashboard", {"Dashboard": {"Version": {"Status": "CREATION_SUCCESSFUL"}}})
        stubber.add_response(
            "update_dashboard_published_version",
            {},
            {"AwsAccountId": ACCOUNT, "DashboardId": DASHBOARD_ID, "VersionNumber": 1},
        )
        done = deploy(client, committed, ENV, PRINCIPAL, sleep=lambda _: None)
        stubber.assert_no_pending_responses()
    assert done == [
        "created data source costs-prod-athena",
        *(f"created dataset {dataset_id(name)}" for name in sorted(DECLARED)),
        f"created dashboard {DASHBOARD_ID} and published version 1",
    ]


def stub_nothing_deployed(stubber: Stubber) -> None:
    for operation in ("describe_data_source", *["describe_data_set"] * len(DECLARED), "describe_dashboard"):
        stubber.add_client_error(operation, "ResourceNotFoundException", http_status_code=404)


def test_creating_without_a_principal_stops_before_anything_is_created(client: Any, committed: Definitions) -> None:
    with Stubber(client) as stubber:
        stub_nothing_deployed(stubber)
        with pytest.raises(
            DeployError, match=r"^costs-prod-athena, costs-prod-daily-costs, .*, costs-prod-bedrock-costs do"
        ):
            deploy(client, committed, ENV, principal_arn=None)
        stubber.assert_no_pending_responses()


def test_a_version_quicksight_fails_to_build_is_not_published(client: Any) -> None:
    failed = {
        "Dashboard": {
            "Version": {
                "Status": "CREATION_FAILED",
                "Errors": [
                    {
                        "Type": "COLUMN_NOT_FOUND",
                        "Message": "Column tenant_id not found",
                        "ViolatedEntities": [{"Path": "sheet/overview/visual/overview-top-tenants"}],
                    }
                ],
            }
        }
    }
    with Stubber(client) as stubber:
        stubber.add_response("describe_dashboard", failed)
        with pytest.raises(api.QuickSightError) as caught:
            api.wait_for_version(client, ACCOUNT, DASHBOARD_ID, 3, sleep=lambda _: None)
        stubber.assert_no_pending_responses()
    assert str(caught.value) == (
        f"dashboard {DASHBOARD_ID} version 3 CREATION_FAILED: COLUMN_NOT_FOUND: Column tenant_id not found "
        "at sheet/overview/visual/overview-top-tenants"
    )


def test_dry_run_shows_what_differs_from_the_deployed_dashboard(client: Any, committed: Definitions) -> None:
    responses = described(committed)
    with Stubber(client) as stubber:
        stub_export(stubber, responses)
        assert dry_run(client, committed, ENV) == ""
    edited = copy.deepcopy(responses)
    title = edited["dashboard"]["Definition"]["Sheets"][0]["Visuals"][1]["KPIVisual"]["Title"]["FormatText"]
    title["PlainText"] = "Requests (edited in the console)"
    with Stubber(client) as stubber:
        stub_export(stubber, edited)
        diff = dry_run(client, committed, ENV)
    assert "--- deployed/dashboard.json\n+++ git/dashboard.json\n" in diff
    assert '-                  "PlainText": "Requests (edited in the console)"\n' in diff
    assert '+                  "PlainText": "Requests"\n' in diff


def test_dry_run_before_the_first_deploy_lists_what_would_be_created(client: Any, committed: Definitions) -> None:
    with Stubber(client) as stubber:
        stubber.add_client_error("describe_dashboard_definition", "ResourceNotFoundException", http_status_code=404)
        diff = dry_run(client, committed, ENV)
    assert diff.splitlines()[0] == "would create data_source.json (costs-prod-athena)"
    assert diff.splitlines()[-1] == f"would create dashboard.json ({DASHBOARD_ID})"


def test_a_customised_copy_exports_under_the_committed_id_and_name(client: Any, committed: Definitions) -> None:
    responses = described(committed)
    responses["dashboard"].update(DashboardId="my-copy", Name="Bedrock costs (finance edits)")
    with Stubber(client) as stubber:
        stub_export(stubber, responses, dashboard_id="my-copy")
        exported = live_definitions(client, ENV, committed, source_dashboard_id="my-copy")
    assert exported is not None
    assert texts(exported) == texts(committed)


def test_export_refuses_datasets_spread_over_two_data_sources(client: Any, committed: Definitions) -> None:
    responses = described(committed)
    table = responses["dataset:pipeline_runs"]["DataSet"]["PhysicalTableMap"]["pipeline-runs"]["RelationalTable"]
    table["DataSourceArn"] = arn("datasource", "someone-elses-athena")
    with Stubber(client) as stubber:
        stub_export(stubber, {key: value for key, value in responses.items() if key != "data_source"})
        with pytest.raises(ExportError, match="the datasets read 2 data sources"):
            live_definitions(client, ENV, committed)


def test_access_denied_and_an_unreachable_endpoint_are_one_line_errors(client: Any, tmp_path: Path) -> None:
    with Stubber(client) as stubber:
        stubber.add_client_error("describe_data_set", "AccessDeniedException", "User is not authorized")
        with pytest.raises(
            api.QuickSightError, match="describe_data_set: AccessDeniedException: User is not authorized"
        ):
            api.dataset(client, ACCOUNT, "x")
    closed = boto3.session.Session().client(
        "quicksight",
        region_name=ENV.region,
        endpoint_url=CLOSED_PORT,
        config=Config(connect_timeout=1, retries={"total_max_attempts": 1}),
    )
    with pytest.raises(api.QuickSightError, match="describe_data_source: QuickSight is unreachable"):
        api.data_source(closed, ACCOUNT, "x")


def test_database_and_workgroup_come_from_the_stack_when_not_given() -> None:
    cloudformation = boto3.session.Session().client("cloudformation", region_name=ENV.region)
    stack = {
        "StackName": "costs-prod",
        "CreationTime": "2026-11-20T08:30:00Z",
        "StackStatus": "UPDATE_COMPLETE",
        "Parameters": [{"ParameterKey": "DatabaseName", "ParameterValue": "from_parameter"}],
        "Outputs": [
            {"OutputKey": "DatabaseName", "OutputValue": "costs_prod"},
            {"OutputKey": "AthenaWorkGroup", "OutputValue": "costs-prod-wg"},
        ],
    }
    with Stubber(cloudformation) as stubber:
        stubber.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": "costs-prod"})
        stubber.add_client_error("describe_stacks", "ValidationError", "Stack with id costs-dev does not exist")
        assert api.stack_values(cloudformation, "costs-prod") == {
            "DatabaseName": "costs_prod",
            "AthenaWorkGroup": "costs-prod-wg",
        }
        assert api.stack_values(cloudformation, "costs-dev") == {}
