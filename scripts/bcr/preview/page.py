"""Everything around the visuals: parameters and their defaults, filter groups and their scope, sheet
controls, layouts and text boxes; then the cubes are queried and the page description assembled."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from bcr.preview.datasets import DatasetView, build_views, connect
from bcr.preview.definitions import DefinitionError, Definitions
from bcr.preview.expressions import Expr, ExpressionError, is_aggregated, parse
from bcr.preview.fields import DatasetFields, column_of, dataset_fields
from bcr.preview.plan import ISO, CubeRegistry
from bcr.preview.sql import SqlTranslator, UnsupportedError, quote
from bcr.preview.visuals import PageContext, compile_visual, format_spec

_FILTER_KINDS = {
    "CategoryFilter": "category",
    "NumericRangeFilter": "numericRange",
    "NumericEqualityFilter": "numericEquality",
    "TimeRangeFilter": "timeRange",
    "RelativeDatesFilter": "relativeDates",
    "TimeEqualityFilter": "timeEquality",
}
_TIME_FILTERS = {"timeRange", "relativeDates", "timeEquality"}
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


def iso(value: Any) -> str | None:
    """A timestamp from the definition (ISO text or epoch seconds) as the page's ISO text."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).strftime(ISO)
    text = str(value).replace(" ", "T").rstrip("Z")
    return (text + "T00:00:00")[:19] if len(text) == 10 else text[:19]


@dataclass
class FilterSpec:
    id: str
    kind: str
    column: tuple[str, str]
    cross: bool
    scope: dict[str, Any]
    config: dict[str, Any]
    time_granularity: str | None
    default_control: dict[str, Any] | None

    def in_scope(self, sheet_id: str, visual_id: str) -> bool:
        if "AllSheets" in self.scope:
            return True
        for entry in (self.scope.get("SelectedSheets") or {}).get("SheetVisualScopingConfigurations") or []:
            if entry.get("SheetId") == sheet_id:
                return entry.get("Scope") == "ALL_VISUALS" or visual_id in (entry.get("VisualIds") or [])
        return False

    def applies_to(self, sheet_id: str, visual_id: str, dataset: str, ctx: PageContext) -> bool:
        """In scope, and on the visual's dataset (or, for a cross-dataset filter, on a same-named field)."""
        if not self.in_scope(sheet_id, visual_id):
            return False
        if dataset == self.column[0]:
            return True
        fields = ctx.datasets[dataset]
        return self.cross and (self.column[1] in fields.view.columns or fields.is_calculated(self.column[1]))

    def expression(self, dataset: str, ctx: PageContext) -> Expr:
        return ctx.datasets[dataset].resolve(self.column[1])


def _evaluate(con: duckdb.DuckDBPyConnection, now_sql: str, text: str, params: dict[str, Any]) -> str | None:
    """A rolling-date expression (``addDateTime(-30, 'DD', now())``) evaluated once, as ISO text."""

    def no_columns(name: str) -> str:
        raise ExpressionError(f"a rolling date cannot read column {name!r}")

    sql = SqlTranslator(no_columns, now_sql, {k: v.get("default") for k, v in params.items()})(parse(text))
    value = con.execute(f"SELECT strftime(CAST(({sql}) AS TIMESTAMP), '{ISO}')").fetchall()[0][0]
    return value


def compile_parameters(
    definition: dict[str, Any], con: duckdb.DuckDBPyConnection, now_sql: str, warnings: list[str]
) -> dict[str, Any]:
    parameters: dict[str, Any] = {}
    for wrapper in definition.get("ParameterDeclarations") or []:
        kind, body = next(iter(wrapper.items()))
        name = str(body.get("Name"))
        value_type = {
            "StringParameterDeclaration": "string",
            "IntegerParameterDeclaration": "integer",
            "DecimalParameterDeclaration": "decimal",
            "DateTimeParameterDeclaration": "datetime",
        }.get(kind, "string")
        multi = body.get("ParameterValueType") == "MULTI_VALUED"
        defaults = body.get("DefaultValues") or {}
        values: list[Any] = list(defaults.get("StaticValues") or [])
        if "RollingDate" in defaults:
            try:
                values = [_evaluate(con, now_sql, str(defaults["RollingDate"].get("Expression")), parameters)]
            except (ExpressionError, UnsupportedError, duckdb.Error) as exc:
                raise DefinitionError(f"parameter {name}: rolling date default: {exc}") from exc
        if "DynamicValue" in defaults:
            warnings.append(f"parameter {name}: per-user default (DynamicValue) is not applied; static value used")
        if not values:
            custom = (body.get("ValueWhenUnset") or {}).get("CustomValue")
            values = [custom] if custom is not None else []
        if value_type == "datetime":
            values = [iso(v) for v in values]
        default = values if multi else (values[0] if values else None)
        parameters[name] = {"type": value_type, "multi": multi, "default": default}
        if value_type == "datetime":
            parameters[name]["gran"] = body.get("TimeGranularity", "DAY")
    return parameters


