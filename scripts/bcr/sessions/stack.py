"""The session settings of a deployed stack: its outputs (``DescribeStacks``) and its job as Glue has it
(``GetJob``), so no ARN or S3 URI is ever copied by hand. The clients are passed in.
"""

from __future__ import annotations

from typing import Any

from bcr import aws
from bcr.sessions.config import ConfigError, SessionConfig, session_config


def from_stack(cloudformation: Any, glue: Any, stack: str, region: str) -> SessionConfig:
    """The session of ``stack``'s cost ETL job; ``aws.AwsError`` or ``ConfigError`` say what is missing."""
    outputs = aws.stack_values(cloudformation, stack)
    if not outputs:
        raise ConfigError(f"no stack {stack} in {region} (deploy it with `sam deploy`, or pass --region)")
    if not outputs.get("JobName"):
        raise ConfigError(f"stack {stack} has no JobName output: is it a Bedrock cost reporting stack?")
    job = aws.call(glue, "get_job", JobName=outputs["JobName"])["Job"]
    return session_config(job, outputs, stack, region, f"stack {stack} ({region}), job {outputs['JobName']}")
