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
    """Create or update every resource and publish the new dashboard version; returns what was done.

    Every resource is looked up before the first change, so a deploy that cannot create what is missing
    (no principal to own it) stops before it has changed anything.
    """
    account = environment.account_id
    plan = [
        (kind, document, _exists(client, kind, account, document[_ID[kind]]))
        for kind, document in _resolved(definitions, environment)
    ]
    missing = [document[_ID[kind]] for kind, document, exists in plan if not exists]
    if missing and not principal_arn:
        raise DeployError(
            f"{', '.join(missing)} do not exist yet: give --principal-arn (a QuickSight user or group) to own them"
        )
    done: list[str] = []
    for kind, document, exists in plan:
        extra: dict[str, Any] = {"AwsAccountId": account}
        if kind == "dashboard" and version_description:
            extra["VersionDescription"] = version_description
        if not exists:
            extra["Permissions"] = owner_permissions(kind, str(principal_arn))
        operation = UPDATE[kind] if exists else CREATE[kind]
        response = api.call(client, xform_name(operation), **build_request(operation, document, **extra))
        resource_id = document[_ID[kind]]
        what = f"{'updated' if exists else 'created'} {kind.replace('_', ' ')} {resource_id}"
        if kind == "data_source":
            api.wait_for_data_source(client, account, resource_id, sleep=sleep)
        if kind == "dashboard":
            version = int(str(response["VersionArn"]).rsplit("/", 1)[1])
            api.wait_for_version(client, account, resource_id, version, sleep=sleep)
            params = {"AwsAccountId": account, "DashboardId": resource_id, "VersionNumber": version}
            api.call(client, "update_dashboard_published_version", **params)
            what += f" and published version {version}"
        done.append(what)
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


def _resolved(definitions: Definitions, environment: Environment) -> list[tuple[str, dict[str, Any]]]:
    """Documents in deploy order (data source, datasets, dashboard), placeholders resolved."""
    values = environment.values()
    return [(kind_of(path), resolve(document, values)) for path, document in definitions.files().items()]


def _exists(client: Any, kind: str, account: str, resource_id: str) -> bool:
    if kind == "dashboard":
        return api.describe(client, "describe_dashboard", AwsAccountId=account, DashboardId=resource_id) is not None
    return _DESCRIBE[kind](client, account, resource_id) is not None