def _filter_config(kind: str, body: dict[str, Any], rolling: Any) -> dict[str, Any]:
    config: dict[str, Any] = {"nulls": body.get("NullOption", "ALL_VALUES")}
    if kind == "category":
        settings = body.get("Configuration") or {}
        inner_kind, inner = next(iter(settings.items())) if settings else ("", {})
        all_values = inner.get("SelectAllOptions") == "FILTER_ALL_VALUES"
        config["nulls"] = inner.get("NullOption", "ALL_VALUES")
        config["op"] = inner.get("MatchOperator", "EQUALS")
        if inner_kind == "CustomFilterConfiguration":
            config["param"] = inner.get("ParameterName")
            value = inner.get("CategoryValue")
            config["values"] = None if all_values or value is None else [value]
        else:
            config["values"] = None if all_values else list(inner.get("CategoryValues") or [])
    elif kind == "numericRange":
        for side, key in (("min", "RangeMinimum"), ("max", "RangeMaximum")):
            bound = body.get(key) or {}
            config[side], config[side + "Param"] = bound.get("StaticValue"), bound.get("Parameter")
        config["incMin"], config["incMax"] = body.get("IncludeMinimum", True), body.get("IncludeMaximum", True)
        config["all"] = body.get("SelectAllOptions") == "FILTER_ALL_VALUES"
    elif kind == "numericEquality":
        config.update(value=body.get("Value"), param=body.get("ParameterName"), op=body.get("MatchOperator", "EQUALS"))
        config["all"] = body.get("SelectAllOptions") == "FILTER_ALL_VALUES"
    elif kind == "timeRange":
        for side, key in (("min", "RangeMinimumValue"), ("max", "RangeMaximumValue")):
            bound = body.get(key) or {}
            config[side] = iso(bound.get("StaticValue")) or rolling(bound.get("RollingDate"))
            config[side + "Param"] = bound.get("Parameter")
        config["incMin"], config["incMax"] = body.get("IncludeMinimum", True), body.get("IncludeMaximum", True)
    elif kind == "relativeDates":
        anchor = body.get("AnchorDateConfiguration") or {}
        exclude = body.get("ExcludePeriodConfiguration") or {}
        config.update(
            type=body.get("RelativeDateType", "LAST"),
            n=body.get("RelativeDateValue", 1),
            param=body.get("ParameterName"),
            anchorParam=anchor.get("ParameterName"),
            exclude=exclude if exclude.get("Status", "ENABLED") == "ENABLED" and exclude else None,
        )
    elif kind == "timeEquality":
        config.update(value=iso(body.get("Value")) or rolling(body.get("RollingDate")), param=body.get("ParameterName"))
    config["gran"] = body.get("TimeGranularity", "DAY") if kind in _TIME_FILTERS else None
    return config


def compile_filters(
    definition: dict[str, Any],
    datasets: dict[str, DatasetFields],
    con: duckdb.DuckDBPyConnection,
    now_sql: str,
    parameters: dict[str, Any],
    warnings: list[str],
) -> list[FilterSpec]:
    specs: list[FilterSpec] = []

    def rolling(config: dict[str, Any] | None) -> str | None:
        if not config:
            return None
        return _evaluate(con, now_sql, str(config.get("Expression")), parameters)

    for group in definition.get("FilterGroups") or []:
        group_id = str(group.get("FilterGroupId"))
        if group.get("Status", "ENABLED") == "DISABLED":
            continue
        for wrapper in group.get("Filters") or []:
            filter_type, body = next(iter(wrapper.items()))
            filter_id = str(body.get("FilterId"))
            kind = _FILTER_KINDS.get(filter_type)
            if kind is None or "AggregationFunction" in body:
                why = "aggregated filters" if kind else filter_type
                warnings.append(f"filter {filter_id}: {why} are not applied by the preview")
                continue
            try:
                column = column_of(body.get("Column"), datasets)
                if is_aggregated(datasets[column[0]].resolve(column[1])):
                    warnings.append(
                        f"filter {filter_id}: a filter on an aggregated field is not applied by the preview"
                    )
                    continue
                config = _filter_config(kind, body, rolling)
            except UnsupportedError as exc:
                warnings.append(f"filter {filter_id}: not applied, {exc}")
                continue
            except (ExpressionError, duckdb.Error) as exc:
                raise DefinitionError(f"filter {filter_id} (filter group {group_id}): {exc}") from exc
            for name in (
                config.get("param"),
                config.get("minParam"),
                config.get("maxParam"),
                config.get("anchorParam"),
            ):
                if name and name not in parameters:
                    raise DefinitionError(f"filter {filter_id}: parameter {name!r} is not declared")
            config.update(id=filter_id, kind=kind)
            specs.append(
                FilterSpec(
                    id=filter_id,
                    kind=kind,
                    column=column,
                    cross=group.get("CrossDataset") == "ALL_DATASETS",
                    scope=group.get("ScopeConfiguration") or {},
                    config=config,
                    time_granularity=config["gran"],
                    default_control=body.get("DefaultFilterControlConfiguration"),
                )
            )
    return specs


