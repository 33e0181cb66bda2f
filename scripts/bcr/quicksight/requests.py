"""The API requests the committed documents become, and their check against botocore's QuickSight model.

botocore's ``ParamValidator`` checks names, types, required members and minimum lengths, but not enum
values; :func:`enum_problems` walks the same service model for those, so ``SUMM`` fails here and not
half-way through a deploy.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape
from botocore.validate import ParamValidator

# Deploy sends each document through these operations; export keeps what they accept.
CREATE = {"data_source": "CreateDataSource", "dataset": "CreateDataSet", "dashboard": "CreateDashboard"}
UPDATE = {"data_source": "UpdateDataSource", "dataset": "UpdateDataSet", "dashboard": "UpdateDashboard"}
# Request members that never live in the committed documents: who may see a resource and where it is filed
# differ per account, and CloudFormation sets them on the resource itself.
_ACCOUNT_SPECIFIC = frozenset({"AwsAccountId", "Permissions", "Tags", "FolderArns"})


@cache
def operation(name: str) -> OperationModel:
    return botocore.session.get_session().get_service_model("quicksight").operation_model(name)


def document_members(kind: str) -> frozenset[str]:
    """Top-level keys a committed document of this kind may hold: the create request minus account specifics."""
    return frozenset(operation(CREATE[kind]).input_shape.members) - _ACCOUNT_SPECIFIC


def build_request(operation_name: str, document: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """``document`` plus ``extra``, keeping only what ``operation_name`` accepts (updates take fewer members)."""
    accepted = operation(operation_name).input_shape.members
    return {key: value for key, value in {**document, **extra}.items() if key in accepted}


def request_problems(operation_name: str, params: Mapping[str, Any]) -> list[str]:
    """Everything botocore would reject before sending, plus enum values outside the model's list."""
    shape = operation(operation_name).input_shape
    report = ParamValidator().validate(params, shape)
    problems = report.generate_report().splitlines() if report.has_errors() else []
    return problems + list(enum_problems(params, shape))


def enum_problems(value: Any, shape: Shape, path: str = "") -> Iterator[str]:
    """Enum members the service model does not list, at any depth."""
    if isinstance(shape, StructureShape) and isinstance(value, Mapping):
        for key, item in value.items():
            if key in shape.members:
                yield from enum_problems(item, shape.members[key], f"{path}.{key}" if path else key)
    elif isinstance(shape, ListShape) and isinstance(value, list):
        for index, item in enumerate(value):
            yield from enum_problems(item, shape.member, f"{path}[{index}]")
    elif isinstance(shape, MapShape) and isinstance(value, Mapping):
        for key, item in value.items():
            yield from enum_problems(item, shape.value, f"{path}.{key}")
    elif isinstance(value, str) and shape.enum and value not in shape.enum:
        yield f"Invalid value for parameter {path}: {value!r}, must be one of: {', '.join(shape.enum)}"
