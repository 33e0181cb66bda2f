"""``bcr dashboard export``: what is deployed, brought back into the committed form.

Start from the dashboard, follow its dataset declarations to the datasets and their physical tables to the
data source, keep only what a create request accepts (response-only fields such as ARNs, timestamps,
status and output columns go), and turn the account's values back into placeholders.
"""

from __future__ import annotations

import re
from typing import Any

from bcr.quicksight import api
from bcr.quicksight.documents import Definitions
from bcr.quicksight.placeholders import Environment, resolve, to_placeholders
from bcr.quicksight.requests import document_members

_FILE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


class ExportError(RuntimeError):
    """A deployed dashboard that cannot be written as definitions, in one line."""


def committed_form(kind: str, described: dict[str, Any], environment: Environment) -> dict[str, Any]:
    """A describe response body as a committed document: create-request members only, placeholders in."""
    members = document_members(kind)
    return to_placeholders({key: value for key, value in described.items() if key in members}, environment)


def live_definitions(
    client: Any, environment: Environment, committed: Definitions, source_dashboard_id: str | None = None
) -> Definitions | None:
    """The deployed dashboard, its datasets and data source, or None when the dashboard does not exist.

    ``source_dashboard_id`` exports another dashboard (e.g. a customised copy) into the committed dashboard's
    id and name, so the change can be reviewed and deployed over the original.
    """
    values = environment.values()
    own_id = resolve(committed.dashboard.get("DashboardId"), values)
    described = api.dashboard_definition(client, environment.account_id, source_dashboard_id or own_id)
    if described is None:
        return None
    dashboard = committed_form("dashboard", described, environment)
    if source_dashboard_id and source_dashboard_id != own_id:
        dashboard["DashboardId"], dashboard["Name"] = committed.dashboard["DashboardId"], committed.dashboard["Name"]
    datasets: dict[str, dict[str, Any]] = {}
    source_ids: set[str] = set()
    for declaration in dashboard.get("Definition", {}).get("DataSetIdentifierDeclarations", []):
        identifier = declaration["Identifier"]
        if not _FILE_NAME.match(identifier):
            raise ExportError(f"dataset identifier {identifier!r} cannot name a file; use letters, digits, _ and -")
        dataset_id = _resource_id(resolve(declaration["DataSetArn"], values), "dataset")
        found = api.dataset(client, environment.account_id, dataset_id)
        if found is None:
            raise ExportError(f"dataset {dataset_id} ({identifier}) of the dashboard does not exist")
        datasets[identifier] = committed_form("dataset", found, environment)
        source_ids |= {
            _resource_id(table["RelationalTable"]["DataSourceArn"], "datasource")
            for table in found.get("PhysicalTableMap", {}).values()
            if "RelationalTable" in table
        }
    if len(source_ids) != 1:
        raise ExportError(
            f"the datasets read {len(source_ids)} data sources ({', '.join(sorted(source_ids))}); expected one"
        )
    described_source = api.data_source(client, environment.account_id, source_ids.pop())
    if described_source is None:
        raise ExportError("the datasets' data source does not exist")
    return Definitions(committed_form("data_source", described_source, environment), datasets, dashboard)


def _resource_id(arn: str, kind: str) -> str:
    prefix = f":{kind}/"
    if prefix not in arn:
        raise ExportError(f"{arn!r} is not a QuickSight {kind} ARN")
    return arn.split(prefix, 1)[1]
