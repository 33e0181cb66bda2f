"""The page description: sheets with their controls, layouts and text boxes, the compiled visuals, filters,
parameters and cube data, assembled from the definition and the tables."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from bcr.preview.cubes import json_value, run_cubes
from bcr.preview.datasets import build_views
from bcr.preview.definitions import Dashboard
from bcr.preview.fields import DatasetFields, column_of, dataset_fields
from bcr.preview.filters import FilterSpec, compile_filters, compile_parameters
from bcr.preview.plan import ISO, CubeRegistry
from bcr.preview.sql import SqlTranslator, UnsupportedError, quote
from bcr.preview.visuals import PageContext, compile_visual, format_spec
from bcr.quicksight.documents import DefinitionError, variant
from bcr.quicksight.expressions import Expr

_CONTROL_DEFAULTS = {  # DefaultFilterControlConfiguration.ControlOptions key → control kind
    "DefaultDropdownOptions": "Dropdown",
    "DefaultListOptions": "List",
    "DefaultDateTimePickerOptions": "DateTimePicker",
    "DefaultRelativeDateTimeOptions": "RelativeDateTime",
    "DefaultSliderOptions": "Slider",
    "DefaultTextFieldOptions": "TextField",
    "DefaultTextAreaOptions": "TextArea",
}
MAX_CONTROL_VALUES = 1000


def distinct_values(con: duckdb.DuckDBPyConnection, fields: DatasetFields, expr: Expr, now_sql: str) -> list[Any]:
    sql = SqlTranslator(quote, now_sql)(expr)
    rows = con.execute(
        f"SELECT DISTINCT v FROM (SELECT {sql} AS v FROM {fields.view.view}) WHERE v IS NOT NULL "
        f"ORDER BY 1 LIMIT {MAX_CONTROL_VALUES}"
    ).fetchall()
    return [json_value(row[0]) for row in rows]


def _title_text(body: dict[str, Any]) -> str | None:
    return body.get("Title") or (body.get("ControlTitleFormatText") or {}).get("PlainText")


def compile_controls(
    sheet: dict[str, Any],
    ctx: PageContext,
    filters: dict[str, FilterSpec],
    con: duckdb.DuckDBPyConnection,
    now_sql: str,
) -> list[dict[str, Any]]:
    controls = []
    for wrapper in sheet.get("FilterControls") or []:
        kind, body = variant(wrapper)
        filter_id = str(body.get("SourceFilterId"))
        spec = filters.get(filter_id)
        control: dict[str, Any] = {"id": body.get("FilterControlId"), "filter": filter_id, "title": _title_text(body)}
        if kind == "CrossSheet" and spec is not None and spec.default_control:
            options = spec.default_control.get("ControlOptions") or {}
            option_key = next(iter(options), "")
            kind, body = _CONTROL_DEFAULTS.get(option_key, "Dropdown"), {**options.get(option_key, {}), **body}
            control["title"] = control["title"] or spec.default_control.get("Title")
        control["kind"] = kind
        if spec is None:
            control["disabled"] = f"filter {filter_id} is not applied by the preview"
        elif kind in {"Dropdown", "List"}:
            control["multi"] = body.get("Type", "MULTI_SELECT") == "MULTI_SELECT"
            values = (body.get("SelectableValues") or {}).get("Values")
            fields = ctx.datasets[spec.column[0]]
            control["values"] = values or distinct_values(con, fields, fields.resolve(spec.column[1]), now_sql)
        elif kind == "Slider":
            control.update(min=body.get("MinimumValue"), max=body.get("MaximumValue"), step=body.get("StepSize"))
            control["range"] = body.get("Type", "RANGE") == "RANGE"
        elif kind == "DateTimePicker":
            control["range"] = body.get("Type", "DATE_RANGE") == "DATE_RANGE"
        controls.append(control)
    for wrapper in sheet.get("ParameterControls") or []:
        kind, body = variant(wrapper)
        name = str(body.get("SourceParameterName"))
        if name not in ctx.parameters:
            raise DefinitionError(
                f"parameter control {body.get('ParameterControlId')}: parameter {name!r} is not declared"
            )
        control = {"id": body.get("ParameterControlId"), "param": name, "title": _title_text(body), "kind": kind}
        if kind in {"Dropdown", "List"}:
            control["multi"] = body.get("Type", "SINGLE_SELECT") == "MULTI_SELECT"
            selectable = body.get("SelectableValues") or {}
            if "LinkToDataSetColumn" in selectable:
                try:
                    identifier, column = column_of(selectable["LinkToDataSetColumn"], ctx.datasets)
                except UnsupportedError as exc:
                    control["disabled"] = str(exc)
                    controls.append(control)
                    continue
                fields = ctx.datasets[identifier]
                control["values"] = distinct_values(con, fields, fields.resolve(column), now_sql)
            else:
                control["values"] = list(selectable.get("Values") or [])
        elif kind == "Slider":
            control.update(min=body.get("MinimumValue"), max=body.get("MaximumValue"), step=body.get("StepSize"))
        controls.append(control)
    return controls


def _text(content: str) -> str:
    """A text box's rich text as plain lines."""
    content = re.sub(r"<br\s*/?>|</(?:p|li|div|h\d)>", "\n", content)
    return html.unescape(re.sub(r"<[^>]+>", "", content)).strip()


