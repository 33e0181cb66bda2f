"""``identity.parse_principal``: who called, from ``identity.arn``."""

from __future__ import annotations

import pytest

from bedrock_costs.identity import Principal, parse_principal

ACCT = "123456789012"


@pytest.mark.parametrize(
    ("arn", "expected"),
    [
        pytest.param(
            f"arn:aws:sts::{ACCT}:assumed-role/AppRole/app-session",
            Principal("assumed_role", "AppRole", "app-session"),
            id="assumed-role",
        ),
        pytest.param(
            f"arn:aws:sts::{ACCT}:assumed-role/AWSReservedSSO_AdministratorAccess_0123456789abcdef/jane.doe@example.com",
            Principal("assumed_role", "AWSReservedSSO_AdministratorAccess_0123456789abcdef", "jane.doe@example.com"),
            id="sso-role-email-session",
        ),
        pytest.param(
            f"arn:aws:sts::{ACCT}:assumed-role/service-role/batch/BatchRole/i-0abc123def4567890",
            Principal("assumed_role", "BatchRole", "i-0abc123def4567890"),
            id="assumed-role-with-path",
        ),
        pytest.param(
            f"arn:aws-us-gov:sts::{ACCT}:assumed-role/GovRole/botocore-session-1700000000",
            Principal("assumed_role", "GovRole", "botocore-session-1700000000"),
            id="govcloud-partition",
        ),
        pytest.param(f"arn:aws:iam::{ACCT}:user/alice", Principal("iam_user", "alice"), id="iam-user"),
        pytest.param(
            f"arn:aws:iam::{ACCT}:user/division_abc/subdivision_xyz/JaneDoe",
            Principal("iam_user", "JaneDoe"),
            id="iam-user-with-path",
        ),
        pytest.param(
            f"arn:aws:sts::{ACCT}:federated-user/Bob", Principal("federated_user", "Bob"), id="federated-user"
        ),
        pytest.param(f"arn:aws:iam::{ACCT}:root", Principal("root", "root"), id="root"),
        pytest.param(f"arn:aws:iam::{ACCT}:role/ops/MyRole", Principal("role", "MyRole"), id="iam-role-with-path"),
        pytest.param(None, Principal("unknown", None), id="none"),
        pytest.param("", Principal("unknown", None), id="empty"),
        pytest.param("not-an-arn", Principal("unknown", "not-an-arn"), id="garbage"),
        pytest.param("arn:aws:s3:::my-bucket", Principal("unknown", "arn:aws:s3:::my-bucket"), id="other-service"),
        pytest.param(
            f"arn:aws:sts::{ACCT}:assumed-role/RoleWithoutSession",
            Principal("unknown", f"arn:aws:sts::{ACCT}:assumed-role/RoleWithoutSession"),
            id="assumed-role-without-session",
        ),
        pytest.param(
            f"arn:aws:iam::{ACCT}:user/", Principal("unknown", f"arn:aws:iam::{ACCT}:user/"), id="user-without-name"
        ),
        pytest.param(
            f"arn:aws:iam::{ACCT}:group/admins",
            Principal("unknown", f"arn:aws:iam::{ACCT}:group/admins"),
            id="unsupported-resource",
        ),
    ],
)
def test_parse_principal(arn, expected):
    assert parse_principal(arn) == expected
