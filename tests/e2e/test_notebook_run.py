"""The notebook's code cells, magics removed, on plain local PySpark against the generated corpus: the tables
they write are `bcr etl`'s, each inspection step shows what the run then published, and it ends with the
data-quality evaluation and the summary `bcr demo` prints.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from etl_helpers import LINEAGE, SUMMARY_HEADINGS, content

from bedrock_costs.catalog import DEFAULT_CATALOG, load_catalog
from bedrock_costs.discover import discover_local
from bedrock_costs.quality.rulesets import load_rulesets
from bedrock_costs.quality.tables import PRICING, catalog_frame, evaluate_rulesets, read_tables
from bedrock_costs.session import LOCAL_LOGS, LOCAL_TABLES
from bedrock_costs.spark import LOOKED_UP_BY_NAME

pytestmark = pytest.mark.spark

NOTEBOOK = Path(__file__).resolve().parents[2] / "glue" / "notebooks" / "develop_cost_etl.ipynb"


def code_cells() -> list[str]:
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    return ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]


@pytest.fixture(scope="module")
def notebook(
    corpus: Path, tmp_path_factory: pytest.TempPathFactory, spark, jvm_view
) -> Iterator[tuple[dict[str, Any], Path, str]]:
    """Every code cell in order in one namespace holding ``spark``, as a local kernel runs them.

    Without the imports of the classes PySpark looks up on every call, which a Glue session starts without.
    """
    for name in LOOKED_UP_BY_NAME:
        jvm_view.removeSingleImport(name)
    tables = tmp_path_factory.mktemp("notebook") / "tables"
    with pytest.MonkeyPatch.context() as env:
        env.setenv(LOCAL_LOGS, str(corpus))
        env.setenv(LOCAL_TABLES, str(tables))
        namespace: dict[str, Any] = {"spark": spark}
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            for index, source in enumerate(code_cells()):
                code = "\n".join(line for line in source.splitlines() if not line.startswith("%"))
                exec(compile(code, f"{NOTEBOOK.name} cell {index}", "exec"), namespace)
        yield namespace, tables, printed.getvalue()


def rows(frame) -> list[tuple]:
    return sorted(
        tuple(str(v) for v in row) for row in frame.drop(*(c for c in LINEAGE if c in frame.columns)).collect()
    )


def test_opening_the_workbench_imports_the_classes_pyspark_looks_up(notebook, jvm_view) -> None:
    imported = dict(jvm_view.getSingleImportsMap())
    assert {fqn.rsplit(".", 1)[1]: fqn for fqn in LOOKED_UP_BY_NAME}.items() <= imported.items()


def test_the_notebook_writes_the_tables_bcr_etl_writes(notebook, corpus: Path, etl_tables: Path, spark) -> None:
    namespace, tables, _ = notebook
    bench = namespace["bench"]
    # The sample bound takes every object of the corpus here, so the two runs read the same input.
    assert len(bench.objects) == len(discover_local(str(corpus), None, None)) > 0
    assert content(spark, tables) == content(spark, etl_tables)
    counts = ["files_new", "files_corrupt", "lines_read", "rows_written", "duplicates_dropped", "rejected_lines"]
    counts += ["unpriced_rows", "conflicts", "reconciled", "affected_dates"]
    ours, theirs = (
        spark.read.parquet(str(root / "pipeline_runs")).select(counts).first() for root in (tables, etl_tables)
    )
    assert ours.reconciled and ours == theirs


def test_each_inspection_step_shows_what_the_run_published(notebook, spark) -> None:
    namespace, tables, _ = notebook
    bench = namespace["bench"]
    published = {
        name: spark.read.parquet(str(tables / name)) for name in ("invocations", "daily_costs", "rejected_records")
    }
    assert rows(namespace["ledger"]) == rows(published["invocations"].select(*namespace["ledger"].columns))
    assert rows(bench.daily_costs()) == rows(published["daily_costs"].select(*bench.daily_costs().columns))
    rejected = namespace["rejected"]
    assert rows(rejected) == rows(published["rejected_records"].select(*rejected.columns))
    assert bench.deduped.redelivered == bench.summary.redelivered > 0
    assert namespace["fresh"].count() == bench.summary.rows_written


def test_it_ends_with_the_quality_rulesets_and_the_demo_summary(notebook, spark) -> None:
    namespace, tables, printed = notebook
    results = namespace["results"]
    datasets = read_tables(spark, str(tables))
    datasets[PRICING] = catalog_frame(spark, load_catalog(DEFAULT_CATALOG))
    # Judged at the notebook's moment, so freshness rules agree however long the tests took since.
    expected = evaluate_rulesets(load_rulesets(), datasets, now=results[0].evaluated_at)

    def outcomes(found: list) -> list[tuple]:
        return sorted((r.ruleset, rule.rule, rule.outcome, rule.measured) for r in found for rule in r.results)

    assert outcomes(results) == outcomes(expected)
    assert {result.ruleset for result in results} == {"invocations", "daily_costs", "pipeline_runs"}
    for heading in SUMMARY_HEADINGS:
        assert heading in printed
