"""What the dashboard means, checked against its datasets and against itself.

botocore and cfn-lint check shapes; QuickSight itself checks meaning only after a deploy has started
(asynchronously, one error at a time). This module finds those errors offline: every column a visual,
filter, parameter control or calculated field uses exists in its dataset (``datasets.py`` follows each
dataset from the Glue tables) with a type that fits where it is used, every ``DataSetIdentifier``,
parameter, filter, sheet, visual and field id that is referenced is declared, and the layouts and filter
scopes only name things that exist.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from bcr.quicksight.calculated import CalculatedFields
from bcr.quicksight.datasets import Dataset, resolved_id
from bcr.quicksight.documents import DASHBOARD_FILE, Definitions, dataset_file, variant
from bcr.quicksight.expressions import (
    DATETIME,
    NUMERIC,
    PARAMETER_TYPES,
    STRING,
    ExpressionError,
    Result,
    infer,
    parse,
)

# Where a column sits decides the types it may have (the key holding the ColumnIdentifier's parent).
_CONTEXT_TYPES = {
    "NumericalMeasureField": NUMERIC,
    "NumericalDimensionField": NUMERIC,
    "NumericRangeFilter": NUMERIC,
    "NumericEqualityFilter": NUMERIC,
    "DateDimensionField": frozenset({DATETIME}),
    "DateMeasureField": frozenset({DATETIME}),
    "TimeRangeFilter": frozenset({DATETIME}),
    "TimeEqualityFilter": frozenset({DATETIME}),
    "RelativeDatesFilter": frozenset({DATETIME}),
    "CategoricalDimensionField": frozenset({STRING}),
    "CategoricalMeasureField": frozenset({STRING}),
    "CategoryFilter": frozenset({STRING}),
}
_MEASURES = ("NumericalMeasureField", "CategoricalMeasureField", "DateMeasureField")
_DIMENSIONS = ("NumericalDimensionField", "CategoricalDimensionField", "DateDimensionField")
_RANGE_BOUNDS = ("RangeMinimumValue", "RangeMaximumValue", "RangeMinimum", "RangeMaximum")
_CONTROL_ELEMENTS = {"FILTER_CONTROL": "filter control", "PARAMETER_CONTROL": "parameter control"}


def semantic_problems(definitions: Definitions) -> list[str]:
    """Every problem found, each as ``file path: message``."""
    problems: list[str] = []
    data_source_id = resolved_id(definitions.data_source.get("DataSourceId"), "data_source.json", problems)
    datasets = {
        name: Dataset.evaluate(name, document, data_source_id, problems)
        for name, document in definitions.datasets.items()
    }
    _DashboardCheck(definitions.dashboard, datasets, problems).run()
    return problems


@dataclass
class _Filter:
    group: int
    dataset: str | None
    default_control: bool
    sheets: set[str] = field(default_factory=set)
    all_sheets: bool = False


class _DashboardCheck:
    """Cross-references inside dashboard.json, and its columns against the datasets."""

    def __init__(self, dashboard: dict[str, Any], datasets: Mapping[str, Dataset], problems: list[str]) -> None:
        self.definition: dict[str, Any] = dashboard.get("Definition") or {}
        self.datasets, self.problems = datasets, problems
        self.declared: dict[str, Dataset] = {}
        self.columns: dict[str, dict[str, Result]] = {}
        self.parameters: dict[str, tuple[str, bool]] = {}
        self.visuals: dict[str, tuple[str, set[str]]] = {}  # visual id -> (sheet id, datasets it uses)

    def problem(self, path: str, message: str) -> None:
        self.problems.append(f"{DASHBOARD_FILE} {path}: {message}")

    def run(self) -> None:
        self.declarations()
        self.parameter_declarations()
        self.calculated_fields()
        self.references()
        self.sheets()
        self.filters()

    def declarations(self) -> None:
        for index, declaration in enumerate(self.definition.get("DataSetIdentifierDeclarations") or []):
            path, identifier = f"Definition.DataSetIdentifierDeclarations[{index}]", declaration.get("Identifier")
            dataset = self.datasets.get(identifier)
            if dataset is None:
                self.problem(path, f"dataset {identifier!r} has no file {dataset_file(identifier)}")
                continue
            arn = resolved_id(declaration.get("DataSetArn"), f"{DASHBOARD_FILE} {path}.DataSetArn", self.problems)
            if not arn.endswith(f":dataset/{dataset.id}"):
                self.problem(f"{path}.DataSetArn", f"{arn!r} is not the dataset of {dataset_file(identifier)}")
            self.declared[identifier] = dataset
            self.columns[identifier] = {name: Result(kind) for name, kind in dataset.columns.items()}
        for name in sorted(set(self.datasets) - set(self.declared)):
            self.problems.append(f"{dataset_file(name)}: not used by {DASHBOARD_FILE} (declare it or delete it)")

    def parameter_declarations(self) -> None:
        for index, declaration in enumerate(self.definition.get("ParameterDeclarations") or []):
            kind, body = variant(declaration)
            name = body.get("Name")
            if name in self.parameters:
                self.problem(f"Definition.ParameterDeclarations[{index}]", f"parameter {name!r} is declared twice")
            multi = body.get("ParameterValueType") == "MULTI_VALUED"
            self.parameters[name] = (PARAMETER_TYPES.get(kind, STRING), multi)

    def parameter_type(self, name: str) -> str:
        if name not in self.parameters:
            raise ExpressionError(f"unknown parameter ${{{name}}}")
        return self.parameters[name][0]

    def calculated_fields(self) -> None:
        datasets = {identifier: CalculatedFields(identifier, columns) for identifier, columns in self.columns.items()}
        paths: dict[tuple[str, str], str] = {}
        for index, calculated in enumerate(self.definition.get("CalculatedFields") or []):
            path = f"Definition.CalculatedFields[{index}]"
            identifier, name = calculated.get("DataSetIdentifier"), calculated.get("Name")
            if identifier not in datasets:
                continue  # reported as an undeclared identifier by references()
            if datasets[identifier].has(name):
                self.problem(path, f"{name!r} already exists in dataset {identifier!r}")
                continue
            datasets[identifier].calculated[name] = calculated.get("Expression", "")
            paths[(identifier, name)] = path
        results: dict[tuple[str, str], Result] = {}
        for (identifier, name), path in paths.items():
            try:
                results[(identifier, name)] = datasets[identifier].infer(
                    name, self.columns[identifier].__getitem__, self.parameter_type
                )
            except ExpressionError as exc:
                self.problem(path, str(exc))
                results[(identifier, name)] = Result(None)
        for (identifier, name), result in results.items():
            self.columns[identifier][name] = result

    def references(self) -> None:
        for path, keys, node in _dicts(self.definition, "Definition"):
            identifier = node.get("DataSetIdentifier")
            if isinstance(identifier, str) and identifier not in self.declared:
                self.problem(path, f"dataset identifier {identifier!r} is not in DataSetIdentifierDeclarations")
            elif isinstance(identifier, str) and "ColumnName" in node and len(node) == 2:
                self.column_reference(path, keys, identifier, node["ColumnName"])
            if keys and keys[-1] in _MEASURES + _DIMENSIONS:
                self.aggregation(path, keys[-1], node)
            self.parameter_references(path, keys, node)
            kpi_wells = keys[-3:] == ("KPIVisual", "ChartConfiguration", "FieldWells")
            if kpi_wells and node.get("TargetValues") and node.get("TrendGroups"):
                self.problem(path, "a KPI takes TargetValues or TrendGroups, not both")

    def column_reference(self, path: str, keys: tuple[str, ...], identifier: str, name: str) -> None:
        result = self.columns[identifier].get(name)
        if result is None:
            self.problem(path, f"column {name!r} does not exist in dataset {identifier!r}")
            return
        if len(keys) >= 2 and keys[-1] == "Column" and keys[-2] in _CONTEXT_TYPES:
            allowed = _CONTEXT_TYPES[keys[-2]]
            if result.type is not None and result.type not in allowed:
                self.problem(
                    path, f"{identifier}.{name} is {result.type}; a {keys[-2]} needs {' or '.join(sorted(allowed))}"
                )

    def aggregation(self, path: str, kind: str, node: Mapping[str, Any]) -> None:
        column = node.get("Column") or {}
        result = self.columns.get(column.get("DataSetIdentifier"), {}).get(column.get("ColumnName"))
        if result is None or not result.aggregated:
            return
        if kind in _DIMENSIONS:
            self.problem(path, f"{column['ColumnName']!r} is aggregated and cannot be a dimension")
        elif "AggregationFunction" in node:
            self.problem(path, f"{column['ColumnName']!r} is already aggregated; drop its AggregationFunction")

    def parameter_references(self, path: str, keys: tuple[str, ...], node: Mapping[str, Any]) -> None:
        names = [node[key] for key in ("ParameterName", "SourceParameterName") if isinstance(node.get(key), str)]
        if keys and keys[-1] in _RANGE_BOUNDS and isinstance(node.get("Parameter"), str):
            names.append(node["Parameter"])
        for name in names:
            if name not in self.parameters:
                self.problem(path, f"parameter {name!r} is not declared in ParameterDeclarations")
        custom = keys and keys[-1] == "CustomFilterConfiguration"
        if custom and self.parameters.get(node.get("ParameterName"), ("", False))[1]:
            self.problem(path, "a multi-valued parameter cannot drive a CustomFilterConfiguration")
        if keys and keys[-1] == "RollingDate":
            try:
                expression = parse(node.get("Expression", ""))
                infer(expression, _no_column, self.parameter_type)
            except ExpressionError as exc:
                self.problem(path, str(exc))

    def sheets(self) -> None:
        sheets = self.definition.get("Sheets") or []
        _duplicates([sheet.get("SheetId") for sheet in sheets], "sheet id", self.problem)
        field_ids: list[str] = []
        controls: list[str] = []
        for index, sheet in enumerate(sheets):
            path, sheet_id = f"Definition.Sheets[{index}]", sheet.get("SheetId")
            elements = {"TEXT_BOX": {box.get("SheetTextBoxId") for box in sheet.get("TextBoxes") or []}}
            elements["VISUAL"] = set()
            for position, visual in enumerate(sheet.get("Visuals") or []):
                kind, body = variant(visual)
                visual_id = body.get("VisualId")
                if visual_id in self.visuals:
                    self.problem(f"{path}.Visuals[{position}]", f"visual id {visual_id!r} is used twice")
                self.visuals[visual_id] = (sheet_id, _datasets_used(body))
                elements["VISUAL"].add(visual_id)
                field_ids += self.field_ids(f"{path}.Visuals[{position}].{kind}", body)
            elements["FILTER_CONTROL"] = _control_ids(sheet.get("FilterControls"), "FilterControlId")
            elements["PARAMETER_CONTROL"] = _control_ids(sheet.get("ParameterControls"), "ParameterControlId")
            controls += [*elements["FILTER_CONTROL"], *elements["PARAMETER_CONTROL"]]
            self.layout(path, sheet, elements)
        _duplicates(field_ids, "field id", self.problem)
        _duplicates(controls, "control id", self.problem)

    def field_ids(self, path: str, visual: Mapping[str, Any]) -> list[str]:
        """Field ids a visual defines; every FieldId it refers to (sorts, labels, tooltips) must be one of them."""
        defined, referred = [], []
        for node_path, keys, node in _dicts(visual, path):
            if isinstance(node.get("FieldId"), str):
                # An axis label's ApplyTo names a field by id and column: a reference, not a field.
                is_field = ("Column" in node or "Expression" in node) and keys[-1:] != ("ApplyTo",)
                (defined if is_field else referred).append((node_path, node["FieldId"]))
        names = {name for _, name in defined}
        for node_path, name in referred:
            if name not in names:
                self.problem(node_path, f"field id {name!r} is not a field of this visual")
        return [name for _, name in defined]

    def layout(self, path: str, sheet: Mapping[str, Any], elements: Mapping[str, set[str]]) -> None:
        placed: Counter[tuple[str, str]] = Counter()
        for kind in ("Layouts", "SheetControlLayouts"):
            layouts = sheet.get(kind) or []
            if kind == "Layouts" and len(layouts) != 1:
                self.problem(f"{path}.Layouts", f"a sheet has exactly one layout, not {len(layouts)}")
            for number, layout in enumerate(layouts):
                configuration = layout.get("Configuration") or {}
                grid = configuration.get("GridLayout") or configuration.get("FreeFormLayout") or {}
                for position, element in enumerate(grid.get("Elements") or []):
                    element_type, element_id = element.get("ElementType"), element.get("ElementId")
                    where = f"{path}.{kind}[{number}].Elements[{position}]"
                    if element_id not in elements.get(element_type, set()):
                        self.problem(where, f"no {element_type} {element_id!r} on this sheet")
                    placed[(element_type, element_id)] += 1
        for element_type, ids in elements.items():
            for element_id in sorted(ids - {None}):
                count = placed[(element_type, element_id)]
                if count != 1:
                    what = _CONTROL_ELEMENTS.get(element_type, element_type.lower().replace("_", " "))
                    self.problem(path, f"{what} {element_id!r} is placed {count} times in the layouts, not once")

    def filters(self) -> None:
        filters: dict[str, _Filter] = {}
        sheet_ids = {sheet.get("SheetId") for sheet in self.definition.get("Sheets") or []}
        for index, group in enumerate(self.definition.get("FilterGroups") or []):
            path = f"Definition.FilterGroups[{index}]"
            members = [variant(item)[1] for item in group.get("Filters") or []]
            datasets = {(member.get("Column") or {}).get("DataSetIdentifier") for member in members}
            scope = group.get("ScopeConfiguration") or {}
            sheets = set(sheet_ids) if "AllSheets" in scope else set()
            selected = (scope.get("SelectedSheets") or {}).get("SheetVisualScopingConfigurations") or []
            for position, scoped in enumerate(selected):
                sheets.add(scoped.get("SheetId"))
                self.scope(f"{path}.ScopeConfiguration.SelectedSheets[{position}]", scoped, sheet_ids, group, datasets)
            for member in members:
                if member.get("FilterId") in filters:
                    self.problem(path, f"filter id {member.get('FilterId')!r} is used twice")
                filters[member.get("FilterId")] = _Filter(
                    index,
                    (member.get("Column") or {}).get("DataSetIdentifier"),
                    "DefaultFilterControlConfiguration" in member,
                    sheets,
                    "AllSheets" in scope,
                )
        for index, sheet in enumerate(self.definition.get("Sheets") or []):
            for position, control in enumerate(sheet.get("FilterControls") or []):
                path = f"Definition.Sheets[{index}].FilterControls[{position}]"
                self.filter_control(path, sheet.get("SheetId"), control, filters)

    def scope(
        self, path: str, scoped: Mapping[str, Any], sheet_ids: set[str], group: Mapping[str, Any], datasets: set[Any]
    ) -> None:
        if scoped.get("SheetId") not in sheet_ids:
            self.problem(path, f"no sheet {scoped.get('SheetId')!r}")
        for visual_id in scoped.get("VisualIds") or []:
            sheet_id, used = self.visuals.get(visual_id, (None, set()))
            if sheet_id != scoped.get("SheetId"):
                self.problem(path, f"no visual {visual_id!r} on sheet {scoped.get('SheetId')!r}")
            elif group.get("CrossDataset") == "SINGLE_DATASET" and not datasets & used:
                self.problem(path, f"visual {visual_id!r} does not use dataset {', '.join(map(str, datasets))}")

    def filter_control(
        self, path: str, sheet_id: str, control: Mapping[str, Any], filters: Mapping[str, _Filter]
    ) -> None:
        control_type, body = variant(control)
        target = filters.get(body.get("SourceFilterId"))
        if target is None:
            self.problem(path, f"no filter {body.get('SourceFilterId')!r}")
            return
        across = target.all_sheets or len(target.sheets) > 1
        if across and control_type != "CrossSheet":
            self.problem(path, "the filter applies to several sheets: its controls must be CrossSheet controls")
        elif across and not target.default_control:
            self.problem(path, "a CrossSheet control needs DefaultFilterControlConfiguration on its filter")
        elif not across and control_type == "CrossSheet":
            self.problem(path, "a CrossSheet control needs a filter scoped to several sheets")
        if sheet_id not in target.sheets:
            self.problem(path, f"the filter does not apply to sheet {sheet_id!r}, so its control would do nothing")


def _no_column(name: str) -> Result:
    raise ExpressionError(f"a rolling date cannot use column {{{name}}}")


def _control_ids(controls: list[dict[str, Any]] | None, key: str) -> set[str]:
    return {variant(control)[1].get(key) for control in controls or []}


def _datasets_used(visual: Mapping[str, Any]) -> set[str]:
    return {
        node["DataSetIdentifier"] for _, _, node in _dicts(visual, "") if isinstance(node.get("DataSetIdentifier"), str)
    }


def _duplicates(values: list[Any], what: str, report: Any) -> None:
    for value, count in sorted(Counter(values).items(), key=lambda item: str(item[0])):
        if count > 1:
            report("Definition", f"{what} {value!r} is used {count} times")


def _dicts(node: Any, path: str, keys: tuple[str, ...] = ()) -> Iterator[tuple[str, tuple[str, ...], dict[str, Any]]]:
    """Every object in ``node`` with its path and the chain of keys above it (list positions left out)."""
    if isinstance(node, dict):
        yield path, keys, node
        for key, value in node.items():
            yield from _dicts(value, f"{path}.{key}" if path else key, (*keys, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _dicts(value, f"{path}[{index}]", keys)
