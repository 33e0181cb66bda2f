"""The dashboard's calculated fields, resolved per dataset: what a ``{DataSetIdentifier, ColumnName}`` means.

A name is a dataset column or a calculated field of that dataset; a calculated field may use other
calculated fields, so it resolves to its expression tree with those inlined, down to dataset columns. The
validator infers the type of that tree, the preview translates it; both see the same tree and the same
errors (an unknown name, a cycle).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

from bcr.quicksight.expressions import Expr, ExpressionError, Field, Result, fields, infer, parse, replace_fields


class CalculatedFields:
    """The columns and calculated fields of one dataset identifier."""

    def __init__(self, identifier: str, columns: Collection[str], calculated: Mapping[str, str] | None = None) -> None:
        self.identifier, self.columns = identifier, columns
        self.calculated: dict[str, str] = dict(calculated or {})  # name -> expression text
        self._resolved: dict[str, Expr] = {}

    def is_calculated(self, name: str) -> bool:
        return name in self.calculated

    def has(self, name: str) -> bool:
        return name in self.columns or name in self.calculated

    def resolve(self, name: str, trail: tuple[str, ...] = ()) -> Expr:
        """A column as ``Field``; a calculated field as its tree with other calculated fields inlined."""
        if name in self.calculated:
            if name in trail:
                raise ExpressionError(f"calculated fields refer to each other in a cycle: {' → '.join((*trail, name))}")
            if name not in self._resolved:
                self._resolved[name] = self.resolve_expression(self.calculated[name], (*trail, name), name)
            return self._resolved[name]
        if name in self.columns:
            return Field(name)
        raise ExpressionError(
            f"no column or calculated field {name!r} in dataset {self.identifier} "
            f"(columns: {', '.join(self.columns)}; calculated: {', '.join(self.calculated) or 'none'})"
        )

    def resolve_expression(self, text: str, trail: tuple[str, ...] = (), name: str | None = None) -> Expr:
        """An expression over this dataset with every calculated field it names inlined."""
        try:
            tree = parse(text)
            return replace_fields(tree, {ref: self.resolve(ref, trail) for ref in fields(tree)})
        except ExpressionError as exc:
            raise _naming(name, exc) from exc

    def infer(self, name: str, column: Callable[[str], Result], parameter: Callable[[str], str]) -> Result:
        """What a calculated field returns; ``column`` gives the type of a dataset column."""
        try:
            return infer(self.resolve(name), column, parameter)
        except ExpressionError as exc:
            raise _naming(name, exc) from exc


def _naming(name: str | None, error: ExpressionError) -> ExpressionError:
    """The error, said of calculated field ``name`` unless it already names the (innermost) field."""
    if name is None or str(error).startswith("calculated field"):
        return error
    return ExpressionError(f"calculated field {name!r}: {error}")
