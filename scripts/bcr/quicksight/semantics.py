"""What the definitions mean, checked against each other and against the tables the job writes.

botocore and cfn-lint check shapes; QuickSight itself checks meaning only after a deploy has started
(asynchronously, one error at a time). This module finds those errors offline: every dataset column exists
in its Glue table (``glue/bedrock_costs/schemas.py``) with a compatible type, every column a visual, filter,
parameter or calculated field uses exists in its dataset with a type that fits where it is used, every
``DataSetIdentifier``, parameter, filter, sheet, visual and field id that is referenced is declared, and
the layouts and filter scopes only name things that exist.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import types as T

from bcr.quicksight.documents import DASHBOARD_FILE, DATASETS_DIR, Definitions
from bcr.quicksight.expressions import (
    BOOLEAN,
    DATETIME,
    DECIMAL,
    INTEGER,
    NUMERIC,
    STRING,
    ExpressionError,
    Result,
    infer,
    parse,
    references,
)
from bcr.quicksight.placeholders import EXAMPLE, PlaceholderError, resolve
from bedrock_costs.schemas import DAILY_COSTS, INVOCATION_TAGS, INVOCATIONS, PIPELINE_RUNS, REJECTED_RECORDS

TABLE_SCHEMAS: dict[str, T.StructType] = {
    "invocations": INVOCATIONS,
    "daily_costs": DAILY_COSTS,
    "invocation_tags": INVOCATION_TAGS,
    "rejected_records": REJECTED_RECORDS,
    "pipeline_runs": PIPELINE_RUNS,
}
_SCHEMAS_FILE = "glue/bedrock_costs/schemas.py"
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
_PARAMETER_TYPES = {
    "StringParameterDeclaration": STRING,
    "IntegerParameterDeclaration": INTEGER,
    "DecimalParameterDeclaration": DECIMAL,
    "DateTimeParameterDeclaration": DATETIME,
}
_RANGE_BOUNDS = ("RangeMinimumValue", "RangeMaximumValue", "RangeMinimum", "RangeMaximum")
_CONTROL_ELEMENTS = {"FILTER_CONTROL": "filter control", "PARAMETER_CONTROL": "parameter control"}


def spark_to_quicksight(data_type: T.DataType) -> str | None:
    """The QuickSight input column type that reads a Parquet/Glue column of this Spark type (None: unreadable)."""
    if isinstance(data_type, T.StringType):
        return STRING
    if isinstance(data_type, T.IntegerType | T.LongType | T.ShortType):
        return INTEGER
    if isinstance(data_type, T.DecimalType | T.DoubleType | T.FloatType):
        return DECIMAL
    if isinstance(data_type, T.TimestampType | T.DateType):
        return DATETIME
    if isinstance(data_type, T.BooleanType):
        return BOOLEAN
    return None


def semantic_problems(definitions: Definitions) -> list[str]:
    """Every problem found, each as ``file path: message``."""
    problems: list[str] = []
    data_source_id = _resolved(definitions.data_source.get("DataSourceId"), "data_source.json", problems)
    datasets = {
        name: _Dataset.evaluate(name, document, data_source_id, problems)
        for name, document in definitions.datasets.items()
    }
    _DashboardCheck(definitions.dashboard, datasets, problems).run()
    return problems


def _resolved(value: Any, where: str, problems: list[str]) -> str:
    try:
        resolved = resolve(value, EXAMPLE.values(), where)
    except PlaceholderError as exc:
        problems.append(str(exc))
        return ""
    return resolved if isinstance(resolved, str) else ""


@dataclass
class _Dataset:
    """A dataset's id and the columns it hands to analyses, after its joins and transforms."""

    id: str
    columns: dict[str, str | None]

    @classmethod
    def evaluate(cls, name: str, document: dict[str, Any], data_source_id: str, problems: list[str]) -> _Dataset:
        where = f"{DATASETS_DIR}/{name}.json"
        physical = {
            table_id: _physical_columns(table, f"{where} PhysicalTableMap.{table_id}", data_source_id, problems)
            for table_id, table in (document.get("PhysicalTableMap") or {}).items()
        }
        logical = document.get("LogicalTableMap") or {}
        if not logical:
            if len(physical) != 1:
                problems.append(f"{where}: without a LogicalTableMap a dataset reads exactly one physical table")
            columns = next(iter(physical.values()), {})
        else:
            columns = _LogicalTables(logical, physical, where, problems).output()
        return cls(_resolved(document.get("DataSetId"), f"{where} DataSetId", problems), columns)


