"""The notebook's generated cells: the Glue session magics and the job's inputs, from one ``SessionConfig``.

A config comes from the deployed stack (``stack.py``: the job as Glue has it, the stack's outputs) or from
``template.yaml`` itself (``from_template``: what a deployment of it would have, deployment-specific values
as ``<placeholders>``). Both go through ``session_config``, so the two cannot describe the job differently;
the committed notebook carries the template's version and a contract test holds it to the template.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bedrock_costs.quality.rulesets import (
    DEFAULT_TEMPLATE,
    LOCAL_STACK_NAME,
    TemplateError,
    load_rulesets,
    load_template,
    resolve,
)
from bedrock_costs.spark import PIPELINE_CONF, SESSION_START_CONF

JOB_RESOURCE = "CostEtlJob"
# A session bills by the minute while it is open: stop it after half an hour without a statement (Glue's
# default is 48 hours).
IDLE_TIMEOUT_MINUTES = 30
# Where Workbench.run writes in a session: the job role may write the data bucket's glue/ prefix (its temp
# dir), which expires after 14 days; the real tables are never touched from a notebook.
SCRATCH_TABLES = "s3://{bucket}/glue/notebook/tables/"
# The job arguments the notebook needs (the entry script's ARGUMENTS of the same names).
JOB_INPUTS = ("logs_uri", "pricing_uri", "tag_aliases", "tables_uri")
# The notebook's data-quality step runs the project's DQDL evaluator, which the job itself never imports (Glue
# evaluates the rulesets there): its parser and the YAML reader, at the versions this project locks.
EVALUATOR_MODULES = ("lark", "pyyaml")
MAGICS_TAG = "bcr-session-magics"
JOB_TAG = "bcr-session-job"
DEFAULT_NOTEBOOK = Path(__file__).resolve().parents[3] / "glue" / "notebooks" / "develop_cost_etl.ipynb"


class ConfigError(ValueError):
    """The job, stack or notebook lacks something the session settings need; the message says what."""


@dataclass(frozen=True)
class SessionConfig:
    """The session a notebook opens: the deployed job's runtime, capacity, role, code and Spark settings."""

    source: str
    region: str | None
    glue_version: str
    worker_type: str
    number_of_workers: int
    iam_role: str
    security_config: str | None
    extra_py_files: str
    additional_python_modules: str
    spark_conf: dict[str, str]
    job: dict[str, str]
    idle_timeout: int = IDLE_TIMEOUT_MINUTES


def parse_spark_conf(value: str) -> dict[str, str]:
    """Glue's ``--conf`` argument (``k=v --conf k2=v2``) as a dict."""
    pairs = [part.strip() for part in re.split(r"\s*--conf\s+", value.strip()) if part.strip()]
    conf = {}
    for pair in pairs:
        key, sep, item = pair.partition("=")
        if not sep:
            raise ConfigError(f"--conf {pair!r} is not key=value")
        conf[key.strip()] = item.strip()
    return conf


def spark_conf_argument(conf: Mapping[str, str]) -> str:
    return " --conf ".join(f"{key}={value}" for key, value in conf.items())


def python_modules(argument: str) -> str:
    """The job's ``--additional-python-modules`` plus the evaluator's modules it does not list already."""
    listed = [module.strip() for module in argument.split(",") if module.strip()]
    names = {re.split(r"[=<>~!\[ ]", module, maxsplit=1)[0].lower() for module in listed}
    listed += [f"{name}=={version(name)}" for name in EVALUATOR_MODULES if name not in names]
    return ",".join(listed)


def session_config(
    job: Mapping[str, Any], outputs: Mapping[str, str], stack: str, region: str | None, source: str
) -> SessionConfig:
    """The session for a Glue job (``GetJob``'s ``Job``, or the template's job properties) and its stack outputs."""
    arguments = job.get("DefaultArguments") or {}
    missing = [
        f"the job argument --{name}" for name in ("extra-py-files", *JOB_INPUTS[:2]) if not arguments.get(f"--{name}")
    ]
    for key in ("GlueVersion", "WorkerType", "NumberOfWorkers"):
        if not job.get(key):
            missing.append(f"the job's {key}")
    if "DataBucketName" not in outputs:
        missing.append("the stack output DataBucketName")
    # GetJob answers the role as the job was given it: an ARN (the template's !GetAtt), or a bare role name.
    role = str(job.get("Role", ""))
    if not role.startswith(("arn:", "<")):
        role = outputs.get("JobRoleArn", "")
    if not role:
        missing.append("the job's Role")
    if missing:
        raise ConfigError(f"{source}: missing {', '.join(missing)}")
    # A session runs the pipeline again and again in one JVM: SESSION_START_CONF, unless the job's --conf says
    # otherwise. The entry script applies PIPELINE_CONF over whatever the job's --conf sets; so does the session.
    conf = {**SESSION_START_CONF, **parse_spark_conf(arguments.get("--conf", "")), **PIPELINE_CONF}
    inputs = {name: str(arguments.get(f"--{name}", "")) for name in JOB_INPUTS}
    rulesets = ",".join(name.replace(LOCAL_STACK_NAME, stack, 1) for name in _ruleset_names())
    return SessionConfig(
        source=source,
        region=region,
        glue_version=str(job["GlueVersion"]),
        worker_type=str(job["WorkerType"]),
        number_of_workers=int(job["NumberOfWorkers"]),
        iam_role=role,
        security_config=job.get("SecurityConfiguration") or None,
        extra_py_files=str(arguments["--extra-py-files"]),
        additional_python_modules=python_modules(str(arguments.get("--additional-python-modules", ""))),
        spark_conf=conf,
        job={
            "stack": stack,
            **inputs,
            "scratch_tables_uri": SCRATCH_TABLES.format(bucket=outputs["DataBucketName"]),
            "rulesets": rulesets,
        },
    )


