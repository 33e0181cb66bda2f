"""The Glue boundary: one entry script imports awsglue; everything it calls exists in the plain package."""

from __future__ import annotations

import ast
import importlib
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
