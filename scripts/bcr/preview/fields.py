"""What a ``{DataSetIdentifier, ColumnName}`` means in the preview: a column of the dataset's DuckDB view, or
a calculated field inlined down to those columns (``bcr.quicksight.calculated``), so every later stage sees
one expression tree per field."""

from __future__ import annotations

from typing import Any

from bcr.preview.datasets import DatasetView
from bcr.preview.sql import UnsupportedError
from bcr.quicksight.calculated import CalculatedFields
from bcr.quicksight.documents import DefinitionError
from bcr.quicksight.expressions import ExpressionError


class DatasetFields(CalculatedFields):
    """The columns and calculated fields of one dataset identifier, over its view."""

    def __init__(self, view: DatasetView) -> None:
        super().__init__(view.identifier, view.columns)
        self.view = view


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