def _physical_columns(
    table: dict[str, Any], where: str, data_source_id: str, problems: list[str]
) -> dict[str, str | None]:
    relational = table.get("RelationalTable")
    if relational is None:
        problems.append(f"{where}: only RelationalTable sources can be held to the table contract; use one")
        return {}
    source = _resolved(relational.get("DataSourceArn"), f"{where}.DataSourceArn", problems)
    if data_source_id and not source.endswith(f":datasource/{data_source_id}"):
        problems.append(f"{where}.DataSourceArn: {source!r} is not the data source of data_source.json")
    table_name = relational.get("Name")
    schema = TABLE_SCHEMAS.get(table_name)
    if schema is None:
        problems.append(f"{where}.Name: {table_name!r} is not a table of {_SCHEMAS_FILE} ({', '.join(TABLE_SCHEMAS)})")
    columns: dict[str, str | None] = {}
    for index, column in enumerate(relational.get("InputColumns") or []):
        name, declared = column.get("Name"), column.get("Type")
        columns[name] = declared
        if schema is None:
            continue
        if name not in schema.fieldNames():
            problems.append(
                f"{where}.InputColumns[{index}]: column {name!r} is not in table {table_name} ({_SCHEMAS_FILE})"
            )
            continue
        expected = spark_to_quicksight(schema[name].dataType)
        if expected is None:
            problems.append(
                f"{where}.InputColumns[{index}]: {table_name}.{name} is {schema[name].dataType.simpleString()}, "
                "which QuickSight cannot read"
            )
        elif declared != expected:
            problems.append(
                f"{where}.InputColumns[{index}]: {table_name}.{name} is "
                f"{schema[name].dataType.simpleString()}, read it as {expected}, not {declared}"
            )
    return columns


class _LogicalTables:
    """Columns of each logical table: its source (a physical table or a join) and then its transforms."""

    def __init__(
        self,
        logical: Mapping[str, Any],
        physical: Mapping[str, dict[str, str | None]],
        where: str,
        problems: list[str],
    ) -> None:
        self.logical, self.physical, self.where, self.problems = logical, physical, where, problems
        self.done: dict[str, dict[str, str | None]] = {}

    def output(self) -> dict[str, str | None]:
        operands = {
            operand
            for table in self.logical.values()
            for operand in _join_operands((table.get("Source") or {}).get("JoinInstruction"))
        }
        roots = [table_id for table_id in self.logical if table_id not in operands]
        if len(roots) != 1:
            self.problems.append(f"{self.where} LogicalTableMap: expected one final table, found {roots or 'none'}")
            return {}
        return self.columns(roots[0], ())

    def columns(self, table_id: str, visiting: tuple[str, ...]) -> dict[str, str | None]:
        if table_id in self.done:
            return self.done[table_id]
        where = f"{self.where} LogicalTableMap.{table_id}"
        if table_id in visiting or table_id not in self.logical:
            self.problems.append(f"{where}: {'joins itself' if table_id in visiting else 'is not defined'}")
            return {}
        table = self.logical[table_id]
        source = table.get("Source") or {}
        if "PhysicalTableId" in source:
            if source["PhysicalTableId"] not in self.physical:
                self.problems.append(f"{where}.Source: no physical table {source['PhysicalTableId']!r}")
            columns = dict(self.physical.get(source["PhysicalTableId"], {}))
        elif "JoinInstruction" in source:
            columns = self.join(source["JoinInstruction"], f"{where}.Source.JoinInstruction", (*visiting, table_id))
        else:
            self.problems.append(f"{where}.Source: neither a physical table nor a join")
            columns = {}
        for index, transform in enumerate(table.get("DataTransforms") or []):
            _transform(columns, transform, f"{where}.DataTransforms[{index}]", self.problems)
        self.done[table_id] = columns
        return columns

    def join(self, join: Mapping[str, Any], where: str, visiting: tuple[str, ...]) -> dict[str, str | None]:
        left = self.columns(join.get("LeftOperand", ""), visiting)
        right = self.columns(join.get("RightOperand", ""), visiting)
        for name in sorted(set(left) & set(right)):
            self.problems.append(f"{where}: column {name!r} is on both sides; rename one before joining")
        columns = {**left, **right}
        try:
            used = references(parse(join.get("OnClause", "")), "column")
        except ExpressionError as exc:
            self.problems.append(f"{where}.OnClause: {exc}")
            used = set()
        for name in sorted(used - set(columns)):
            self.problems.append(f"{where}.OnClause: no column {name!r} on either side")
        return columns


