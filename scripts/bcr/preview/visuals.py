"""Each supported visual type's field wells, sorting, limits, formats and options, as the page needs them.

Supported: KPIVisual, BarChartVisual, LineChartVisual (with ForecastConfigurations), PieChartVisual (pie and
donut), TableVisual (aggregated and unaggregated) and PivotTableVisual. Any other type, and any visual whose
fields use something the preview cannot evaluate, becomes a labelled placeholder that says why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from bcr.preview.fields import DatasetFields, column_of
from bcr.preview.plan import GRANULARITIES, CubeRegistry, VisualCompiler, finer
from bcr.preview.sql import UnsupportedError
from bcr.quicksight.documents import DefinitionError, variant
from bcr.quicksight.expressions import Call, Expr, ExpressionError, Num, is_aggregated, parse
from bcr.quicksight.expressions import fields as expression_fields

SUPPORTED = ("KPIVisual", "BarChartVisual", "LineChartVisual", "PieChartVisual", "TableVisual", "PivotTableVisual")
_AGGREGATION = {
    "SUM": ("sum", "Sum"),
    "AVERAGE": ("avg", "Average"),
    "MIN": ("min", "Min"),
    "MAX": ("max", "Max"),
    "COUNT": ("count", "Count"),
    "DISTINCT_COUNT": ("distinct_count", "Count distinct"),
    "VAR": ("var", "Variance"),
    "VARP": ("varp", "Variance population"),
    "STDEV": ("stdev", "Standard deviation"),
    "STDEVP": ("stdevp", "Standard deviation population"),
    "MEDIAN": ("median", "Median"),
}
_WELLS = {  # visual type → (field-wells key, role → well name)
    "KPIVisual": (None, {"values": "Values", "targets": "TargetValues", "trend": "TrendGroups"}),
    "BarChartVisual": (
        "BarChartAggregatedFieldWells",
        {"category": "Category", "values": "Values", "colors": "Colors"},
    ),
    "LineChartVisual": (
        "LineChartAggregatedFieldWells",
        {"category": "Category", "values": "Values", "colors": "Colors"},
    ),
    "PieChartVisual": ("PieChartAggregatedFieldWells", {"category": "Category", "values": "Values"}),
    "TableVisual": ("TableAggregatedFieldWells", {"group": "GroupBy", "values": "Values"}),
    "PivotTableVisual": ("PivotTableAggregatedFieldWells", {"rows": "Rows", "columns": "Columns", "values": "Values"}),
}
_MEASURE_ROLES = {"values", "targets"}


@dataclass
class PageContext:
    """What every visual compile shares."""

    registry: CubeRegistry
    datasets: dict[str, DatasetFields]
    parameters: dict[str, Any]
    filters: list[Any]  # page.FilterSpec
    column_formats: dict[tuple[str, str], Any]
    warnings: list[str] = field(default_factory=list)


def format_spec(config: Any) -> dict[str, Any] | None:
    """The first number, currency, percentage or date format found in a QuickSight format configuration."""
    if not isinstance(config, dict):
        return None
    for key, kind in (
        ("CurrencyDisplayFormatConfiguration", "currency"),
        ("PercentageDisplayFormatConfiguration", "percent"),
        ("NumberDisplayFormatConfiguration", "number"),
    ):
        if key in config:
            body = config[key]
            separators = body.get("SeparatorConfiguration") or {}
            thousands = separators.get("ThousandsSeparator") or {}
            return {
                "kind": kind,
                "decimals": (body.get("DecimalPlacesConfiguration") or {}).get("DecimalPlaces"),
                "scale": body.get("NumberScale", "NONE"),
                "prefix": body.get("Prefix", ""),
                "suffix": body.get("Suffix", ""),
                "symbol": body.get("Symbol", "USD"),
                "thousands": thousands.get("Visibility", "VISIBLE") != "HIDDEN",
                "null": (body.get("NullValueFormatConfiguration") or {}).get("NullString"),
            }
    if "DateTimeFormat" in config:
        return {"kind": "date", "pattern": config["DateTimeFormat"]}
    for value in config.values():
        found = format_spec(value)
        if found is not None:
            return found
    return None


def custom_labels(config: Any) -> dict[str, str]:
    """Field id → CustomLabel, from axis label options and table/pivot field options alike."""
    labels: dict[str, str] = {}

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            label = node.get("CustomLabel")
            target = node.get("FieldId") or (node.get("ApplyTo") or {}).get("FieldId")
            if isinstance(label, str) and isinstance(target, str):
                labels[target] = label
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for item in node:
                visit(item)

    visit(config)
    return labels


def _title(options: dict[str, Any] | None) -> str | None:
    if not options or options.get("Visibility") == "HIDDEN":
        return None
    text = options.get("FormatText") or {}
    return text.get("PlainText") or text.get("RichText")


def placeholder(visual_type: str, visual_id: str, title: str | None, reason: str) -> dict[str, Any]:
    return {"id": visual_id, "type": "placeholder", "visualType": visual_type, "title": title, "reason": reason}


class _Visual:
    """One visual being compiled; errors name the visual and the field."""

    def __init__(self, ctx: PageContext, sheet_id: str, visual_type: str, body: dict[str, Any]) -> None:
        self.ctx, self.sheet_id, self.type, self.body = ctx, sheet_id, visual_type, body
        self.id = str(body.get("VisualId"))
        self.config = body.get("ChartConfiguration") or {}
        self.labels = custom_labels(self.config)
        self.compiler: VisualCompiler | None = None

    def fail(self, field_id: str, exc: Exception) -> DefinitionError:
        return DefinitionError(f"visual {self.id} (sheet {self.sheet_id}): field {field_id}: {exc}")

    def guard(self, field_id: str, work: Callable[[], Any]) -> Any:
        try:
            return work()
        except ExpressionError as exc:
            raise self.fail(field_id, exc) from exc
        except UnsupportedError as exc:
            raise UnsupportedError(f"field {field_id}: {exc}") from exc

    def wells(self) -> dict[str, list[dict[str, Any]]]:
        key, roles = _WELLS[self.type]
        wells = self.config.get("FieldWells") or {}
        if self.type == "TableVisual" and "TableUnaggregatedFieldWells" in wells:
            return {"raw": wells["TableUnaggregatedFieldWells"].get("Values") or []}
        if key is not None:
            wells = wells.get(key) or {}
        if wells.get("SmallMultiples"):
            self.ctx.warnings.append(f"visual {self.id}: small multiples are drawn as one chart")
        return {role: list(wells.get(name) or []) for role, name in roles.items()}

    def note_what_is_not_drawn(self) -> None:
        """Parts of the visual the page leaves out are said, never silently dropped."""
        present = [
            name
            for name, value in (
                ("conditional formatting", self.body.get("ConditionalFormatting")),
                ("custom actions", self.body.get("Actions")),
                ("reference lines", self.config.get("ReferenceLines")),
                ("inline data bars and sparklines", self.config.get("TableInlineVisualizations")),
            )
            if value
        ]
        if present:
            self.ctx.warnings.append(f"visual {self.id}: {', '.join(present)} not drawn")

    def fields(self, wells: dict[str, list[dict[str, Any]]]) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for role, items in wells.items():
            for item in items:
                kind, body = variant(item) if role != "raw" else ("UnaggregatedField", item)
                yield role, kind, body

    def dataset(self, wells: dict[str, list[dict[str, Any]]]) -> str:
        found = []
        for _, _, body in self.fields(wells):
            if "Column" in body:
                identifier, _ = self.guard(
                    str(body.get("FieldId")), lambda b=body: column_of(b["Column"], self.ctx.datasets)
                )
                found.append(identifier)
        if not found:
            found = self._dataset_of_expressions(wells)
        if len(set(found)) > 1:
            raise DefinitionError(
                f"visual {self.id} (sheet {self.sheet_id}): fields from several datasets {sorted(set(found))}"
            )
        return found[0]

    def _dataset_of_expressions(self, wells: dict[str, list[dict[str, Any]]]) -> list[str]:
        """Only calculated measure fields: the one dataset where every field they name exists."""
        names: set[str] = set()
        for _, kind, body in self.fields(wells):
            if kind == "CalculatedMeasureField":
                field_id = str(body.get("FieldId"))
                names |= self.guard(field_id, lambda b=body: expression_fields(parse(str(b.get("Expression", "")))))
        fits = [identifier for identifier, fields in self.ctx.datasets.items() if all(fields.has(n) for n in names)]
        if len(fits) != 1:
            raise DefinitionError(
                f"visual {self.id} (sheet {self.sheet_id}): its calculated fields name {sorted(names)}, found in "
                f"{len(fits)} datasets ({', '.join(fits) or 'none'}): cannot tell which dataset it shows"
            )
        return fits

    def date_grain(self, wells: dict[str, list[dict[str, Any]]], filters: list[Any]) -> str:
        grain = "DAY"
        for _, kind, body in self.fields(wells):
            if kind == "DateDimensionField":
                grain = finer(grain, body.get("DateGranularity", "DAY"))
        for spec in filters:
            grain = finer(grain, spec.time_granularity or "DAY")
        return grain if grain in GRANULARITIES else "DAY"

    def column_format(self, body: dict[str, Any]) -> dict[str, Any] | None:
        reference = body.get("Column") or {}
        return self.ctx.column_formats.get((reference.get("DataSetIdentifier"), reference.get("ColumnName")))

    def dimension(self, kind: str, body: dict[str, Any], raw: bool = False) -> dict[str, Any]:
        assert self.compiler is not None
        field_id = str(body.get("FieldId"))

        def work() -> dict[str, Any]:
            identifier, name = column_of(body.get("Column"), self.ctx.datasets)
            expr = self.ctx.datasets[identifier].resolve(name)
            tree, value_kind = self.compiler.row(expr, truncate=not raw)
            self.compiler.dim_exprs.append(expr)
            granularity = body.get("DateGranularity") or ("DAY" if value_kind == "date" and not raw else None)
            return {
                "id": field_id,
                "x": tree,
                "kind": value_kind,
                "gran": granularity,
                "fmt": format_spec(body.get("FormatConfiguration")) or self.column_format(body),
                "label": self.labels.get(field_id, name),
            }

        return self.guard(field_id, work)

    def measure_expr(self, kind: str, body: dict[str, Any]) -> tuple[Expr, str, str]:
        """The aggregate expression of a measure field, its default label and its value kind."""
        if kind == "CalculatedMeasureField":
            dataset = self.compiler.dataset if self.compiler else ""
            expr = self.ctx.datasets[dataset].resolve_expression(str(body.get("Expression", "")))
            return expr, str(body.get("FieldId")), "number"
        identifier, name = column_of(body.get("Column"), self.ctx.datasets)
        fields = self.ctx.datasets[identifier]
        expr = fields.resolve(name)
        if fields.is_calculated(name) and is_aggregated(expr):
            return expr, name, "number"
        aggregation = body.get("AggregationFunction")
        if kind == "NumericalMeasureField":
            aggregation = aggregation or {}
            if "PercentileAggregation" in aggregation:
                percentile = aggregation["PercentileAggregation"].get("PercentileValue", 50)
                return Call("percentileCont", (expr, Num(percentile))), f"{name} (P{percentile:g})", "number"
            aggregation = aggregation.get("SimpleNumericalAggregation", "SUM")
        function, word = _AGGREGATION.get(str(aggregation or "COUNT"), (None, None))
        if function is None:
            raise ExpressionError(f"aggregation {aggregation!r} is not a QuickSight aggregation")
        value_kind = "date" if kind == "DateMeasureField" and function in {"min", "max"} else "number"
        return Call(function, (expr,)), f"{name} ({word})", value_kind

    def measure(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        assert self.compiler is not None
        field_id = str(body.get("FieldId"))

        def work() -> dict[str, Any]:
            expr, label, value_kind = self.measure_expr(kind, body)
            return {
                "id": field_id,
                "x": self.compiler.measure(expr),
                "kind": value_kind,
                "fmt": format_spec(body.get("FormatConfiguration")) or self.column_format(body),
                "label": self.labels.get(field_id, label),
            }

        return self.guard(field_id, work)

    def sort(self, options: list[dict[str, Any]] | None, measures: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Field sorts by id; a column sort not in the wells adds a hidden measure to sort by."""
        assert self.compiler is not None
        result = []
        for option in options or []:
            if "FieldSort" in option:
                result.append(
                    {"field": option["FieldSort"]["FieldId"], "dir": option["FieldSort"].get("Direction", "ASC")}
                )
            elif "ColumnSort" in option:
                column = option["ColumnSort"]
                hidden_id = f"__sort{len(result)}"
                aggregation = column.get("AggregationFunction") or {}
                numeric = (aggregation.get("NumericalAggregationFunction") or {}).get("SimpleNumericalAggregation")
                wrapper = {"FieldId": hidden_id, "Column": column.get("SortBy")}
                if numeric:
                    wrapper["AggregationFunction"] = {"SimpleNumericalAggregation": numeric}
                    measures.append({**self.measure("NumericalMeasureField", wrapper), "hidden": True})
                else:
                    wrapper["AggregationFunction"] = aggregation.get("CategoricalAggregationFunction", "COUNT")
                    measures.append({**self.measure("CategoricalMeasureField", wrapper), "hidden": True})
                result.append({"field": hidden_id, "dir": column.get("Direction", "ASC")})
        return result

    def compile(self) -> dict[str, Any]:
        wells = self.wells()
        dataset = self.dataset(wells)
        filters = [spec for spec in self.ctx.filters if spec.applies_to(self.sheet_id, self.id, dataset, self.ctx)]
        grain = self.date_grain(wells, filters)
        self.compiler = VisualCompiler(self.ctx.registry, dataset, grain, self.ctx.parameters)
        spec: dict[str, Any] = {"id": self.id, "type": self.type, "dataset": dataset}
        spec["title"] = _title(self.body.get("Title"))
        spec["subtitle"] = _title(self.body.get("Subtitle"))
        roles: dict[str, list[dict[str, Any]]] = {}
        raw = "raw" in wells
        for role, kind, body in self.fields(wells):  # dimensions first: measures may refer to them
            if role not in _MEASURE_ROLES:
                roles.setdefault(role, []).append(self.dimension(kind, body, raw=raw))
        for role, kind, body in self.fields(wells):
            if role in _MEASURE_ROLES:
                roles.setdefault(role, []).append(self.measure(kind, body))
        if raw:
            self.compiler.row_count()  # how many rows each cube row stands for
        spec["roles"] = roles
        spec["filters"] = []
        for filter_spec in filters:
            tree = self.guard(
                f"{filter_spec.id} (filter)",
                lambda f=filter_spec: self.compiler.row(f.expression(dataset, self.ctx))[0],
            )
            spec["filters"].append({"id": filter_spec.id, "x": tree})
        measures = roles.setdefault("values", [])
        spec.update(self.options(measures))
        spec["atoms"] = self.compiler.atoms
        spec["cube"] = self.compiler.finish()
        self.note_what_is_not_drawn()
        return spec

    def options(self, measures: list[dict[str, Any]]) -> dict[str, Any]:
        config, sort = self.config, self.config.get("SortConfiguration") or {}
        if self.type == "KPIVisual":
            kpi = config.get("KPIOptions") or {}
            sparkline = kpi.get("Sparkline") or {}
            return {
                "sort": self.sort(sort.get("TrendGroupSort"), measures),
                "comparison": (kpi.get("Comparison") or {}).get("ComparisonMethod", "PERCENT_DIFFERENCE"),
                "primary": kpi.get("PrimaryValueDisplayType", "ACTUAL"),
                "sparkline": sparkline.get("Type", "AREA") if sparkline.get("Visibility") == "VISIBLE" else None,
                "progressBar": (kpi.get("ProgressBar") or {}).get("Visibility") == "VISIBLE",
            }
        if self.type in {"BarChartVisual", "LineChartVisual", "PieChartVisual"}:
            limit = sort.get("CategoryItemsLimit") or sort.get("CategoryItemsLimitConfiguration") or {}
            colors = sort.get("ColorItemsLimit") or sort.get("ColorItemsLimitConfiguration") or {}
            result = {
                "sort": self.sort(sort.get("CategorySort"), measures),
                "limit": {"n": limit.get("ItemsLimit"), "other": limit.get("OtherCategories", "INCLUDE")},
                "colorLimit": {"n": colors.get("ItemsLimit"), "other": colors.get("OtherCategories", "INCLUDE")},
                "dataLabels": (config.get("DataLabels") or {}).get("Visibility") == "VISIBLE",
                "legend": (config.get("Legend") or {}).get("Visibility") != "HIDDEN",
            }
            if self.type == "BarChartVisual":
                result["orientation"] = config.get("Orientation", "HORIZONTAL")
                result["arrangement"] = config.get("BarsArrangement", "CLUSTERED")
            elif self.type == "LineChartVisual":
                result["lineType"] = config.get("Type", "LINE")
                forecasts = config.get("ForecastConfigurations") or []
                if forecasts:
                    result["forecast"] = forecasts[0].get("ForecastProperties") or {}
            else:
                arc = ((config.get("DonutOptions") or {}).get("ArcOptions") or {}).get("ArcThickness", "WHOLE")
                result["arc"] = arc
                center = ((config.get("DonutOptions") or {}).get("DonutCenterOptions") or {}).get("LabelVisibility")
                result["centerLabel"] = center != "HIDDEN" and arc != "WHOLE"
            return result
        if self.type == "TableVisual":
            totals = config.get("TotalOptions") or {}
            field_options = config.get("FieldOptions") or {}
            hidden = [
                o["FieldId"] for o in field_options.get("SelectedFieldOptions") or [] if o.get("Visibility") == "HIDDEN"
            ]
            return {
                "sort": self.sort(sort.get("RowSort"), measures),
                "pageSize": (sort.get("PaginationConfiguration") or {}).get("PageSize"),
                "totals": totals.get("TotalsVisibility") == "VISIBLE",
                "totalsLabel": totals.get("CustomLabel", "Total"),
                "totalsPlacement": totals.get("Placement", "END"),
                "order": field_options.get("Order") or [],
                "hidden": hidden,
            }
        totals = config.get("TotalOptions") or {}
        pivot_sort = []
        for option in sort.get("FieldSortOptions") or []:
            by = option.get("SortBy") or {}
            if "Field" in by:
                pivot_sort.append(
                    {
                        "on": option.get("FieldId"),
                        "field": by["Field"]["FieldId"],
                        "dir": by["Field"].get("Direction", "ASC"),
                    }
                )
        return {
            "sort": pivot_sort,
            "rowTotals": (totals.get("RowTotalOptions") or {}).get("TotalsVisibility") == "VISIBLE",
            "rowTotalsLabel": (totals.get("RowTotalOptions") or {}).get("CustomLabel", "Total"),
            "columnTotals": (totals.get("ColumnTotalOptions") or {}).get("TotalsVisibility") == "VISIBLE",
            "columnTotalsLabel": (totals.get("ColumnTotalOptions") or {}).get("CustomLabel", "Total"),
        }


def compile_visual(ctx: PageContext, sheet_id: str, wrapper: dict[str, Any]) -> dict[str, Any]:
    """The page's description of one visual, or a labelled placeholder; a broken reference raises."""
    visual_type, body = variant(wrapper)
    visual_id, title = str(body.get("VisualId")), _title(body.get("Title"))
    if visual_type not in SUPPORTED:
        ctx.warnings.append(f"visual {visual_id}: {visual_type} is shown as a placeholder")
        return placeholder(visual_type, visual_id, title, f"{visual_type} is not rendered by the local preview")
    try:
        return _Visual(ctx, sheet_id, visual_type, body).compile()
    except UnsupportedError as exc:
        ctx.warnings.append(f"visual {visual_id}: placeholder, {exc}")
        return placeholder(visual_type, visual_id, title, str(exc))
