"""End to end: `bcr report` on the demo tables — the committed dashboard's page is self-contained and small
and its cubes hold the tables' totals; definition errors (shown on copies of the fixture dashboard) exit 2
naming the visual and the field, and unsupported parts become labelled placeholders."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
from quicksight_helpers import edit

from bcr.cli import main
from bcr.preview.render import embed_json
from bcr.quicksight.documents import DEFAULT_ROOT
from bcr.quicksight.validate import validate

DEFINITIONS_FIXTURE = Path(__file__).parents[1] / "fixtures" / "quicksight_definitions"
DASHBOARD = Path("dashboard.json")


def page_data(report: Path) -> dict[str, Any]:
    html = report.read_text(encoding="utf-8")
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S)
    assert match, "the page description is embedded"
    return json.loads(match.group(1))


def edited(
    tmp_path: Path, change: Callable[[dict[str, Any]], None], path: Path = DASHBOARD, source: Path = DEFINITIONS_FIXTURE
) -> Path:
    """A copy of the fixture (or another definitions folder) with one file changed."""
    folder = tmp_path / "definitions"
    shutil.copytree(source, folder)
    edit(folder / path, change)
    return folder


def calculation(name: str, expression: str) -> Callable[[dict[str, Any]], None]:
    """A change that gives calculated field ``name`` another expression."""

    def change(body: dict[str, Any]) -> None:
        [calculated] = [c for c in body["Definition"]["CalculatedFields"] if c["Name"] == name]
        calculated["Expression"] = expression

    return change


def visual(body: dict[str, Any], visual_id: str) -> dict[str, Any]:
    for sheet in body["Definition"]["Sheets"]:
        for wrapper in sheet.get("Visuals", []):
            inner = next(iter(wrapper.values()))
            if inner["VisualId"] == visual_id:
                return inner
    raise KeyError(visual_id)


def report(tables: Path, definitions: Path, out: Path) -> int:
    return main(["report", "--tables", str(tables), "--definitions", str(definitions), "--out", str(out)])


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


def test_the_demo_report_is_self_contained_and_small(demo_run) -> None:
    html = demo_run.report.read_text(encoding="utf-8")
    size = demo_run.report.stat().st_size
    assert size < 5 * 1024 * 1024, f"{size} bytes"
    # Offline: nothing is fetched (no external script, style, font or image), and the policy forbids it.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "default-src 'none'" in html
    page = page_data(demo_run.report)
    assert [s["name"] for s in page["sheets"]] == [
        "Overview",
        "Allocation",
        "Models and caching",
        "People and principals",
        "Data health",
    ]
    assert page["warnings"] == []


def test_cube_totals_equal_the_tables(demo_run) -> None:
    """The DuckDB side alone: what the committed KPIs' cubes hold sums to the table, to the micro-dollar."""
    page = page_data(demo_run.report)
    kpi = page["visuals"]["overview-requests"]
    cube = page["cubes"][kpi["cube"]]
    atom = kpi["atoms"][0]
    assert atom[0] == "c" and atom[2] == "sum"
    tables = demo_run.tables
    expected = duckdb.execute(
        f"SELECT sum(request_count) FROM read_parquet('{tables}/daily_costs/**/*.parquet')"
    ).fetchall()[0][0]
    assert sum(cube["columns"][atom[1]]) == expected
    spend = page["visuals"]["overview-daily-spend"]["atoms"][0][1]
    expected_spend = duckdb.execute(
        f"SELECT sum(total_cost) FROM read_parquet('{tables}/daily_costs/**/*.parquet')"
    ).fetchall()[0][0]
    cube = page["cubes"][page["visuals"]["overview-daily-spend"]["cube"]]
    got = sum(v for v in cube["columns"][spend] if v is not None)
    assert got == pytest.approx(float(expected_spend), abs=1e-6)


