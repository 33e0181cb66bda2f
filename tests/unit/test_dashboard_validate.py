"""`bcr dashboard validate` catches each kind of broken definition it promises to catch.

Each test breaks one thing in a scratch copy of the committed definitions and expects exactly that problem
to be reported; the untouched copy reports none, so every assertion is about the injected fault.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from quicksight_helpers import copy_project, edit

from bcr.quicksight.validate import validate

DASHBOARD = "dashboard.json"


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path]:
    return copy_project(tmp_path)


def problems(root: Path) -> list[str]:
    """Offline checks without the template (the template checks have their own tests)."""
    return validate(root, template=None).problems


def visual(document: dict[str, Any], sheet: int, position: int) -> dict[str, Any]:
    return next(iter(document["Definition"]["Sheets"][sheet]["Visuals"][position].values()))


def kpi_value(document: dict[str, Any]) -> dict[str, Any]:
    """The measure of the Overview "Requests" KPI (sum of daily_costs.request_count)."""
    return visual(document, 0, 1)["ChartConfiguration"]["FieldWells"]["Values"][0]["NumericalMeasureField"]


def rename_in_filter_scopes(document: dict[str, Any], old: str, new: str) -> None:
    for group in document["Definition"]["FilterGroups"]:
        for scoped in group["ScopeConfiguration"].get("SelectedSheets", {}).get("SheetVisualScopingConfigurations", []):
            scoped["VisualIds"] = [new if visual_id == old else visual_id for visual_id in scoped.get("VisualIds", [])]


def test_the_copy_is_clean_before_anything_is_broken(project: tuple[Path, Path]) -> None:
    root, template = project
    assert validate(root, template).problems == []


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ("request_total", "column 'request_total' does not exist in dataset 'daily_costs'"),
        ("tenant", "daily_costs.tenant is STRING; a NumericalMeasureField needs DECIMAL or INTEGER"),
    ],
    ids=["broken-column-reference", "column-of-the-wrong-type"],
)
def test_a_bad_column_in_a_field_well_names_the_visual_and_the_column(
    project: tuple[Path, Path], column: str, message: str
) -> None:
    root, _ = project
    edit(root / DASHBOARD, lambda d: kpi_value(d)["Column"].update(ColumnName=column))
    assert problems(root) == [
        f"{DASHBOARD} Definition.Sheets[0].Visuals[1].KPIVisual.ChartConfiguration.FieldWells.Values[0]"
        f".NumericalMeasureField.Column: {message}"
    ]


def test_a_bad_enum_value_is_caught_although_botocore_does_not_check_enums(project: tuple[Path, Path]) -> None:
    root, _ = project
    edit(root / DASHBOARD, lambda d: kpi_value(d)["AggregationFunction"].update(SimpleNumericalAggregation="SUMM"))
    [problem] = problems(root)
    assert problem.startswith(
        f"{DASHBOARD}: Invalid value for parameter Definition.Sheets[0].Visuals[1].KPIVisual.ChartConfiguration"
        ".FieldWells.Values[0].NumericalMeasureField.AggregationFunction.SimpleNumericalAggregation: 'SUMM'"
    )


def test_an_unknown_key_is_caught(project: tuple[Path, Path]) -> None:
    root, _ = project
    edit(root / DASHBOARD, lambda d: visual(d, 0, 7)["ChartConfiguration"].update(Bogus=True))
    [problem] = problems(root)
    assert 'Unknown parameter in Definition.Sheets[0].Visuals[7].BarChartVisual.ChartConfiguration: "Bogus"' in problem


def test_an_undeclared_dataset_identifier_is_caught(project: tuple[Path, Path]) -> None:
    root, _ = project

    def rename(document: dict[str, Any]) -> None:
        bar = visual(document, 2, 6)  # Models: latency table over invocations
        bar["ChartConfiguration"]["FieldWells"]["TableAggregatedFieldWells"]["GroupBy"][0]["CategoricalDimensionField"][
            "Column"
        ]["DataSetIdentifier"] = "invocation"

    edit(root / DASHBOARD, rename)
    assert (
        f"{DASHBOARD} Definition.Sheets[2].Visuals[6].TableVisual.ChartConfiguration.FieldWells"
        ".TableAggregatedFieldWells.GroupBy[0].CategoricalDimensionField.Column: dataset identifier 'invocation' is "
        "not in DataSetIdentifierDeclarations"
    ) in problems(root)


def test_a_dataset_column_that_is_not_in_the_tables_is_caught(project: tuple[Path, Path]) -> None:
    root, _ = project

    def add_column(document: dict[str, Any]) -> None:
        columns = document["PhysicalTableMap"]["daily-costs"]["RelationalTable"]["InputColumns"]
        columns.append({"Name": "department", "Type": "STRING"})

    edit(root / "datasets" / "daily_costs.json", add_column)
    assert problems(root) == [
        "datasets/daily_costs.json PhysicalTableMap.daily-costs.InputColumns[31]: column 'department' is not in "
        "table daily_costs (glue/bedrock_costs/schemas.py)"
    ]


def test_a_dataset_column_read_with_the_wrong_type_is_caught(project: tuple[Path, Path]) -> None:
    root, _ = project

    def retype(document: dict[str, Any]) -> None:
        columns = document["PhysicalTableMap"]["daily-costs"]["RelationalTable"]["InputColumns"]
        next(c for c in columns if c["Name"] == "request_count")["Type"] = "STRING"

    edit(root / "datasets" / "daily_costs.json", retype)
    found = problems(root)
    assert any("daily_costs.request_count is bigint, read it as INTEGER, not STRING" in p for p in found)
    # ...and the visuals summing it now see a string column.
    assert any(
        "daily_costs.request_count is STRING; a NumericalMeasureField needs DECIMAL or INTEGER" in p for p in found
    )


def test_a_calculated_field_on_a_missing_column_or_parameter_is_caught(project: tuple[Path, Path]) -> None:
    root, _ = project

    def break_fields(document: dict[str, Any]) -> None:
        fields = {field["Name"]: field for field in document["Definition"]["CalculatedFields"]}
        fields["unpriced_requests"]["Expression"] = "ifelse(isNull({total_costs}), {request_count}, 0)"
        fields["cost_current_period"]["Expression"] = "ifelse({usage_date} >= ${PeriodBegin}, {total_cost}, 0)"

    edit(root / DASHBOARD, break_fields)
    found = "\n".join(problems(root))
    assert (
        "CalculatedFields[3]: calculated field 'unpriced_requests': no column or calculated field 'total_costs' in "
        "dataset daily_costs"
    ) in found
    assert "CalculatedFields[0]: calculated field 'cost_current_period': unknown parameter ${PeriodBegin}" in found


def test_an_already_aggregated_field_aggregated_again_is_caught(project: tuple[Path, Path]) -> None:
    root, _ = project

    def aggregate_again(document: dict[str, Any]) -> None:
        measure = visual(document, 0, 3)["ChartConfiguration"]["FieldWells"]["Values"][0]["NumericalMeasureField"]
        measure["AggregationFunction"] = {"SimpleNumericalAggregation": "SUM"}  # cost_per_1k_requests is sum()/sum()

    edit(root / DASHBOARD, aggregate_again)
    [problem] = problems(root)
    assert problem.endswith("'cost_per_1k_requests' is already aggregated; drop its AggregationFunction")


def test_an_undeclared_parameter_and_filter_are_caught(project: tuple[Path, Path]) -> None:
    root, _ = project

    def break_references(document: dict[str, Any]) -> None:
        sheet = document["Definition"]["Sheets"][1]
        sheet["ParameterControls"][0]["DateTimePicker"]["SourceParameterName"] = "PeriodFrom"
        sheet["FilterControls"][0]["CrossSheet"]["SourceFilterId"] = "filter-acount"

    edit(root / DASHBOARD, break_references)
    found = problems(root)
    assert any(p.endswith("parameter 'PeriodFrom' is not declared in ParameterDeclarations") for p in found)
    assert any(p.endswith("no filter 'filter-acount'") for p in found)


def test_a_sheet_local_control_on_a_filter_for_every_sheet_is_caught(project: tuple[Path, Path]) -> None:
    """QuickSight rejects a Dropdown on an AllSheets filter; the upstream sample's filters worked on one sheet."""
    root, _ = project

    def local_control(document: dict[str, Any]) -> None:
        controls = document["Definition"]["Sheets"][0]["FilterControls"]
        controls[0] = {
            "Dropdown": {"FilterControlId": "overview-account", "SourceFilterId": "filter-account", "Title": "A"}
        }

    edit(root / DASHBOARD, local_control)
    assert problems(root) == [
        f"{DASHBOARD} Definition.Sheets[0].FilterControls[0]: the filter applies to several sheets: its controls "
        "must be CrossSheet controls"
    ]


