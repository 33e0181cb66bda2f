"""The Glue boundary: one entry script imports awsglue; everything it calls exists in the plain package."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENTRY = ROOT / "glue" / "bedrock_cost_etl.py"
# The tests' stand-in for awsglue hands the entry script the real awsglue.utils where the wheel installs.
STAND_IN = ROOT / "tests" / "glue_standin.py"
GLUE_ONLY = ("awsglue", "awsgluedq")


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, [alias.name for alias in node.names]))
    return found


def test_only_the_entry_script_imports_glue_libraries() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("glue", "scripts", "tests")
        for path in (ROOT / folder).rglob("*.py")
        if path not in (ENTRY, STAND_IN) and any(module.split(".")[0] in GLUE_ONLY for module, _ in _imports(path))
    ]
    assert offenders == []


def test_entry_script_only_uses_names_the_package_defines() -> None:
    used = [(module, names) for module, names in _imports(ENTRY) if module.startswith("bedrock_costs")]
    assert used, "the entry script must run the plain bedrock_costs package"
    for module, names in used:
        loaded = importlib.import_module(module)
        missing = [name for name in names if not hasattr(loaded, name)]
        assert missing == [], f"{module} lacks {missing}"


# What the Glue job's Python has besides the package zip: the runtime's own libraries (boto3, pyspark …).
# The DQDL parser's lark and the template reader's PyYAML are project dependencies the job does not install.
NOT_ON_GLUE = ("lark", "yaml")


def test_the_job_imports_nothing_the_glue_runtime_lacks() -> None:
    modules = sorted({module for module, _ in _imports(ENTRY) if module.startswith("bedrock_costs")})
    blocked = "".join(f"sys.modules[{name!r}] = None\n" for name in NOT_ON_GLUE)
    code = f"import sys\n{blocked}sys.path.insert(0, {str(ROOT / 'glue')!r})\n" + "".join(
        f"import {module}\n" for module in modules
    )
    result = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_boundary_check_catches_a_module_that_needs_lark() -> None:
    code = "import sys\nsys.modules['lark'] = None\nsys.path.insert(0, 'glue')\nimport bedrock_costs.quality.dqdl\n"
    result = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, check=False, cwd=ROOT)
    assert result.returncode == 1
    assert "ModuleNotFoundError" in result.stderr or "ImportError" in result.stderr
