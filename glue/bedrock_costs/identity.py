"""Split ``identity.arn`` into who called: principal type, name and session.

Roles are the unit teams are charged by; the session name (often a user or an SSO e-mail) is kept
separately so a role's spend can still be broken down per person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ARN = re.compile(r"^arn:aws[a-z-]*:(?P<service>sts|iam)::(?P<account>[^:]*):(?P<resource>.+)$")


@dataclass(frozen=True)
class Principal:
    principal_type: str  # assumed_role | iam_user | federated_user | root | role | unknown
    principal_name: str | None
    session_name: str | None = None


def parse_principal(arn: str | None) -> Principal:
    """Parse an STS or IAM ARN; anything else is kept as ``unknown`` with the raw value as the name."""
    if not arn:
        return Principal("unknown", None)
    match = _ARN.match(arn)
    if match is None:
        return Principal("unknown", arn)
    kind, _, path = match["resource"].partition("/")
    if kind == "root":
        return Principal("root", "root")
    if kind == "assumed-role" and "/" in path:
        role, _, session = path.rpartition("/")
        return Principal("assumed_role", role.rpartition("/")[2], session)
    if kind == "user" and path:
        return Principal("iam_user", path.rpartition("/")[2])
    if kind == "federated-user" and path:
        return Principal("federated_user", path)
    if kind == "role" and path:
        return Principal("role", path.rpartition("/")[2])
    return Principal("unknown", arn)