def test_a_visual_missing_from_the_layout_and_a_stale_scope_are_caught(project: tuple[Path, Path]) -> None:
    root, _ = project

    def drop(document: dict[str, Any]) -> None:
        elements = document["Definition"]["Sheets"][4]["Layouts"][0]["Configuration"]["GridLayout"]["Elements"]
        elements[:] = [e for e in elements if e["ElementId"] != "health-unpriced"]
        rename_in_filter_scopes(document, "health-unpriced", "health-unpriced-old")

    edit(root / DASHBOARD, drop)
    found = problems(root)
    assert (
        f"{DASHBOARD} Definition.Sheets[4]: visual 'health-unpriced' is placed 0 times in the layouts, not once"
        in found
    )
    assert any(p.endswith("no visual 'health-unpriced-old' on sheet 'data-health'") for p in found)


def test_an_account_id_region_or_arn_in_a_definition_is_caught(project: tuple[Path, Path]) -> None:
    root, _ = project
    literal = "arn:aws:quicksight:eu-west-1:444455556666:dataset/costs-prod-daily-costs"
    edit(root / DASHBOARD, lambda d: d["Definition"]["DataSetIdentifierDeclarations"][0].update(DataSetArn=literal))
    found = "\n".join(problems(root))
    for what in ("an account id", "a region", "an ARN"):
        assert f"Definition.DataSetIdentifierDeclarations[0].DataSetArn: {literal!r} holds {what}" in found