@pytest.mark.parametrize(
    ("source", "visual_id", "field_id"),
    [
        (DEFAULT_ROOT, "overview-spend-by-model", "overview-spend-by-model.cost"),
        (DEFINITIONS_FIXTURE, "bar-spend-by-model", "model-spend"),
    ],
    ids=["committed", "fixture"],
)
def test_a_wrong_column_exits_2_naming_the_visual_and_the_field(
    demo_run, tmp_path: Path, capsys: pytest.CaptureFixture[str], source: Path, visual_id: str, field_id: str
) -> None:
    def break_column(body: dict[str, Any]) -> None:
        values = visual(body, visual_id)["ChartConfiguration"]["FieldWells"]["BarChartAggregatedFieldWells"]
        values["Values"][0]["NumericalMeasureField"]["Column"]["ColumnName"] = "total_costs"

    folder = edited(tmp_path, break_column, source=source)
    assert report(demo_run.tables, folder, tmp_path / "r.html") == 2
    err = one_line_error(capsys)
    assert f"visual {visual_id}" in err and f"field {field_id}" in err and "'total_costs'" in err
    assert not (tmp_path / "r.html").exists()


def test_a_broken_calculated_field_exits_2_naming_the_visual_the_field_and_the_column(
    demo_run, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    break_calculation = calculation("cost_per_1k_requests", "sum({total_cost}) / sum({request_cnt}) * 1000")
    assert report(demo_run.tables, edited(tmp_path, break_calculation), tmp_path / "r.html") == 2
    err = one_line_error(capsys)
    assert "visual kpi-cost-per-1k" in err and "field cost-per-1k" in err
    assert "cost_per_1k_requests" in err and "'request_cnt'" in err


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("sum({total_cost}) / ", "position"),
        ("summ({total_cost})", "unknown function 'summ'"),
        ("sum(sum({total_cost}))", "cannot aggregate an aggregate"),
        ("{total_cost} + 1", "must aggregate"),
    ],
)
def test_an_invalid_expression_exits_2(
    demo_run, tmp_path: Path, capsys: pytest.CaptureFixture[str], expression: str, message: str
) -> None:
    def change(body: dict[str, Any]) -> None:
        wells = visual(body, "kpi-spend")["ChartConfiguration"]["FieldWells"]
        wells["Values"] = [{"CalculatedMeasureField": {"FieldId": "spend", "Expression": expression}}]

    assert report(demo_run.tables, edited(tmp_path, change), tmp_path / "r.html") == 2
    err = one_line_error(capsys)
    assert "visual kpi-spend" in err and "field spend" in err and message in err


