"""Calculated fields resolved per dataset: inlined down to columns, with unknown names and cycles named.
The validator and the preview both read fields through this, so both see the same tree and errors."""

from __future__ import annotations

import re

import pytest

from bcr.quicksight.calculated import CalculatedFields
from bcr.quicksight.expressions import ExpressionError, Result, parse

COLUMNS = {"total_cost": Result("DECIMAL"), "request_count": Result("INTEGER"), "tenant": Result("STRING")}


def daily(**calculated: str) -> CalculatedFields:
    return CalculatedFields("daily_costs", COLUMNS, calculated)


def parameter(name: str) -> str:
    raise ExpressionError(f"unknown parameter ${{{name}}}")


def test_a_calculated_field_is_inlined_down_to_columns() -> None:
    fields = daily(per_request="{total_cost} / {request_count}", per_1k="sum({per_request}) * 1000")
    assert fields.resolve("per_1k") == parse("sum({total_cost} / {request_count}) * 1000")
    assert fields.resolve("tenant") == parse("{tenant}")
    assert fields.infer("per_1k", COLUMNS.__getitem__, parameter) == Result("DECIMAL", aggregated=True)
    assert fields.has("per_request") and fields.is_calculated("per_request") and not fields.is_calculated("tenant")


@pytest.mark.parametrize(
    ("calculated", "name", "message"),
    [
        ({"a": "{b} + 1", "b": "{a} * 2"}, "a", "calculated fields refer to each other in a cycle: a → b → a"),
        (
            {"a": "{b} + 1", "b": "{total_costs} * 2"},
            "a",
            "calculated field 'b': no column or calculated field 'total_costs'",
        ),
        ({"a": "{tenant} * 2"}, "a", "calculated field 'a': '*' needs numbers, got STRING"),
        ({"a": "sum({total_cost}) + {request_count}"}, "a", "calculated field 'a': '+' mixes aggregated and row-level"),
    ],
)
def test_unknown_names_cycles_and_type_errors_name_the_field(
    calculated: dict[str, str], name: str, message: str
) -> None:
    with pytest.raises(ExpressionError, match=re.escape(message)):
        daily(**calculated).infer(name, COLUMNS.__getitem__, parameter)
