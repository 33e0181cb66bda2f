"""samconfig.toml: a default and a prod environment, no account ids, and overrides the template accepts."""

from __future__ import annotations

import re
import shlex
import tomllib

from aws_template import ROOT, fresh_template

SAMCONFIG = ROOT / "samconfig.toml"


def override_problems(overrides: str, parameters: dict) -> list[str]:
    """Parameter overrides that name no template parameter or break its constraints."""
    problems = []
    for pair in shlex.split(overrides):
        name, _, value = pair.partition("=")
        spec = parameters.get(name)
        if spec is None:
            problems.append(f"{name}: not a template parameter")
            continue
        if "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
            problems.append(f"{name}={value}: not one of {spec['AllowedValues']}")
        if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
            problems.append(f"{name}={value}: does not match {spec['AllowedPattern']}")
        if spec["Type"] == "Number" and not spec.get("MinValue", float("-inf")) <= float(value) <= spec.get(
            "MaxValue", float("inf")
        ):
            problems.append(f"{name}={value}: outside {spec.get('MinValue')}..{spec.get('MaxValue')}")
    return problems


def test_environments_deploy_distinct_stacks_with_iam_capability() -> None:
    config = tomllib.loads(SAMCONFIG.read_text(encoding="utf-8"))
    assert {"default", "prod"} <= set(config)
    names = {env: config[env]["global"]["parameters"]["stack_name"] for env in ("default", "prod")}
    assert len(set(names.values())) == 2
    for env in ("default", "prod"):
        deploy = config[env]["deploy"]["parameters"]
        assert deploy["capabilities"] == "CAPABILITY_IAM" and deploy["confirm_changeset"] is True
        assert deploy["resolve_s3"] is True


def test_no_account_ids_and_valid_overrides() -> None:
    text = SAMCONFIG.read_text(encoding="utf-8")
    assert re.findall(r"\b\d{12}\b", text) == []
    config = tomllib.loads(text)
    parameters = fresh_template()["Parameters"]
    for env, sections in config.items():
        if isinstance(sections, dict):
            overrides = sections.get("deploy", {}).get("parameters", {}).get("parameter_overrides", "")
            assert override_problems(overrides, parameters) == [], env


def test_bad_overrides_are_reported() -> None:
    parameters = fresh_template()["Parameters"]
    problems = override_problems('MaxWorker="6" ExecutionClass="SPOT" MaxWorkers="99" LogsPrefix="/x"', parameters)
    assert [p.split(":")[0] for p in problems] == ["MaxWorker", "ExecutionClass=SPOT", "MaxWorkers=99", "LogsPrefix=/x"]