def _layout(sheet: dict[str, Any], warnings: list[str]) -> list[dict[str, Any]] | None:
    layouts = sheet.get("Layouts") or []
    configuration = (layouts[0].get("Configuration") or {}) if layouts else {}
    if "GridLayout" in configuration:
        return [
            {
                "id": e.get("ElementId"),
                "col": e.get("ColumnIndex", 0),
                "colSpan": e.get("ColumnSpan", 18),
                "row": e.get("RowIndex"),
                "rowSpan": e.get("RowSpan", 12),
            }
            for e in configuration["GridLayout"].get("Elements") or []
        ]
    if "FreeFormLayout" in configuration:
        px = lambda text: int(float(str(text).rstrip("px") or 0))  # noqa: E731
        return [
            {
                "id": e.get("ElementId"),
                "x": px(e.get("XAxisLocation", 0)),
                "y": px(e.get("YAxisLocation", 0)),
                "w": px(e.get("Width", 400)),
                "h": px(e.get("Height", 300)),
            }
            for e in configuration["FreeFormLayout"].get("Elements") or []
        ]
    if configuration:
        warnings.append(f"sheet {sheet.get('SheetId')}: {next(iter(configuration))} is drawn as a simple flow")
    return None


def build_page(
    dashboard: Dashboard, con: duckdb.DuckDBPyConnection, tables: dict[str, Path], as_of: datetime
) -> dict[str, Any]:
    """The whole page description: sheets, visuals, filters, parameters, controls and cube data."""
    now_sql = f"TIMESTAMP '{as_of.strftime('%Y-%m-%d %H:%M:%S')}'"
    views = build_views(con, tables, dashboard.datasets, now_sql)
    definition = dashboard.definition
    warnings: list[str] = [
        f"dataset {dataset.label}: row-level security is not applied, every row is shown"
        for dataset in dashboard.datasets.values()
        if dataset.body.get("RowLevelPermissionDataSet") or dataset.body.get("RowLevelPermissionTagConfiguration")
    ]
    datasets = dataset_fields(definition, views)
    parameters = compile_parameters(definition, con, now_sql, warnings)
    filters = compile_filters(definition, datasets, con, now_sql, parameters, warnings)
    formats = {}
    for configuration in definition.get("ColumnConfigurations") or []:
        column = configuration.get("Column") or {}
        spec = format_spec(configuration.get("FormatConfiguration"))
        if spec:
            formats[(column.get("DataSetIdentifier"), column.get("ColumnName"))] = spec
    registry = CubeRegistry(con, datasets, now_sql)
    ctx = PageContext(registry, datasets, parameters, filters, formats, warnings)
    by_id = {spec.id: spec for spec in filters}
    sheets, visuals = [], {}
    for sheet in definition.get("Sheets") or []:
        sheet_id = str(sheet.get("SheetId"))
        ids = []
        for wrapper in sheet.get("Visuals") or []:
            visual = compile_visual(ctx, sheet_id, wrapper)
            visuals[visual["id"]] = visual
            ids.append(visual["id"])
        sheets.append(
            {
                "id": sheet_id,
                "name": sheet.get("Name") or sheet_id,
                "title": sheet.get("Title"),
                "description": sheet.get("Description"),
                "visuals": ids,
                "texts": {
                    str(t.get("SheetTextBoxId")): _text(str(t.get("Content", ""))) for t in sheet.get("TextBoxes") or []
                },
                "controls": compile_controls(sheet, ctx, by_id, con, now_sql),
                "layout": _layout(sheet, warnings),
            }
        )
    data = run_cubes(con, registry, views)
    options = definition.get("Options") or {}
    return {
        "title": dashboard.name,
        "dashboardId": dashboard.id,
        "asOf": as_of.strftime(ISO),
        "weekStart": options.get("WeekStart", "SUNDAY"),
        "generatedAt": datetime.now(UTC).strftime(ISO),
        "sheets": sheets,
        "visuals": visuals,
        "filters": {spec.id: spec.config for spec in filters},
        "parameters": parameters,
        "datasets": {identifier: view.label for identifier, view in views.items()},
        "warnings": warnings,
        **data,
    }