def test_a_type_error_found_by_duckdb_names_the_field(
    demo_run, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    change = calculation("tenant_label", "coalesce({tenant}, {request_count})")
    assert report(demo_run.tables, edited(tmp_path, change), tmp_path / "r.html") == 2
    err = one_line_error(capsys)
    assert "visual bar-top-tenants" in err and "field tenant" in err


def test_a_dataset_column_missing_from_the_table_exits_2(
    demo_run, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def change(body: dict[str, Any]) -> None:
        body["PhysicalTableMap"]["bcr-invocations"]["CustomSql"]["Columns"].append(
            {"Name": "tenant_id", "Type": "STRING"}
        )

    folder = edited(tmp_path, change, Path("datasets") / "invocations.json")
    assert report(demo_run.tables, folder, tmp_path / "r.html") == 2
    err = one_line_error(capsys)
    assert "dataset invocations (datasets/invocations.json)" in err and "'tenant_id'" in err
    assert "PhysicalTableMap.bcr-invocations" in err


def test_a_filter_on_a_missing_column_exits_2_naming_the_filter(
    demo_run, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def change(body: dict[str, Any]) -> None:
        for group in body["Definition"]["FilterGroups"]:
            for wrapper in group["Filters"]:
                inner = next(iter(wrapper.values()))
                if inner["FilterId"] == "filter-tenant":
                    inner["Column"]["ColumnName"] = "tenant_name"

    assert report(demo_run.tables, edited(tmp_path, change), tmp_path / "r.html") == 2
    err = one_line_error(capsys)
    assert "filter filter-tenant" in err and "'tenant_name'" in err


def test_missing_or_empty_definitions_exit_2(demo_run, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert report(demo_run.tables, tmp_path / "nowhere", tmp_path / "r.html") == 2
    assert "is not a folder of QuickSight definitions" in one_line_error(capsys)
    (tmp_path / "empty").mkdir()
    assert report(demo_run.tables, tmp_path / "empty", tmp_path / "r.html") == 2
    assert "holds no dataset definitions" in one_line_error(capsys)
    folder = edited(tmp_path, lambda body: None)
    (folder / "datasets" / "pipeline_runs.json").unlink()
    assert report(demo_run.tables, folder, tmp_path / "r.html") == 2
    assert "DataSetIdentifier 'pipeline_runs' has no file datasets/pipeline_runs.json" in one_line_error(capsys)
    assert main(["report", "--tables", str(tmp_path / "none"), "--definitions", str(DEFINITIONS_FIXTURE)]) == 2
    assert "no such folder" in one_line_error(capsys)


def test_unsupported_visuals_and_functions_become_labelled_placeholders(
    demo_run, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def change(body: dict[str, Any]) -> None:
        sheet = body["Definition"]["Sheets"][0]
        sheet["Visuals"].append({"SankeyDiagramVisual": {"VisualId": "sankey-flows"}})
        wells = visual(body, "kpi-spend")["ChartConfiguration"]["FieldWells"]
        expression = "firstValue(sum({total_cost}), [{usage_date} ASC])"
        wells["Values"] = [{"CalculatedMeasureField": {"FieldId": "spend", "Expression": expression}}]
        visual(body, "bar-team")["ChartConfiguration"]["ReferenceLines"] = [{"Status": "ENABLED"}]

    out = tmp_path / "r.html"
    assert report(demo_run.tables, edited(tmp_path, change), out) == 0
    printed = capsys.readouterr().out
    assert "2 placeholders" in printed and "SankeyDiagramVisual" in printed and "firstValue" in printed
    assert "visual bar-team: reference lines not drawn" in printed  # said, not silently dropped
    visuals = page_data(out)["visuals"]
    assert visuals["sankey-flows"]["type"] == "placeholder"
    assert visuals["kpi-spend"]["type"] == "placeholder" and "firstValue" in visuals["kpi-spend"]["reason"]
    assert "sankey-flows" in page_data(out)["sheets"][0]["visuals"]  # listed, so drawn, never dropped


def test_a_dataset_whose_table_is_not_there_yet_shows_placeholders(
    demo_run, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def change(body: dict[str, Any]) -> None:
        body["PhysicalTableMap"]["bcr-rejected-records"]["RelationalTable"]["Name"] = "dq_results"

    folder = edited(tmp_path, change, Path("datasets") / "rejected_records.json")
    out = tmp_path / "r.html"
    # Tables from before dq_results existed.
    tables = tmp_path / "tables"
    shutil.copytree(
        demo_run.tables, tables, ignore=lambda where, _names: ["dq_results"] if Path(where) == demo_run.tables else []
    )
    assert report(tables, folder, out) == 0
    printed = capsys.readouterr().out
    assert "1 placeholders" in printed and "table 'dq_results' has no Parquet folder" in printed
    assert page_data(out)["visuals"]["bar-rejected"]["type"] == "placeholder"


def test_hostile_text_cannot_leave_the_data_block() -> None:
    hostile = {"tenant": "</script><script>alert(1)</script><!--", "line": "a\u2028b"}
    embedded = embed_json(hostile)
    assert "</script" not in embedded.lower() and "<!--" not in embedded
    assert json.loads(embedded) == hostile


def test_validate_and_report_see_the_same_broken_join(
    demo_run, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Both follow datasets with one walk: a join that no longer lines up is the same problem to both."""

    def unrename(body: dict[str, Any]) -> None:
        del body["LogicalTableMap"]["requests"]["DataTransforms"][0]  # usage_date is now on both sides

    folder = edited(tmp_path, unrename, Path("datasets") / "invocation_tags.json", source=DEFAULT_ROOT)
    where = "LogicalTableMap.tags-with-request.Source.JoinInstruction"
    problems = validate(folder, template=None).problems
    assert (
        f"datasets/invocation_tags.json {where}: column 'usage_date' is on both sides; rename one before joining"
        in (problems)
    )
    assert f"datasets/invocation_tags.json {where}.OnClause: no column 'invocation_usage_date' on either side" in (
        problems
    )
    assert report(demo_run.tables, folder, tmp_path / "r.html") == 2
    assert one_line_error(capsys) == (
        f"bcr report: dataset invocation_tags (datasets/invocation_tags.json): {where}: column 'usage_date' is on "
        "both sides; rename one before joining"
    )
