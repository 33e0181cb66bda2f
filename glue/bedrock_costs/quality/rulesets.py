"""The data-quality rulesets, read from their one source: the ``AWS::Glue::DataQualityRuleset`` resources of
``template.yaml``.

The template writes each ruleset as an ``!Sub`` string whose thresholds are template parameters, so
reading it means resolving ``${Parameter}`` with the parameters' defaults, or with overrides the user
passes to try another threshold (checked against the parameter's type and bounds like CloudFormation
would). What Glue deploys and what ``bcr quality`` evaluates are then the same text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DEFAULT_TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"
RESOURCE_TYPE = "AWS::Glue::DataQualityRuleset"
LOCAL_STACK_NAME = "bedrock-costs"


class TemplateError(ValueError):
    """The template, a ruleset in it or a parameter override is unusable; the message says which."""


@dataclass(frozen=True)
class RulesetDefinition:
    """One ruleset as deployed: ``name`` is its table (how ``bcr quality --ruleset`` picks it)."""

    logical_id: str
    name: str
    table: str
    dqdl: str
    aws_name: str


@cache
def _cfn_loader() -> type:
    """YAML with CloudFormation's short tags (``!Sub``, ``!Ref``, ``!GetAtt`` …) read as their long form.

    PyYAML is imported here, not at module level: the Glue job reads the deployed rulesets through this
    module and does not install it (tests/contract/test_glue_boundary.py).
    """
    import yaml

    def construct_tag(loader: yaml.Loader, suffix: str, node: yaml.Node) -> dict[str, Any]:
        name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if suffix == "GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    # libyaml's parser when PyYAML has it (its wheels do): a tenth of the pure-Python one's 0.15 s per run.
    class CfnLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
        pass

    CfnLoader.add_multi_constructor("!", construct_tag)
    return CfnLoader


def load_template(path: Path = DEFAULT_TEMPLATE) -> dict[str, Any]:
    import yaml

    try:
        document = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_cfn_loader())
    except FileNotFoundError:
        raise TemplateError(f"{path}: no such file") from None
    except yaml.YAMLError as exc:
        raise TemplateError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise TemplateError(f"{path}: not a CloudFormation template")
    return document


def _parameter_values(template: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, str]:
    declared: Mapping[str, Mapping[str, Any]] = template.get("Parameters") or {}
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise TemplateError(f"unknown parameter {unknown[0]!r} (the template has: {', '.join(sorted(declared))})")
    values = {}
    for name, spec in declared.items():
        if name in overrides:
            values[name] = _checked(name, spec, overrides[name])
        elif "Default" in spec:
            values[name] = _text(spec["Default"])
    return values


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _checked(name: str, spec: Mapping[str, Any], value: str) -> str:
    if spec.get("Type") != "Number":
        pattern = spec.get("AllowedPattern")
        if pattern and not re.fullmatch(pattern, value):
            raise TemplateError(f"{name}={value!r} does not match {pattern}")
        return value
    try:
        number = float(value)
    except ValueError:
        raise TemplateError(f"{name} must be a number, not {value!r}") from None
    if "MinValue" in spec and number < float(spec["MinValue"]):
        raise TemplateError(f"{name} must be at least {_text(spec['MinValue'])}, not {value}")
    if "MaxValue" in spec and number > float(spec["MaxValue"]):
        raise TemplateError(f"{name} must be at most {_text(spec['MaxValue'])}, not {value}")
    return value


_PLACEHOLDER = re.compile(r"\$\{(!?)([^}]*)\}")


def resolve(value: Any, parameters: Mapping[str, str], where: str) -> str:
    """A plain string, ``!Sub`` or ``!Ref`` to a parameter, as CloudFormation would render it."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return _lookup(value["Ref"], parameters, where)
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        body = value["Fn::Sub"]
        local: Mapping[str, Any] = {}
        if isinstance(body, list):
            body, local = body[0], body[1]
        names = {**parameters, **{k: resolve(v, parameters, where) for k, v in local.items()}}

        def substitute(match: re.Match[str]) -> str:
            if match[1]:  # ${!Literal} stays as ${Literal}
                return "${" + match[2] + "}"
            return _lookup(match[2], names, where)

        return _PLACEHOLDER.sub(substitute, body)
    raise TemplateError(f"{where}: cannot resolve {value!r} locally (only strings, !Sub and !Ref to parameters)")


def _lookup(name: str, values: Mapping[str, str], where: str) -> str:
    if name == "AWS::StackName":
        return LOCAL_STACK_NAME
    if name not in values:
        raise TemplateError(f"{where}: ${{{name}}} is not a parameter with a value")
    return values[name]


def load_rulesets(path: Path = DEFAULT_TEMPLATE, overrides: Mapping[str, str] | None = None) -> list[RulesetDefinition]:
    """Every ``AWS::Glue::DataQualityRuleset`` of the template, thresholds resolved, in template order."""
    template = load_template(path)
    parameters = _parameter_values(template, overrides or {})
    definitions = []
    for logical_id, resource in (template.get("Resources") or {}).items():
        if not isinstance(resource, dict) or resource.get("Type") != RESOURCE_TYPE:
            continue
        properties = resource.get("Properties") or {}
        where = f"{path}: {logical_id}"
        table = resolve((properties.get("TargetTable") or {}).get("TableName", ""), parameters, where)
        if not table:
            raise TemplateError(f"{where}: TargetTable.TableName is missing")
        definitions.append(
            RulesetDefinition(
                logical_id=logical_id,
                name=table,
                table=table,
                dqdl=resolve(properties.get("Ruleset", ""), parameters, where),
                aws_name=resolve(properties.get("Name", logical_id), parameters, where),
            )
        )
    return definitions


def fetch_rulesets(glue: Any, names: Sequence[str]) -> list[RulesetDefinition]:
    """The deployed rulesets, read by name from Glue Data Quality: what CloudFormation created from the
    template, so the Glue job evaluates the template's text and nothing it could drift from.
    """
    from botocore.exceptions import ClientError

    definitions = []
    for name in names:
        try:
            ruleset = glue.get_data_quality_ruleset(Name=name)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise RuntimeError(
                f"cannot read the deployed ruleset {name} ({error.get('Code')}: {error.get('Message')}); the job's "
                "role (a Glue session runs as it too) needs glue:GetDataQualityRuleset on it"
            ) from exc
        table = (ruleset.get("TargetTable") or {}).get("TableName")
        if not table:
            raise TemplateError(f"data-quality ruleset {name} has no target table")
        definitions.append(RulesetDefinition(name, table, table, ruleset["Ruleset"], name))
    return definitions