def distinct_values(con: duckdb.DuckDBPyConnection, fields: DatasetFields, expr: Expr, now_sql: str) -> list[Any]:
    sql = SqlTranslator(quote, now_sql)(expr)
    rows = con.execute(
        f"SELECT DISTINCT v FROM (SELECT {sql} AS v FROM {fields.view.view}) WHERE v IS NOT NULL "
        f"ORDER BY 1 LIMIT {MAX_CONTROL_VALUES}"
    ).fetchall()
    return [_json_value(row[0]) for row in rows]


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
        kind, body = next(iter(wrapper.items()))
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
        kind, body = next(iter(wrapper.items()))
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


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float):
        return float(f"{value:.15g}")
    if isinstance(value, datetime):
        return value.strftime(ISO)
    return value


def run_cubes(con: duckdb.DuckDBPyConnection, registry: CubeRegistry, views: dict[str, DatasetView]) -> dict[str, Any]:
    """Query every cube; dimension values go into one sorted dictionary per column, rows hold indexes."""
    results = []
    values: dict[str, set[Any]] = {}
    for cube in registry.cubes:
        dims, measures = list(cube.dims), sorted(cube.measures)
        select = [f"{registry.dim_sql[d]} AS {d}" for d in dims] + [
            f"{registry.measure_sql[m]} AS {m}" for m in measures
        ]
        group = " GROUP BY ALL" if dims and measures else ""
        distinct = "DISTINCT " if dims and not measures else ""
        rows = con.execute(f"SELECT {distinct}{', '.join(select)} FROM {views[cube.dataset].view}{group}").fetchall()
        for position, key in enumerate(dims):
            values.setdefault(key, set()).update(_json_value(row[position]) for row in rows)
        results.append((cube, dims, measures, rows))
    dictionaries = {
        key: sorted(found, key=lambda v: (v is None, str(type(v)), v if v is not None else 0))
        for key, found in values.items()
    }
    index = {key: {value: i for i, value in enumerate(entries)} for key, entries in dictionaries.items()}
    cubes = []
    for cube, dims, measures, rows in results:
        columns: dict[str, list[Any]] = {}
        for position, key in enumerate(dims):
            columns[key] = [index[key][_json_value(row[position])] for row in rows]
        for offset, key in enumerate(measures, start=len(dims)):
            columns[key] = [_json_value(row[offset]) for row in rows]
        cubes.append({"dataset": cube.dataset, "rows": len(rows), "columns": columns})
    return {"cubes": cubes, "dictionaries": dictionaries}


def latest_usage_date(tables: Path) -> str | None:
    """The newest ``usage_date=`` partition under any table: the end of the data."""
    dates = [p.name.split("=", 1)[1] for p in tables.glob("*/usage_date=*") if p.is_dir()]
    return max(dates) if dates else None


def build_page(definitions: Definitions, tables: Path, as_of: datetime) -> dict[str, Any]:
    """The whole page description: sheets, visuals, filters, parameters, controls and cube data."""
    now_sql = f"TIMESTAMP '{as_of.strftime('%Y-%m-%d %H:%M:%S')}'"
    con, found = connect(tables)
    views = build_views(con, found, definitions.datasets, now_sql)
    definition = definitions.dashboard.definition
    warnings: list[str] = [
        f"dataset {dataset.label}: row-level security is not applied, every row is shown"
        for dataset in definitions.datasets.values()
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
    con.close()
    options = definition.get("Options") or {}
    return {
        "title": definitions.dashboard.name,
        "dashboardId": definitions.dashboard.dashboard_id,
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
