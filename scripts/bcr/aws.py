"""The one wrapper around boto3 calls of the CLI: each failure becomes one actionable line naming the call.

`bcr dashboard` (QuickSight) and `bcr sessions` (CloudFormation, Glue) call AWS through ``call``; what to
send and what to keep is decided by their callers, on plain dicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from botocore.exceptions import ConnectionError as EndpointUnreachable


class AwsError(RuntimeError):
    """A failed AWS call, in one line naming the call; the botocore exception is its ``__cause__``."""


def call(
    client: Any,
    operation: str,
    *,
    error: type[AwsError] = AwsError,
    hints: Mapping[str, str] | None = None,
    **params: Any,
) -> dict[str, Any]:
    """``client.<operation>(**params)`` with failures turned into ``error``; ``hints`` add advice per error code."""
    service = client.meta.service_model.service_id
    try:
        response: dict[str, Any] = getattr(client, operation)(**params)
    except ClientError as exc:
        details = exc.response.get("Error", {})
        code, message = details.get("Code", "error"), details.get("Message", "")
        hint = (hints or {}).get(code)
        raise error(f"{operation}: {code}: {message}" + (f" ({hint})" if hint else "")) from exc
    except NoCredentialsError as exc:
        raise error(f"{operation}: no AWS credentials found; set AWS_PROFILE or pass --profile") from exc
    except EndpointUnreachable as exc:
        raise error(f"{operation}: {service} is unreachable ({exc}); check --region and network") from exc
    except BotoCoreError as exc:
        raise error(f"{operation}: {exc}") from exc
    response.pop("ResponseMetadata", None)
    return response


def stack_values(cloudformation: Any, stack_name: str, error: type[AwsError] = AwsError) -> dict[str, str]:
    """Parameters and outputs of a deployed stack (outputs win), or {} when there is no such stack."""
    try:
        stacks = call(cloudformation, "describe_stacks", error=error, StackName=stack_name)["Stacks"]
    except AwsError as exc:
        if isinstance(exc.__cause__, ClientError) and "does not exist" in str(exc):
            return {}
        raise
    stack = stacks[0] if stacks else {}
    values = {item["ParameterKey"]: item.get("ParameterValue", "") for item in stack.get("Parameters") or []}
    values.update({item["OutputKey"]: item.get("OutputValue", "") for item in stack.get("Outputs") or []})
    return values
