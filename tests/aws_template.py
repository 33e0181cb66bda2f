"""template.yaml as data for the tests: loaded with cfn-lint's YAML reader, intrinsics resolved on demand."""

from __future__ import annotations

import ast
import copy
import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"
ENTRY_SCRIPT = ROOT / "glue" / "bedrock_cost_etl.py"
NO_VALUE = object()

# Tool processes get fake credentials, a region, and proxies on a closed loopback port: nothing they do can
# reach a real endpoint (checkov, for one, tries to download guidelines unless told not to).
TOOL_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "SAM_CLI_TELEMETRY": "0",
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "NO_PROXY": "127.0.0.1,localhost",
}


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as plain dicts; short-form tags become ``{"Ref": ...}``, ``{"Fn::Sub": ...}`` etc."""
    template, problems = decode(str(path))
    if problems:
        raise ValueError(f"{path} does not parse: {problems[0]}")
    return _plain(template)


@cache
def template() -> dict[str, Any]:
    """The repository's template, parsed once; callers that change it must work on a ``copy.deepcopy``."""
    return load_template()


def fresh_template() -> dict[str, Any]:
    return copy.deepcopy(template())


def resources(tpl: Mapping[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in tpl["Resources"].items() if res["Type"] == kind}


def script_constant(name: str, path: Path = ENTRY_SCRIPT) -> Any:
    """A literal module-level constant of the entry script, read without importing awsglue."""
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        targets = [node.target] if isinstance(node, ast.AnnAssign) else getattr(node, "targets", [])
        if any(isinstance(target, ast.Name) and target.id == name for target in targets):
            return ast.literal_eval(node.value)
    raise KeyError(f"{path.name} defines no constant {name}")


def default_refs(tpl: Mapping[str, Any], **overrides: Any) -> dict[str, Any]:
    """Values for ``Ref``: every parameter's default, the pseudo parameters of a test stack, then ``overrides``."""
    pseudo = {
        "AWS::Region": "us-east-1",
        "AWS::AccountId": "123456789012",
        "AWS::Partition": "aws",
        "AWS::StackName": "bcr",
    }
    defaults = {name: parameter.get("Default") for name, parameter in tpl["Parameters"].items()}
    return {**pseudo, **defaults, **overrides}


def resolve(value: Any, refs: Mapping[str, Any], conditions: Mapping[str, bool] | None = None) -> Any:
    """Evaluate Ref, Fn::Sub, Fn::GetAtt, Fn::If and Fn::Join with ``refs`` ("Res" and "Res.Attr" keys)."""
    conditions = conditions or {}
    if isinstance(value, list):
        items = [resolve(item, refs, conditions) for item in value]
        return [item for item in items if item is not NO_VALUE]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref":
            return NO_VALUE if arg == "AWS::NoValue" else refs[arg]
        if key == "Fn::GetAtt":
            return refs[".".join(arg) if isinstance(arg, list) else arg]
        if key == "Fn::Sub":
            text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], resolve(arg[1], refs, conditions))
            return re.sub(r"\$\{([^}!]+)\}", lambda m: str({**refs, **extra}[m.group(1)]), text)
        if key == "Fn::If":
            name, then, otherwise = arg
            return resolve(then if conditions[name] else otherwise, refs, conditions)
        if key == "Fn::Join":
            return arg[0].join(str(part) for part in resolve(arg[1], refs, conditions))
    resolved = {k: resolve(v, refs, conditions) for k, v in value.items()}
    return {k: v for k, v in resolved.items() if v is not NO_VALUE}


def tool(environment: str, command: str) -> Path:
    """A command from the pinned tool environments that `scripts/dev` installs into .tools/."""
    path = ROOT / ".tools" / environment / "bin" / command
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `scripts/dev tools` (scripts/dev test does it)")
    return path


def run_tool(
    args: Sequence[str | Path], cwd: Path = ROOT, timeout: int = 600, endpoint: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a tool offline; ``endpoint`` (a loopback moto server) is where its AWS calls go, if any."""
    env = {**os.environ, **TOOL_ENV}
    for name in [k for k in env if k.startswith("AWS_ENDPOINT_URL") or k in ("AWS_PROFILE", "AWS_SESSION_TOKEN")]:
        env.pop(name)
    if endpoint:
        assert endpoint.startswith("http://127.0.0.1:"), "tools only ever talk to loopback"
        env["AWS_ENDPOINT_URL"] = endpoint
    return subprocess.run(
        [str(arg) for arg in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _plain(node: Any) -> Any:
    """cfn-lint's node types (dict_node, str_node, ...) as plain Python values."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, str):
        return str(node)
    return node