def _ruleset_names() -> list[str]:
    """The deployed rulesets' names (``${AWS::StackName}-<table>``), rendered for the local stack name."""
    return [definition.aws_name for definition in load_rulesets(DEFAULT_TEMPLATE)]


def from_template(path: Path = DEFAULT_TEMPLATE) -> SessionConfig:
    """The session a deployment of ``path`` with default parameters gives; account-specific values are
    ``<placeholders>`` naming their source (``<JobRole.Arn>``, ``<DataBucket>``).
    """
    template = load_template(path)
    parameters: dict[str, Any] = template.get("Parameters") or {}
    resources: dict[str, Any] = template.get("Resources") or {}
    names = {name: f"<{name}>" for name in resources}
    names |= {name: str(spec.get("Default", f"<{name}>")) for name, spec in parameters.items()}
    names |= {f"AWS::{p}": f"<AWS::{p}>" for p in ("Region", "AccountId", "Partition", "URLSuffix")}
    job = resources.get(JOB_RESOURCE, {}).get("Properties")
    if not job:
        raise ConfigError(f"{path}: no {JOB_RESOURCE} with Properties")

    def value(item: Any, where: str) -> Any:
        if isinstance(item, dict) and set(item) == {"Fn::GetAtt"}:
            return "<" + ".".join(item["Fn::GetAtt"]) + ">"
        if isinstance(item, dict):
            try:
                return resolve(item, names, where)
            except TemplateError as exc:
                raise ConfigError(str(exc)) from exc
        return item

    properties = {
        key: value(job[key], f"{path}: {JOB_RESOURCE}.{key}")
        for key in ("GlueVersion", "WorkerType", "NumberOfWorkers", "Role", "SecurityConfiguration")
        if key in job
    }
    properties["DefaultArguments"] = {
        key: str(value(item, f"{path}: {JOB_RESOURCE}.DefaultArguments.{key}"))
        for key, item in (job.get("DefaultArguments") or {}).items()
    }
    outputs = {
        key: str(value(spec.get("Value"), f"{path}: Outputs.{key}"))
        for key, spec in (template.get("Outputs") or {}).items()
        if isinstance(spec, dict) and "Condition" not in spec
    }
    source = f"{path.name} defaults (fill in a deployment's values: bcr sessions config --stack NAME)"
    return session_config(properties, outputs, LOCAL_STACK_NAME, None, source)


def magics_cell(config: SessionConfig) -> str:
    """The first cell: line magics only, so running it configures the session without starting one."""
    lines = [
        f"# Glue session of {config.source}.",
        "# Generated by `bcr sessions config`; a local PySpark kernel ignores these magics.",
    ]
    if config.region:
        lines.append(f"%region {config.region}")
    lines += [
        f"%glue_version {config.glue_version}",
        f"%worker_type {config.worker_type}",
        f"%number_of_workers {config.number_of_workers}",
        f"%idle_timeout {config.idle_timeout}",
        f"%iam_role {config.iam_role}",
    ]
    if config.security_config:
        lines.append(f"%security_config {config.security_config}")
    lines += [
        f"%extra_py_files {config.extra_py_files}",
        f"%additional_python_modules {config.additional_python_modules}",
        f"%spark_conf {spark_conf_argument(config.spark_conf)}",
    ]
    return "\n".join(lines)


def job_cell(config: SessionConfig) -> str:
    """The second cell: the job's inputs, and the scratch prefix ``Workbench.run`` writes to."""
    body = "".join(f"    {json.dumps(key)}: {json.dumps(value)},\n" for key, value in config.job.items())
    return (
        "# The deployed job's inputs (its DefaultArguments) and a scratch prefix for run(); generated by\n"
        "# `bcr sessions config`. A local kernel reads generated or downloaded logs instead.\n"
        f"JOB = {{\n{body}}}"
    )


def parse_magics(source: str) -> dict[str, str]:
    """``{magic: argument}`` of a magics cell (comments skipped), e.g. ``{"glue_version": "5.1"}``."""
    magics = {}
    for line in source.splitlines():
        if line.startswith("%"):
            name, _, argument = line[1:].partition(" ")
            magics[name] = argument.strip()
    return magics


def write_cells(notebook: Path, config: SessionConfig) -> None:
    """Replace the two generated cells of ``notebook`` (found by their tags), leaving every other cell."""
    try:
        document = json.loads(notebook.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{notebook}: not a readable notebook ({exc})") from exc
    replaced = set()
    for cell in document.get("cells", []):
        tags = set(cell.get("metadata", {}).get("tags", []))
        for tag, text in ((MAGICS_TAG, magics_cell(config)), (JOB_TAG, job_cell(config))):
            if tag in tags:
                cell["source"] = text.splitlines(keepends=True)
                replaced.add(tag)
    missing = {MAGICS_TAG, JOB_TAG} - replaced
    if missing:
        raise ConfigError(f"{notebook}: no cell tagged {', '.join(sorted(missing))} (copy {DEFAULT_NOTEBOOK.name})")
    notebook.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
