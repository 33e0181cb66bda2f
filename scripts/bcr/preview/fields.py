"""What a ``{DataSetIdentifier, ColumnName}`` means: a dataset column, or a calculated field inlined down to
dataset columns, so every later stage sees one expression tree per field."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bcr.preview.datasets import DatasetView
from bcr.preview.sql import UnsupportedError
from bcr.quicksight.documents import DefinitionError
from bcr.quicksight.expressions import Expr, ExpressionError, Field, fields, parse, replace_fields


@dataclass
class DatasetFields:
    """The columns and calculated fields of one dataset identifier."""

    view: DatasetView
    calculated: dict[str, str] = field(default_factory=dict)  # name → expression text
    _resolved: dict[str, Expr] = field(default_factory=dict)

    def resolve(self, name: str, trail: tuple[str, ...] = ()) -> Expr:
        """A column as ``Field``; a calculated field as its tree with other calculated fields inlined."""
        if name in self.calculated:
            if name in trail:
                raise ExpressionError(f"calculated fields refer to each other in a cycle: {' → '.join((*trail, name))}")
            if name not in self._resolved:
                self._resolved[name] = self.resolve_expression(self.calculated[name], (*trail, name), name)
            return self._resolved[name]
        if name in self.view.columns:
            return Field(name)
        raise ExpressionError(
            f"no column or calculated field {name!r} in dataset {self.view.identifier} "
            f"(columns: {', '.join(self.view.columns)}; calculated: {', '.join(self.calculated) or 'none'})"
        )

    def resolve_expression(self, text: str, trail: tuple[str, ...] = (), name: str | None = None) -> Expr:
        try:
            tree = parse(text)
            return replace_fields(tree, {ref: self.resolve(ref, trail) for ref in fields(tree)})
        except ExpressionError as exc:
            where = f"calculated field {name!r}: " if name and not str(exc).startswith("calculated field") else ""
            raise ExpressionError(f"{where}{exc}") from exc

    def is_calculated(self, name: str) -> bool:
        return name in self.calculated


def dataset_fields(definition: dict[str, Any], views: dict[str, DatasetView]) -> dict[str, DatasetFields]:
    by_dataset = {identifier: DatasetFields(view) for identifier, view in views.items()}
    for calculated in definition.get("CalculatedFields") or []:
        identifier = str(calculated.get("DataSetIdentifier"))
        if identifier not in by_dataset:
            raise DefinitionError(
                f"calculated field {calculated.get('Name')!r} uses DataSetIdentifier {identifier!r}, "
                "which DataSetIdentifierDeclarations does not declare"
            )
        by_dataset[identifier].calculated[str(calculated.get("Name"))] = str(calculated.get("Expression", ""))
    return by_dataset


def column_of(reference: dict[str, Any] | None, datasets: dict[str, DatasetFields]) -> tuple[str, str]:
    """``(DataSetIdentifier, ColumnName)`` of a ColumnIdentifier, checking the identifier is declared."""
    if not isinstance(reference, dict) or "ColumnName" not in reference:
        raise ExpressionError("the field has no Column")
    identifier = str(reference.get("DataSetIdentifier"))
    if identifier not in datasets:
        raise ExpressionError(
            f"DataSetIdentifier {identifier!r} is not declared (declared: {', '.join(sorted(datasets))})"
        )
    missing = datasets[identifier].view.missing
    if missing:
        raise UnsupportedError(missing)
    return identifier, str(reference["ColumnName"])
