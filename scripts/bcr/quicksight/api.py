"""The QuickSight calls of export and deploy: one function per call, the client passed in.

Everything here is a thin wrapper: it names the call, turns "not found" into ``None`` and every other
failure into one actionable line (``QuickSightError``). What to send and what to keep is decided elsewhere,
on plain dicts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from bcr import aws

_TERMINAL = {"CREATION_SUCCESSFUL", "UPDATE_SUCCESSFUL", "CREATION_FAILED", "UPDATE_FAILED"}


class QuickSightError(aws.AwsError):
    """A failed AWS call of export or deploy (QuickSight, or the stack lookup), in one line naming the call."""


_EDITION = "needs QuickSight Enterprise edition and quicksight permissions for the caller"
_HINTS = {"AccessDeniedException": _EDITION, "UnsupportedUserEditionException": _EDITION}


def call(client: Any, operation: str, **params: Any) -> dict[str, Any]:
    """``client.<operation>(**params)`` with failures turned into QuickSightError."""
    return aws.call(client, operation, error=QuickSightError, hints=_HINTS, **params)


def describe(client: Any, operation: str, **params: Any) -> dict[str, Any] | None:
    """A describe call that answers None when the resource does not exist yet."""
    try:
        return call(client, operation, **params)
    except QuickSightError as exc:
        cause = exc.__cause__
        if (
            isinstance(cause, ClientError)
            and cause.response.get("Error", {}).get("Code") == "ResourceNotFoundException"
        ):
            return None
        raise


def data_source(client: Any, account_id: str, data_source_id: str) -> dict[str, Any] | None:
    response = describe(client, "describe_data_source", AwsAccountId=account_id, DataSourceId=data_source_id)
    return response["DataSource"] if response else None


def dataset(client: Any, account_id: str, dataset_id: str) -> dict[str, Any] | None:
    response = describe(client, "describe_data_set", AwsAccountId=account_id, DataSetId=dataset_id)
    return response["DataSet"] if response else None


def dashboard_definition(client: Any, account_id: str, dashboard_id: str) -> dict[str, Any] | None:
    """The published version's definition (what viewers see), or None if there is no such dashboard."""
    return describe(
        client,
        "describe_dashboard_definition",
        AwsAccountId=account_id,
        DashboardId=dashboard_id,
        AliasName="$PUBLISHED",
    )


def wait_for_data_source(
    client: Any, account_id: str, data_source_id: str, sleep: Callable[[float], None] = time.sleep
) -> None:
    """Wait until a created or updated data source is usable: datasets cannot be built on one in progress."""

    def status() -> tuple[str, str]:
        found = data_source(client, account_id, data_source_id) or {}
        return found.get("Status", ""), (found.get("ErrorInfo") or {}).get("Message", "")

    _wait(status, f"data source {data_source_id}", sleep)


def wait_for_version(
    client: Any, account_id: str, dashboard_id: str, version: int, sleep: Callable[[float], None] = time.sleep
) -> None:
    """Wait until a new dashboard version is built; QuickSight checks column references only at this stage."""

    def status() -> tuple[str, str]:
        params = {"AwsAccountId": account_id, "DashboardId": dashboard_id, "VersionNumber": version}
        built = call(client, "describe_dashboard", **params)["Dashboard"]["Version"]
        errors = "; ".join(
            f"{error.get('Type')}: {error.get('Message')}"
            + "".join(f" at {entity.get('Path')}" for entity in error.get("ViolatedEntities") or [])
            for error in built.get("Errors") or []
        )
        return built.get("Status", ""), errors

    _wait(status, f"dashboard {dashboard_id} version {version}", sleep)


def _wait(
    status: Callable[[], tuple[str, str]],
    what: str,
    sleep: Callable[[float], None],
    timeout: float = 600.0,
    interval: float = 5.0,
) -> None:
    waited = 0.0
    state, errors = status()
    while state not in _TERMINAL:
        if waited >= timeout:
            raise QuickSightError(f"{what} is still {state or 'unknown'} after {timeout:.0f}s")
        sleep(interval)
        waited += interval
        state, errors = status()
    if state.endswith("_FAILED"):
        raise QuickSightError(f"{what} {state}: {errors or 'no details'}")


def account_id(sts_client: Any) -> str:
    """The caller's account, so nobody has to type it."""
    try:
        return str(sts_client.get_caller_identity()["Account"])
    except NoCredentialsError as exc:
        raise QuickSightError("no AWS credentials found; set AWS_PROFILE or pass --profile") from exc
    except (ClientError, BotoCoreError) as exc:
        raise QuickSightError(f"cannot tell the AWS account: {exc}") from exc


def stack_values(cloudformation: Any, stack_name: str) -> dict[str, str]:
    """Parameters and outputs of a deployed stack (outputs win), or {} when there is no such stack."""
    return aws.stack_values(cloudformation, stack_name, error=QuickSightError)
