"""The preview's fixture definition is real QuickSight: every file passes botocore's request validation for
the call that would deploy it (CreateDashboard, CreateDataSet, CreateDataSource), enum values included.
Tests that pass against a fixture QuickSight would reject would prove nothing about the committed one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.model import Shape
from botocore.validate import ParamValidator

FIXTURE = Path(__file__).parents[1] / "fixtures" / "quicksight_definitions"
ACCOUNT = "123456789012"


def enum_errors(shape: Shape, value: Any, path: str = "") -> list[str]:
    """botocore's validator checks types and names but not enum values; this walks them."""
    if shape.type_name == "structure" and isinstance(value, dict):
        return [
            error
            for key, item in value.items()
            if key in shape.members
            for error in enum_errors(shape.members[key], item, f"{path}.{key}")
        ]
    if shape.type_name == "list" and isinstance(value, list):
        return [error for i, item in enumerate(value) for error in enum_errors(shape.member, item, f"{path}[{i}]")]
    if shape.type_name == "map" and isinstance(value, dict):
        return [error for key, item in value.items() for error in enum_errors(shape.value, item, f"{path}.{key}")]
    if shape.type_name == "string" and shape.enum and value not in shape.enum:
        return [f"{path}: {value!r} is not one of {shape.enum}"]
    return []


def request(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if "Definition" in body:
        return "CreateDashboard", {"AwsAccountId": ACCOUNT, **body}
    if "PhysicalTableMap" in body:
        return "CreateDataSet", {"AwsAccountId": ACCOUNT, **body}
    return "CreateDataSource", {"AwsAccountId": ACCOUNT, **body}


@pytest.mark.parametrize("path", sorted(FIXTURE.rglob("*.json")), ids=lambda p: str(p.relative_to(FIXTURE)))
def test_fixture_is_a_valid_quicksight_request(path: Path) -> None:
    model = botocore.session.get_session().get_service_model("quicksight")
    operation, params = request(json.loads(path.read_text()))
    shape = model.operation_model(operation).input_shape
    report = ParamValidator().validate(params, shape)
    assert not report.has_errors(), report.generate_report()
    assert enum_errors(shape, params) == []


def test_fixture_is_normalized_json() -> None:
    for path in FIXTURE.rglob("*.json"):
        text = path.read_text()
        assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n", path


def test_the_enum_check_catches_a_bad_value() -> None:
    model = botocore.session.get_session().get_service_model("quicksight")
    shape = model.operation_model("CreateDashboard").input_shape
    body = {
        "Definition": {
            "Sheets": [{"Visuals": [{"BarChartVisual": {"ChartConfiguration": {"Orientation": "DIAGONAL"}}}]}]
        }
    }
    assert enum_errors(shape, body) == [
        ".Definition.Sheets[0].Visuals[0].BarChartVisual.ChartConfiguration.Orientation: 'DIAGONAL' is not one of "
        "['HORIZONTAL', 'VERTICAL']"
    ]