def test_a_hand_edit_that_is_not_canonical_json_is_caught(project: tuple[Path, Path]) -> None:
    root, _ = project
    path = root / "data_source.json"
    path.write_text(path.read_text(encoding="utf-8").replace("  ", "    "), encoding="utf-8")
    assert problems(root) == ["data_source.json: not in canonical form (run `bcr dashboard format`)"]


def test_cfn_lint_checks_what_the_api_model_does_not(project: tuple[Path, Path]) -> None:
    """An id pattern lives in the CloudFormation schema only: botocore passes it, the inlined lint fails it."""
    root, template = project

    def bad_id(document: dict[str, Any]) -> None:
        document["Definition"]["Sheets"][0]["Layouts"][0]["Configuration"]["GridLayout"]["Elements"][1]["ElementId"] = (
            "overview requests"
        )
        visual(document, 0, 1)["VisualId"] = "overview requests"
        rename_in_filter_scopes(document, "overview-requests", "overview requests")

    edit(root / DASHBOARD, bad_id)
    assert problems(root) == []
    found = validate(root, template).problems
    assert len(found) == 3 and all(": E3031 'overview requests' does not match" in p for p in found)
    assert any(
        "Resources/QuickSightDashboard/Properties/Definition/Sheets/0/Visuals/1/KPIVisual/VisualId" in p for p in found
    )


def test_an_axis_label_refers_to_a_field_and_does_not_define_one(project: tuple[Path, Path]) -> None:
    """``ApplyTo`` holds a FieldId and its Column: a second definition of the field id it is not."""
    root, _ = project

    def label(field_id: str) -> Any:
        def change(document: dict[str, Any]) -> None:
            column = {"ColumnName": "total_cost", "DataSetIdentifier": "daily_costs"}
            apply_to = {"ApplyTo": {"Column": column, "FieldId": field_id}, "CustomLabel": "Spend"}
            visual(document, 0, 7)["ChartConfiguration"]["ValueLabelOptions"] = {"AxisLabelOptions": [apply_to]}

        return change

    edit(root / DASHBOARD, label("overview-spend-by-model.cost"))
    assert problems(root) == []
    edit(root / DASHBOARD, label("overview-spend-by-model.costs"))
    assert problems(root) == [
        f"{DASHBOARD} Definition.Sheets[0].Visuals[7].BarChartVisual.ChartConfiguration.ValueLabelOptions"
        ".AxisLabelOptions[0].ApplyTo: field id 'overview-spend-by-model.costs' is not a field of this visual"
    ]
