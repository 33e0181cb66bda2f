"""``bcr dashboard deploy``: the committed definitions into one account, updated in place, then published.

Order matters: data source, then datasets, then the dashboard (each create needs the previous one). An
existing resource is updated with the same id, never deleted and created again, so analyses and dashboards
that users built on these datasets keep working; its permissions are left alone, so sharing done in the
console survives. A dashboard update creates a version that QuickSight does not publish by itself: deploy
waits until the version is built (that is when QuickSight checks column references) and publishes it.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Callable
from typing import Any

from botocore import xform_name

from bcr.quicksight import api
from bcr.quicksight.documents import Definitions, dumps, kind_of
from bcr.quicksight.export import live_definitions
from bcr.quicksight.permissions import owner_permissions
from bcr.quicksight.placeholders import Environment, resolve
from bcr.quicksight.requests import CREATE, UPDATE, build_request

_DESCRIBE = {"data_source": api.data_source, "dataset": api.dataset}
_ID = {"data_source": "DataSourceId", "dataset": "DataSetId", "dashboard": "DashboardId"}


class DeployError(RuntimeError):
    """A deploy that cannot go ahead, in one line (e.g. a create without a principal to own it)."""


def deploy(
    client: Any,
    definitions: Definitions,
    environment: Environment,
    principal_arn: str | None,
    version_description: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[str]:
    """Create or update every resource and publish the new dashboard version; returns what was done."""
    values = environment.values()
    account = environment.account_id
    done: list[str] = []
    resources = [("data_source", definitions.data_source)]
    resources += [("dataset", document) for _, document in sorted(definitions.datasets.items())]
    for kind, document in resources:
        request = resolve(document, values)
        resource_id = request[_ID[kind]]
        if _DESCRIBE[kind](client, account, resource_id) is None:
            create = build_request(
                CREATE[kind], request, AwsAccountId=account, Permissions=_owner(kind, principal_arn, resource_id)
            )
            api.call(client, xform_name(CREATE[kind]), **create)
            done.append(f"created {kind.replace('_', ' ')} {resource_id}")
        else:
            api.call(client, xform_name(UPDATE[kind]), **build_request(UPDATE[kind], request, AwsAccountId=account))
            done.append(f"updated {kind.replace('_', ' ')} {resource_id}")
        if kind == "data_source":
            api.wait_for_data_source(client, account, resource_id, sleep=sleep)
    dashboard = resolve(definitions.dashboard, values)
    dashboard_id = dashboard["DashboardId"]
    extra: dict[str, Any] = {"AwsAccountId": account}
    if version_description:
        extra["VersionDescription"] = version_description
    exists = api.describe(client, "describe_dashboard", AwsAccountId=account, DashboardId=dashboard_id) is not None
    if exists:
        response = api.call(client, "update_dashboard", **build_request(UPDATE["dashboard"], dashboard, **extra))
    else:
        extra["Permissions"] = _owner("dashboard", principal_arn, dashboard_id)
        response = api.call(client, "create_dashboard", **build_request(CREATE["dashboard"], dashboard, **extra))
    version = int(str(response["VersionArn"]).rsplit("/", 1)[1])
    api.wait_for_version(client, account, dashboard_id, version, sleep=sleep)
    api.call(
        client,
        "update_dashboard_published_version",
        AwsAccountId=account,
        DashboardId=dashboard_id,
        VersionNumber=version,
    )
    done.append(f"{'updated' if exists else 'created'} dashboard {dashboard_id} and published version {version}")
    return done


def dry_run(client: Any, definitions: Definitions, environment: Environment) -> str:
    """A unified diff from what is deployed to what deploy would send, in committed form; empty if none."""
    live = live_definitions(client, environment, definitions)
    deployed = live.files() if live else {}
    lines: list[str] = []
    for path, document in definitions.files().items():
        if path not in deployed:
            lines.append(f"would create {path} ({resolve(document[_ID[kind_of(path)]], environment.values())})\n")
            continue
        lines += difflib.unified_diff(
            dumps(deployed[path]).splitlines(keepends=True),
            dumps(document).splitlines(keepends=True),
            fromfile=f"deployed/{path}",
            tofile=f"git/{path}",
        )
    return "".join(lines)


def _owner(kind: str, principal_arn: str | None, resource_id: str) -> list[dict[str, object]]:
    if not principal_arn:
        raise DeployError(
            f"{resource_id} does not exist yet: give --principal-arn (a QuickSight user or group) to own it"
        )
    return owner_permissions(kind, principal_arn)