def _join_operands(join: Mapping[str, Any] | None) -> tuple[str, ...]:
    return (join.get("LeftOperand", ""), join.get("RightOperand", "")) if join else ()


def _transform(columns: dict[str, str | None], transform: Mapping[str, Any], where: str, problems: list[str]) -> None:
    """Apply one data-prep step to ``columns`` in place, reporting any column it names that is not there."""

    def need(name: str, what: str) -> bool:
        if name in columns:
            return True
        problems.append(f"{where}: {what} column {name!r} does not exist at this step")
        return False

    operation, body = _variant(transform)
    if operation == "ProjectOperation":
        kept = [name for name in body.get("ProjectedColumns", []) if need(name, "projected")]
        for name in list(columns):
            if name not in kept:
                del columns[name]
    elif operation == "RenameColumnOperation":
        if need(body.get("ColumnName", ""), "renamed"):
            if body.get("NewColumnName") in columns:
                problems.append(f"{where}: column {body['NewColumnName']!r} already exists")
            columns[body.get("NewColumnName", "")] = columns.pop(body["ColumnName"])
    elif operation == "CastColumnTypeOperation":
        if need(body.get("ColumnName", ""), "cast"):
            columns[body["ColumnName"]] = body.get("NewColumnType")
    elif operation in ("TagColumnOperation", "UntagColumnOperation"):
        need(body.get("ColumnName", ""), "tagged")
    elif operation in ("CreateColumnsOperation", "FilterOperation"):
        created = body.get("Columns") or [{"ColumnName": None, "Expression": body.get("ConditionExpression", "")}]
        for column in created:
            try:
                result = infer(parse(column.get("Expression", "")), lambda name: _column(columns, name), _no_parameter)
            except ExpressionError as exc:
                problems.append(f"{where}: {exc}")
                continue
            if column.get("ColumnName"):
                columns[column["ColumnName"]] = result.type


def _column(columns: Mapping[str, str | None], name: str) -> Result:
    if name not in columns:
        raise ExpressionError(f"unknown column {{{name}}}")
    return Result(columns[name])


def _no_parameter(name: str) -> str:
    raise ExpressionError(f"dataset expressions cannot use analysis parameter ${{{name}}}")


@dataclass
class _Filter:
    group: int
    dataset: str | None
    default_control: bool
    sheets: set[str] = field(default_factory=set)
    all_sheets: bool = False


