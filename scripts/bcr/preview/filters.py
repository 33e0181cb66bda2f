"""Parameters with their defaults, and filter groups with their scope: the state the page's controls change.

Defaults that QuickSight computes (rolling dates such as ``addDateTime(-30, 'DD', now())``) are evaluated
once with DuckDB at the report's anchor time; the page evaluates the filters themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from bcr.preview.fields import DatasetFields, column_of
from bcr.preview.plan import ISO
from bcr.preview.sql import SqlTranslator, UnsupportedError
from bcr.preview.visuals import PageContext
from bcr.quicksight.documents import DefinitionError, variant
from bcr.quicksight.expressions import PARAMETER_TYPES, STRING, Expr, ExpressionError, is_aggregated, parse

_FILTER_KINDS = {
    "CategoryFilter": "category",
    "NumericRangeFilter": "numericRange",
    "NumericEqualityFilter": "numericEquality",
    "TimeRangeFilter": "timeRange",
    "RelativeDatesFilter": "relativeDates",
    "TimeEqualityFilter": "timeEquality",
}
_TIME_FILTERS = {"timeRange", "relativeDates", "timeEquality"}


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
        return self.cross and fields.has(self.column[1])

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
        kind, body = variant(wrapper)
        name = str(body.get("Name"))
        value_type = PARAMETER_TYPES.get(kind, STRING).lower()  # how the page compares and formats its values
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
        inner_kind, inner = variant(settings)
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
            filter_type, body = variant(wrapper)
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
