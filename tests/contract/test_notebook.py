"""The interactive-session notebook agrees with the deployed job: its generated session magics are what
`bcr sessions config --template` renders, they hold template.yaml's job settings, and its code calls only
what the package has. (Running the cells: tests/e2e/test_notebook_run.py; the kernels: test_notebook_kernels.py.)
"""

from __future__ import annotations

import ast
import importlib
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from bcr.sessions.config import (
    JOB_TAG,
    MAGICS_TAG,
    from_template,
    job_cell,
    magics_cell,
    parse_magics,
    parse_spark_conf,
)
from bedrock_costs.quality.rulesets import load_template
from bedrock_costs.spark import PIPELINE_CONF, SESSION_START_CONF

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "glue" / "notebooks" / "develop_cost_etl.ipynb"
TEMPLATE = ROOT / "template.yaml"


def _cells() -> list[dict[str, Any]]:
    return json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]


def _tagged(tag: str) -> str:
    found = [cell for cell in _cells() if tag in cell.get("metadata", {}).get("tags", [])]
    assert len(found) == 1, f"one cell tagged {tag}"
    return "".join(found[0]["source"])


def _code_cells() -> list[str]:
    return ["".join(cell["source"]) for cell in _cells() if cell["cell_type"] == "code"]


def _named(value: Any) -> str:
    """How the template names a deployment-specific value: ``!GetAtt X.Y`` is <X.Y>, ``!Ref X`` is <X>."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return "<" + ".".join(value["Fn::GetAtt"]) + ">"
    if isinstance(value, dict) and "Ref" in value:
        return "<" + value["Ref"] + ">"
    return str(value)


def locked_version(name: str) -> str:
    """The version uv.lock resolves ``name`` to."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    (found,) = [package["version"] for package in lock["package"] if package["name"] == name]
    return found


def test_the_notebook_targets_the_glue_kernel_and_opens_with_its_session_magics() -> None:
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    assert notebook["metadata"]["kernelspec"]["name"] == "glue_pyspark"
    first_code = next(cell for cell in notebook["cells"] if cell["cell_type"] == "code")
    assert MAGICS_TAG in first_code["metadata"]["tags"]
    # Only magics and comments: running the first cell configures the session, it never starts one.
    lines = [line for line in "".join(first_code["source"]).splitlines() if line.strip()]
    assert all(line.startswith(("%", "#")) and not line.startswith("%%") for line in lines), lines


def test_the_committed_cells_are_what_bcr_sessions_config_renders_from_the_template() -> None:
    config = from_template(TEMPLATE)
    assert _tagged(MAGICS_TAG) == magics_cell(config)
    assert _tagged(JOB_TAG) == job_cell(config)


def test_the_magics_hold_the_templates_job_settings() -> None:
    template = load_template(TEMPLATE)
    job = template["Resources"]["CostEtlJob"]["Properties"]
    arguments = job["DefaultArguments"]
    parameters = template["Parameters"]
    workers = job["NumberOfWorkers"]
    if isinstance(workers, dict):  # !Ref MaxWorkers: the session gets the ceiling's default
        workers = parameters[workers["Ref"]]["Default"]
    magics = parse_magics(_tagged(MAGICS_TAG))
    assert magics["glue_version"] == str(job["GlueVersion"])
    assert magics["worker_type"] == job["WorkerType"]
    assert magics["number_of_workers"] == str(workers)
    assert magics["iam_role"] == _named(job["Role"]) == "<JobRole.Arn>"
    assert magics["security_config"] == _named(job["SecurityConfiguration"])
    assert magics["extra_py_files"] == _named(arguments["--extra-py-files"]) == "<Assets.PackageUri>"
    # The job's Spark settings: what a session starts with, the job's --conf (if any) over it, then what the
    # entry script sets on every run.
    expected = {**SESSION_START_CONF, **parse_spark_conf(arguments.get("--conf", "")), **PIPELINE_CONF}
    assert parse_spark_conf(magics["spark_conf"]) == expected
    # The job's own modules (none today), then the DQDL evaluator's at the versions uv.lock pins.
    job_modules = [m for m in str(arguments.get("--additional-python-modules", "")).split(",") if m]
    assert magics["additional_python_modules"].split(",") == job_modules + [
        f"{name}=={locked_version(name)}" for name in ("lark", "pyyaml")
    ]
    assert int(magics["idle_timeout"]) <= 60, "a forgotten session must not bill for hours"


def test_the_job_cell_names_the_jobs_inputs() -> None:
    template = load_template(TEMPLATE)
    arguments = template["Resources"]["CostEtlJob"]["Properties"]["DefaultArguments"]
    namespace: dict[str, Any] = {}
    exec(_tagged(JOB_TAG), namespace)
    job = namespace["JOB"]
    assert job["pricing_uri"] == _named(arguments["--pricing_uri"])
    assert job["tag_aliases"] == _named(arguments["--tag_aliases"])
    assert job["logs_uri"] == "s3://<LogsBucketName>/"  # !Sub s3://${LogsBucketName}/${LogsPrefix}, prefix ""
    assert job["scratch_tables_uri"].startswith("s3://<DataBucket>/glue/")  # the role may write glue/, not only tables/


@pytest.mark.parametrize(
    ("change", "magic"),
    [
        (lambda job: job.update(GlueVersion="5.0"), "%glue_version 5.0"),
        (lambda job: job.update(WorkerType="G.2X"), "%worker_type G.2X"),
        (lambda job: job["DefaultArguments"].update({"--conf": "spark.sql.ansi.enabled=true"}), "spark.sql.ansi"),
        (lambda job: job.update(Role={"Fn::GetAtt": ["OtherRole", "Arn"]}), "%iam_role <OtherRole.Arn>"),
    ],
)
def test_a_changed_job_no_longer_matches_the_committed_cell(tmp_path: Path, change, magic: str) -> None:
    """The check above can fail: change the template's job and the rendered cell moves away from the notebook."""
    import yaml

    template = load_template(TEMPLATE)
    change(template["Resources"]["CostEtlJob"]["Properties"])
    changed = tmp_path / "template.yaml"
    # Write back in long form (the loader reads short tags as their long form, which dumps as plain maps).
    changed.write_text(yaml.safe_dump(template, sort_keys=False), encoding="utf-8")
    rendered = magics_cell(from_template(changed))
    assert magic in rendered
    assert rendered.splitlines()[2:] != _tagged(MAGICS_TAG).splitlines()[2:]


def test_every_code_cell_compiles_and_imports_existing_names() -> None:
    for source in _code_cells():
        code = "\n".join(line for line in source.splitlines() if not line.startswith("%"))
        tree = ast.parse(code)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bedrock_costs"):
                module = importlib.import_module(node.module)
                missing = [alias.name for alias in node.names if not hasattr(module, alias.name)]
                assert missing == [], f"{node.module} lacks {missing}"


def test_the_notebooks_code_lives_in_the_package() -> None:
    """Cells call the package; a function or class defined in a cell belongs in bedrock_costs instead."""
    for source in _code_cells():
        code = "\n".join(line for line in source.splitlines() if not line.startswith("%"))
        defined = [n for n in ast.walk(ast.parse(code)) if isinstance(n, ast.FunctionDef | ast.ClassDef | ast.Lambda)]
        assert defined == [], source
