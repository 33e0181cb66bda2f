"""The QuickSight section of template.yaml against the definition files it includes: they cannot drift.

The template includes each definition file with ``AWS::Include`` (``sam build``/``sam deploy`` upload it), so
the documents themselves cannot differ. What can drift is what the template says *about* them: which
resource includes which file, the dependencies CloudFormation cannot infer from ARNs in placeholders, the
dataset ids repeated by refresh schedules and the refresh state machine, and the owner permissions. The
template is read with cfn-lint's loader (it understands ``!Ref``/``!Sub``) and linted with the files inlined,
since cfn-lint cannot look inside an included file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bcr.quicksight.documents import DASHBOARD_FILE, DATA_SOURCE_FILE, Definitions, kind_of, load_document
from bcr.quicksight.permissions import ACTIONS
from bcr.quicksight.placeholders import EXAMPLE, PlaceholderError, resolve
from bcr.quicksight.requests import request_problems

DEFAULT_TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"
RESOURCE_TYPES = {
    "data_source": "AWS::QuickSight::DataSource",
    "dataset": "AWS::QuickSight::DataSet",
    "dashboard": "AWS::QuickSight::Dashboard",
}
_INGESTION_TASK = "arn:aws:states:::aws-sdk:quicksight:createIngestion"


def load_template(path: Path) -> dict[str, Any]:
    """The template as plain dicts, short-form intrinsics (``!Sub``) turned into their long form."""
    from cfnlint.decode import decode  # dev dependency: validation only

    template, matches = decode(str(path))
    if template is None:
        raise ValueError(f"{path} cannot be read: {'; '.join(str(match.message) for match in matches or [])}")
    return template


def included_file(properties: Any) -> str | None:
    transform = properties.get("Fn::Transform") if isinstance(properties, dict) else None
    if isinstance(transform, dict) and transform.get("Name") == "AWS::Include":
        return str((transform.get("Parameters") or {}).get("Location"))
    return None


def inline_includes(node: Any, base: Path) -> Any:
    """``node`` with every ``AWS::Include`` replaced by its file, merged with the keys next to it."""
    if isinstance(node, list):
        return [inline_includes(item, base) for item in node]
    if not isinstance(node, dict):
        return node
    merged: dict[str, Any] = {}
    for key, value in node.items():
        location = included_file({key: value})
        if location is not None and (base / location).is_file():  # a missing file is a contract problem
            merged.update(load_document(base / location))
        else:
            merged[key] = inline_includes(value, base)
    return merged


def contract_problems(template: dict[str, Any], base: Path, root: Path, definitions: Definitions) -> list[str]:
    """Every way the QuickSight section disagrees with the definition files (empty when it does not)."""
    resources: dict[str, Any] = template.get("Resources") or {}
    problems: list[str] = []
    owners = _including_resources(resources, base, root, problems)
    by_file: dict[str, str] = {}
    for relative in definitions.files():
        kind = kind_of(relative)
        found = owners.get(relative, [])
        if len(found) != 1:
            problems.append(f"{relative} is included by {len(found)} resources of template.yaml, not exactly one")
            continue
        logical_id = found[0]
        by_file[relative] = logical_id
        resource = resources[logical_id]
        if resource.get("Type") != RESOURCE_TYPES[kind]:
            problems.append(
                f"{logical_id} includes {relative} but is a {resource.get('Type')}, not {RESOURCE_TYPES[kind]}"
            )
        problems += _permission_problems(logical_id, resource, kind)
    source = by_file.get(DATA_SOURCE_FILE)
    datasets = [logical_id for relative, logical_id in by_file.items() if kind_of(relative) == "dataset"]
    for logical_id in datasets:
        problems += _needs(resources, logical_id, [source] if source else [])
    if DASHBOARD_FILE in by_file:
        problems += _needs(resources, by_file[DASHBOARD_FILE], datasets)
        problems += _output_problems(template, definitions)
    spice = {
        _resolved(document.get("DataSetId"))
        for document in definitions.datasets.values()
        if document.get("ImportMode") == "SPICE"
    }
    problems += _refresh_problems(resources, spice)
    return problems


def lint_problems(template: dict[str, Any], base: Path) -> list[str]:
    """cfn-lint on the template with every included file inlined (it checks deep into the Definition)."""
    from cfnlint.api import ManualArgs, lint  # dev dependency: validation only

    text = json.dumps(inline_includes(template, base))
    matches = lint(text, config=ManualArgs(regions=["us-east-1"]))
    where = "template.yaml (included files inlined)"
    return [f"{where} {'/'.join(map(str, match.path or []))}: {match.rule.id} {match.message}" for match in matches]


def _including_resources(
    resources: dict[str, Any], base: Path, root: Path, problems: list[str]
) -> dict[str, list[str]]:
    owners: dict[str, list[str]] = {}
    for logical_id, resource in resources.items():
        location = included_file(resource.get("Properties"))
        if location is None:
            continue
        path = (base / location).resolve()
        if not path.is_file():
            problems.append(f"{logical_id} includes {location}, which does not exist")
        elif path.is_relative_to(root.resolve()):
            owners.setdefault(path.relative_to(root.resolve()).as_posix(), []).append(logical_id)
    return owners


def _needs(resources: dict[str, Any], logical_id: str, required: list[str]) -> list[str]:
    """CloudFormation cannot see through ARNs written as placeholders: the order must be in DependsOn."""
    depends = resources[logical_id].get("DependsOn") or []
    depends = [depends] if isinstance(depends, str) else depends
    return [f"{logical_id} must list {other} in DependsOn" for other in required if other not in depends]


def _permission_problems(logical_id: str, resource: dict[str, Any], kind: str) -> list[str]:
    permissions = (resource.get("Properties") or {}).get("Permissions") or []
    expected = sorted(ACTIONS[kind])
    if len(permissions) != 1 or sorted(permissions[0].get("Actions") or []) != expected:
        return [f"{logical_id} Permissions must grant QuickSightPrincipalArn exactly {', '.join(expected)}"]
    if permissions[0].get("Principal") != {"Ref": "QuickSightPrincipalArn"}:
        return [f"{logical_id} Permissions must name Ref QuickSightPrincipalArn as the principal"]
    return []


def _output_problems(template: dict[str, Any], definitions: Definitions) -> list[str]:
    output = (template.get("Outputs") or {}).get("QuickSightDashboardId")
    dashboard_id = _resolved(definitions.dashboard.get("DashboardId"))
    if output is None or _resolved(output.get("Value")) != dashboard_id:
        return [f"Outputs.QuickSightDashboardId must be the dashboard id of {DASHBOARD_FILE}"]
    return []


def _refresh_problems(resources: dict[str, Any], spice: set[str]) -> list[str]:
    problems: list[str] = []
    scheduled = {
        _resolved((resource.get("Properties") or {}).get("DataSetId"))
        for resource in resources.values()
        if resource.get("Type") == "AWS::QuickSight::RefreshSchedule"
    }
    if scheduled != spice:
        problems.append(f"refresh schedules cover {sorted(scheduled)}, the SPICE datasets are {sorted(spice)}")
    machines = [
        (logical_id, resource.get("Properties") or {})
        for logical_id, resource in resources.items()
        if resource.get("Type") == "AWS::Serverless::StateMachine" and _INGESTION_TASK in json.dumps(resource)
    ]
    if len(machines) != 1:
        return [*problems, f"expected one state machine refreshing SPICE after the cost job, found {len(machines)}"]
    logical_id, properties = machines[0]
    substitutions = {
        name: _resolved(value) for name, value in (properties.get("DefinitionSubstitutions") or {}).items()
    }
    refreshed: set[str] = set()
    for state in _states(properties.get("Definition") or {}):
        if state.get("Type") == "Pass" and isinstance(state.get("Result"), list):
            refreshed |= {resolve({"Fn::Sub": item}, substitutions) for item in state["Result"]}
        if state.get("Resource") == _INGESTION_TASK:
            parameters = {key.removesuffix(".$"): value for key, value in (state.get("Parameters") or {}).items()}
            parameters = resolve({key: {"Fn::Sub": value} for key, value in parameters.items()}, substitutions)
            parameters.update(DataSetId=next(iter(spice), "x"), IngestionId="00000000-0000-0000-0000-000000000000")
            problems += [
                f"{logical_id} CreateIngestion task: {p}" for p in request_problems("CreateIngestion", parameters)
            ]
    if refreshed != spice:
        problems.append(f"{logical_id} refreshes {sorted(refreshed)}, the SPICE datasets are {sorted(spice)}")
    return problems


def _states(definition: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for state in (definition.get("States") or {}).values():
        yield state
        for nested in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(nested), dict):
                yield from _states(state[nested])


def _resolved(value: Any) -> str:
    try:
        resolved = resolve(value, {**EXAMPLE.values(), "AccountId": EXAMPLE.account_id})
    except PlaceholderError:
        return repr(value)
    return resolved if isinstance(resolved, str) else repr(resolved)
