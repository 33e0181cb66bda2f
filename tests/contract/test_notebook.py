"""The interactive-session notebook stays runnable: its code compiles and calls only what the package has."""

from __future__ import annotations

import ast
import importlib
import json
from pathlib import Path

NOTEBOOK = Path(__file__).resolve().parents[2] / "glue" / "notebooks" / "develop_cost_etl.ipynb"


def _code_cells() -> list[str]:
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    return ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]


def test_notebook_targets_the_glue_kernel_and_runtime() -> None:
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    assert notebook["metadata"]["kernelspec"]["name"] == "glue_pyspark"
    magics = [line for cell in _code_cells() for line in cell.splitlines() if line.startswith("%")]
    assert "%glue_version 5.1" in magics


def test_every_code_cell_compiles_and_imports_existing_names() -> None:
    for source in _code_cells():
        code = "\n".join(line for line in source.splitlines() if not line.startswith("%"))
        tree = ast.parse(code)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bedrock_costs"):
                module = importlib.import_module(node.module)
                missing = [alias.name for alias in node.names if not hasattr(module, alias.name)]
                assert missing == [], f"{node.module} lacks {missing}"