class _DashboardCheck:
    """Cross-references inside dashboard.json, and its columns against the datasets."""

    def __init__(self, dashboard: dict[str, Any], datasets: Mapping[str, _Dataset], problems: list[str]) -> None:
        self.definition: dict[str, Any] = dashboard.get("Definition") or {}
        self.datasets, self.problems = datasets, problems
        self.declared: dict[str, _Dataset] = {}
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
                self.problem(path, f"dataset {identifier!r} has no file {DATASETS_DIR}/{identifier}.json")
                continue
            arn = _resolved(declaration.get("DataSetArn"), f"{DASHBOARD_FILE} {path}.DataSetArn", self.problems)
            if not arn.endswith(f":dataset/{dataset.id}"):
                self.problem(f"{path}.DataSetArn", f"{arn!r} is not the dataset of {DATASETS_DIR}/{identifier}.json")
            self.declared[identifier] = dataset
            self.columns[identifier] = {name: Result(kind) for name, kind in dataset.columns.items()}
        for name in sorted(set(self.datasets) - set(self.declared)):
            self.problems.append(f"{DATASETS_DIR}/{name}.json: not used by {DASHBOARD_FILE} (declare it or delete it)")

    def parameter_declarations(self) -> None:
        for index, declaration in enumerate(self.definition.get("ParameterDeclarations") or []):
            kind, body = _variant(declaration)
            name = body.get("Name")
            if name in self.parameters:
                self.problem(f"Definition.ParameterDeclarations[{index}]", f"parameter {name!r} is declared twice")
            multi = body.get("ParameterValueType") == "MULTI_VALUED"
            self.parameters[name] = (_PARAMETER_TYPES.get(kind, STRING), multi)

    def parameter_type(self, name: str) -> str:
        if name not in self.parameters:
            raise ExpressionError(f"unknown parameter ${{{name}}}")
        return self.parameters[name][0]

    def calculated_fields(self) -> None:
        fields: dict[tuple[str, str], tuple[str, str]] = {}
        for index, calculated in enumerate(self.definition.get("CalculatedFields") or []):
            path = f"Definition.CalculatedFields[{index}]"
            key = (calculated.get("DataSetIdentifier"), calculated.get("Name"))
            if key[0] not in self.columns:
                continue  # reported as an undeclared identifier by references()
            if key in fields or key[1] in self.columns[key[0]]:
                self.problem(path, f"{key[1]!r} already exists in dataset {key[0]!r}")
                continue
            fields[key] = (calculated.get("Expression", ""), path)
        results: dict[tuple[str, str], Result] = {}

        def column(identifier: str, name: str, visiting: tuple[str, ...]) -> Result:
            if name in self.columns[identifier]:
                return self.columns[identifier][name]
            key = (identifier, name)
            if key not in fields:
                raise ExpressionError(f"unknown column {{{name}}} in dataset {identifier!r}")
            if key not in results:
                if name in visiting:
                    raise ExpressionError(f"calculated fields refer to each other in a cycle: {' -> '.join(visiting)}")
                expression, _ = fields[key]
                lookup = lambda other: column(identifier, other, (*visiting, name))  # noqa: E731
                results[key] = infer(parse(expression), lookup, self.parameter_type)
            return results[key]

        for (identifier, name), (_, path) in fields.items():
            try:
                column(identifier, name, ())
            except ExpressionError as exc:
                self.problem(path, f"{name}: {exc}")
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
                infer(expression, lambda name: _column({}, name), self.parameter_type)
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
                _, body = _variant(visual)
                visual_id = body.get("VisualId")
                if visual_id in self.visuals:
                    self.problem(f"{path}.Visuals[{position}]", f"visual id {visual_id!r} is used twice")
                self.visuals[visual_id] = (sheet_id, _datasets_used(body))
                elements["VISUAL"].add(visual_id)
                field_ids += self.field_ids(f"{path}.Visuals[{position}]", body)
            elements["FILTER_CONTROL"] = _control_ids(sheet.get("FilterControls"), "FilterControlId")
            elements["PARAMETER_CONTROL"] = _control_ids(sheet.get("ParameterControls"), "ParameterControlId")
            controls += [*elements["FILTER_CONTROL"], *elements["PARAMETER_CONTROL"]]
            self.layout(path, sheet, elements)
        _duplicates(field_ids, "field id", self.problem)
        _duplicates(controls, "control id", self.problem)

    def field_ids(self, path: str, visual: Mapping[str, Any]) -> list[str]:
        """Field ids a visual defines; every FieldId it refers to (sorts, labels, tooltips) must be one of them."""
        defined, referred = [], []
        for node_path, _, node in _dicts(visual, path):
            if isinstance(node.get("FieldId"), str):
                is_field = "Column" in node or "Expression" in node
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
            members = [_variant(item)[1] for item in group.get("Filters") or []]
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
        variant, body = _variant(control)
        target = filters.get(body.get("SourceFilterId"))
        if target is None:
            self.problem(path, f"no filter {body.get('SourceFilterId')!r}")
            return
        across = target.all_sheets or len(target.sheets) > 1
        if across and variant != "CrossSheet":
            self.problem(path, "the filter applies to several sheets: its controls must be CrossSheet controls")
        elif across and not target.default_control:
            self.problem(path, "a CrossSheet control needs DefaultFilterControlConfiguration on its filter")
        elif not across and variant == "CrossSheet":
            self.problem(path, "a CrossSheet control needs a filter scoped to several sheets")
        if sheet_id not in target.sheets:
            self.problem(path, f"the filter does not apply to sheet {sheet_id!r}, so its control would do nothing")


def _variant(union: Any) -> tuple[str, dict[str, Any]]:
    """The one member of a union structure (``{"KPIVisual": {...}}``) as (name, body); empty if malformed."""
    if isinstance(union, dict) and len(union) == 1:
        (name, body), *_ = union.items()
        if isinstance(body, dict):
            return name, body
    return "", {}


def _control_ids(controls: list[dict[str, Any]] | None, key: str) -> set[str]:
    return {_variant(control)[1].get(key) for control in controls or []}


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
