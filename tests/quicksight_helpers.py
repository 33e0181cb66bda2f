"""Shared by the dashboard tests: a scratch copy of the committed definitions (and template) to break, and
what QuickSight would answer for a faithful deploy of them."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bcr.quicksight.documents import DEFAULT_ROOT, Definitions, dumps
from bcr.quicksight.placeholders import Environment, resolve
from bcr.quicksight.template import DEFAULT_TEMPLATE

ENV = Environment(
    account_id="444455556666",
    region="eu-west-1",
    partition="aws",
    stack_name="costs-prod",
    database="costs_prod",
    workgroup="costs-prod-wg",
)
CREATED = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)


def copy_project(tmp_path: Path) -> tuple[Path, Path]:
    """template.yaml and quicksight_definitions/ side by side in ``tmp_path``: (definitions root, template)."""
    root = tmp_path / "quicksight_definitions"
    shutil.copytree(DEFAULT_ROOT, root)
    template = tmp_path / "template.yaml"
    shutil.copy(DEFAULT_TEMPLATE, template)
    return root, template


def edit(path: Path, change: Callable[[dict[str, Any]], Any]) -> None:
    """Apply ``change`` to a definition file in place and write it back canonically."""
    document = json.loads(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(dumps(document), encoding="utf-8")


def arn(kind: str, resource_id: str, environment: Environment = ENV) -> str:
    return f"arn:{environment.partition}:quicksight:{environment.region}:{environment.account_id}:{kind}/{resource_id}"


def described(definitions: Definitions, environment: Environment = ENV) -> dict[str, dict[str, Any]]:
    """Describe responses QuickSight gives after a faithful deploy: the documents resolved, plus the fields
    only responses carry (ARNs, timestamps, status, output columns), which export must drop."""
    values = environment.values()
    source = resolve(definitions.data_source, values)
    responses: dict[str, dict[str, Any]] = {
        "data_source": {
            "DataSource": {
                **source,
                "Arn": arn("datasource", source["DataSourceId"], environment),
                "Status": "CREATION_SUCCESSFUL",
                "CreatedTime": CREATED,
                "LastUpdatedTime": CREATED,
            },
            "Status": 200,
            "RequestId": "request-1",
        }
    }
    for name, document in definitions.datasets.items():
        dataset = resolve(document, values)
        responses[f"dataset:{name}"] = {
            "DataSet": {
                **dataset,
                "Arn": arn("dataset", dataset["DataSetId"], environment),
                "CreatedTime": CREATED,
                "LastUpdatedTime": CREATED,
                "OutputColumns": [{"Name": "usage_date", "Type": "DATETIME"}],
                "ConsumedSpiceCapacityInBytes": 1024,
            },
            "Status": 200,
            "RequestId": "request-2",
        }
    dashboard = resolve(definitions.dashboard, values)
    responses["dashboard"] = {
        **dashboard,
        "ResourceStatus": "CREATION_SUCCESSFUL",
        "Status": 200,
        "RequestId": "request-3",
    }
    return responses
