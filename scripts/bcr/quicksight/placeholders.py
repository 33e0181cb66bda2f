"""Account, region and stack-specific values in the definitions, written as CloudFormation placeholders.

The placeholders are CloudFormation's own syntax, so the template includes the files unchanged and
CloudFormation fills them in, while ``bcr dashboard deploy`` resolves the same names itself::

    {"Fn::Sub": "arn:${AWS::Partition}:quicksight:${AWS::Region}:${AWS::AccountId}:dataset/${AWS::StackName}-x"}
    {"Ref": "DatabaseName"}

``to_placeholders`` is the inverse used by ``bcr dashboard export``: values of the exporting account become
placeholders again, so a definition exported from any account diffs cleanly against git.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

ACCOUNT, REGION, PARTITION, STACK = "AWS::AccountId", "AWS::Region", "AWS::Partition", "AWS::StackName"
DATABASE, WORKGROUP = "DatabaseName", "AthenaWorkGroup"
# Top-level document keys whose value starts with the stack name (ids and display names).
_STACK_PREFIXED = ("DashboardId", "DataSetId", "DataSourceId", "Name")
_VARIABLE = re.compile(r"\$\{(!?)([^}]*)\}")
_ACCOUNT_ID = re.compile(r"(?<!\d)\d{12}(?!\d)")
_REGION_NAME = re.compile(r"\b[a-z]{2}(?:-gov)?-(?:north|south|east|west|central)(?:east|west)?-\d\b")
_LITERAL_ARN = re.compile(r"\barn:aws[a-z-]*:")


class PlaceholderError(ValueError):
    """A placeholder that cannot be resolved, named by its path in the document."""


@dataclass(frozen=True)
class Environment:
    """The values the placeholders stand for in one deployment."""

    account_id: str
    region: str
    partition: str
    stack_name: str
    database: str
    workgroup: str

    def values(self) -> dict[str, str]:
        return {
            ACCOUNT: self.account_id,
            REGION: self.region,
            PARTITION: self.partition,
            STACK: self.stack_name,
            DATABASE: self.database,
            WORKGROUP: self.workgroup,
        }


def resolve(document: Any, values: Mapping[str, str], path: str = "") -> Any:
    """Replace every ``Ref`` and ``Fn::Sub`` (string form) by its value; any other intrinsic is an error."""
    if isinstance(document, list):
        return [resolve(item, values, f"{path}[{index}]") for index, item in enumerate(document)]
    if not isinstance(document, dict):
        return document
    intrinsic = _intrinsic(document)
    if intrinsic == "Ref":
        return _value(document["Ref"], values, path)
    if intrinsic == "Fn::Sub":
        template = document["Fn::Sub"]
        if not isinstance(template, str):
            raise PlaceholderError(f"{path}: only the string form of Fn::Sub is supported")
        return _VARIABLE.sub(lambda match: _substitute(match, values, path), template)
    if intrinsic is not None:
        raise PlaceholderError(f"{path}: {intrinsic} is not a placeholder; use Ref or Fn::Sub")
    return {key: resolve(value, values, f"{path}.{key}".lstrip(".")) for key, value in document.items()}


def to_placeholders(document: dict[str, Any], environment: Environment) -> dict[str, Any]:
    """Turn the exporting account's ids, ARNs, database and workgroup back into placeholders."""
    converted = {key: _abstract(value, key, environment) for key, value in document.items()}
    for key in _STACK_PREFIXED:
        value = converted.get(key)
        if isinstance(value, str) and _starts_with_stack(value, environment.stack_name):
            converted[key] = _sub("${" + STACK + "}" + _escape(value[len(environment.stack_name) :]))
    return converted


def environment_leaks(document: Any, path: str = "") -> Iterator[str]:
    """Paths and values that tie a definition to one account or region: account ids, regions, literal ARNs."""
    if isinstance(document, dict):
        for key, value in document.items():
            yield from environment_leaks(value, f"{path}.{key}".lstrip("."))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from environment_leaks(value, f"{path}[{index}]")
    elif isinstance(document, str):
        for pattern, what in ((_ACCOUNT_ID, "an account id"), (_REGION_NAME, "a region"), (_LITERAL_ARN, "an ARN")):
            if pattern.search(document):
                yield f"{path}: {document!r} holds {what}; use a placeholder (quicksight_definitions/README.md)"


def _abstract(value: Any, key: str, environment: Environment) -> Any:
    if isinstance(value, dict):
        return {child: _abstract(item, child, environment) for child, item in value.items()}
    if isinstance(value, list):
        return [_abstract(item, key, environment) for item in value]
    if not isinstance(value, str):
        return value
    if key == "Schema" and value == environment.database:
        return {"Ref": DATABASE}
    if key == "WorkGroup" and value == environment.workgroup:
        return {"Ref": WORKGROUP}
    if value.startswith("arn:"):
        return _arn_placeholder(value, environment)
    return value


def _arn_placeholder(arn: str, environment: Environment) -> Any:
    parts = arn.split(":", 5)
    if len(parts) != 6:
        return arn
    _, partition, service, region, account, resource = parts
    kind, _, resource_id = resource.partition("/")
    if resource_id and _starts_with_stack(resource_id, environment.stack_name):
        resource = f"{kind}/${{{STACK}}}{_escape(resource_id[len(environment.stack_name) :])}"
    else:
        resource = _escape(resource)
    template = ":".join(
        [
            "arn",
            f"${{{PARTITION}}}" if partition == environment.partition else partition,
            service,
            f"${{{REGION}}}" if region == environment.region else region,
            f"${{{ACCOUNT}}}" if account == environment.account_id else account,
            resource,
        ]
    )
    return _sub(template) if "${" in template.replace("${!", "") else arn


def _starts_with_stack(value: str, stack_name: str) -> bool:
    """``costs-prod-athena`` and ``costs-prod · Athena`` start with stack ``costs-prod``; ``costs-production`` not."""
    rest = value.removeprefix(stack_name)
    return rest != value and not rest[:1].isalnum() and not rest.startswith("_")


def _intrinsic(document: dict[str, Any]) -> str | None:
    if len(document) == 1:
        (key,) = document
        if key == "Ref" or key.startswith("Fn::"):
            return key
    return None


def _value(name: Any, values: Mapping[str, str], path: str) -> str:
    if not isinstance(name, str) or name not in values:
        known = ", ".join(sorted(values))
        raise PlaceholderError(f"{path}: unknown placeholder {name!r} (known: {known})")
    return values[name]


def _substitute(match: re.Match[str], values: Mapping[str, str], path: str) -> str:
    literal, name = match.groups()
    return "${" + name + "}" if literal else _value(name, values, path)


def _escape(text: str) -> str:
    """Keep a literal ``${`` literal inside an Fn::Sub template."""
    return text.replace("${", "${!")


def _sub(template: str) -> dict[str, str]:
    return {"Fn::Sub": template}


# Stand-in values for checks that need resolved documents but no real account (validation, comparisons).
EXAMPLE = Environment(
    account_id="111122223333", region="us-east-1", partition="aws", stack_name="bcr", database="bcr", workgroup="bcr"
)
