"""``normalize``: model columns (with application profiles resolved from the profile map) and principal columns."""

from __future__ import annotations

import pytest

from bedrock_costs.models import resolve_model
from bedrock_costs.normalize import with_models, with_principals
from bedrock_costs.profiles import ResolvedProfile

ACCT = "123456789012"
SONNET = "anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA = "amazon.nova-pro-v1:0"
APP = f"arn:aws:bedrock:us-east-1:{ACCT}:application-inference-profile"
PROFILES = {
    f"{APP}/teamgeo01": ResolvedProfile(f"{APP}/teamgeo01", "teamgeo01", SONNET, "geo", "us"),
    f"{APP}/teamglb02": ResolvedProfile(f"{APP}/teamglb02", "teamglb02", SONNET, "global", None),
    f"{APP}/teamreg03": ResolvedProfile(f"{APP}/teamreg03", "teamreg03", NOVA, "in_region", None),
}
ROLE = f"arn:aws:sts::{ACCT}:assumed-role/AppRole/jane@example.com"
USER = f"arn:aws:iam::{ACCT}:user/ops/alice"

# request_id -> (model_id_raw, principal_arn, model columns, principal columns)
CASES = {
    "app-geo": (
        f"{APP}/teamgeo01",
        ROLE,
        (SONNET, "anthropic", "claude-sonnet-4-5-20250929-v1:0", "geo", "us", "teamgeo01"),
        ("assumed_role", "AppRole", "jane@example.com"),
    ),
    "app-geo-again": (
        f"{APP}/teamgeo01",
        USER,
        (SONNET, "anthropic", "claude-sonnet-4-5-20250929-v1:0", "geo", "us", "teamgeo01"),
        ("iam_user", "alice", None),
    ),
    "app-global": (
        f"{APP}/teamglb02",
        ROLE,
        (SONNET, "anthropic", "claude-sonnet-4-5-20250929-v1:0", "global", None, "teamglb02"),
        ("assumed_role", "AppRole", "jane@example.com"),
    ),
    "app-in-region": (
        f"{APP}/teamreg03",
        f"arn:aws:iam::{ACCT}:root",
        (NOVA, "amazon", "nova-pro-v1:0", "in_region", None, "teamreg03"),
        ("root", "root", None),
    ),
    "app-unresolved": (
        f"{APP}/missing99",
        f"arn:aws:sts::{ACCT}:federated-user/bob",
        (None, None, None, "application", None, "missing99"),
        ("federated_user", "bob", None),
    ),
    "geo-profile-id": (
        f"eu.{SONNET}",
        ROLE,
        (SONNET, "anthropic", "claude-sonnet-4-5-20250929-v1:0", "geo", "eu", f"eu.{SONNET}"),
        ("assumed_role", "AppRole", "jane@example.com"),
    ),
    "base-id": (NOVA, None, (NOVA, "amazon", "nova-pro-v1:0", "in_region", None, None), ("unknown", None, None)),
    "no-model": (None, "garbage", (None, None, None, "unknown", None, None), ("unknown", "garbage", None)),
}
MODEL_COLUMNS = ("model_id", "model_provider", "model_name", "inference_scope", "geo", "inference_profile_id")
PRINCIPAL_COLUMNS = ("principal_type", "principal_name", "session_name")


@pytest.fixture(scope="module")
def normalized(spark):
    rows = [(request_id, raw, arn, index) for index, (request_id, (raw, arn, _, _)) in enumerate(CASES.items())]
    df = spark.createDataFrame(rows, "request_id string, model_id_raw string, principal_arn string, n int")
    out = with_principals(with_models(df, PROFILES))
    return out.columns, {row["request_id"]: row.asDict() for row in out.collect()}


@pytest.mark.parametrize("request_id", list(CASES))
def test_with_models_and_principals(normalized, request_id):
    _, rows = normalized
    raw, arn, model, principal = CASES[request_id]
    row = rows[request_id]
    assert (row["model_id_raw"], row["principal_arn"]) == (raw, arn)
    assert tuple(row[c] for c in MODEL_COLUMNS) == model
    assert tuple(row[c] for c in PRINCIPAL_COLUMNS) == principal


def test_grain_and_columns_unchanged(normalized):
    columns, rows = normalized
    assert len(rows) == len(CASES)
    assert sorted(row["n"] for row in rows.values()) == list(range(len(CASES)))
    assert columns == [
        "request_id",
        "model_id_raw",
        "principal_arn",
        "n",
        *MODEL_COLUMNS,
        *PRINCIPAL_COLUMNS,
    ]


def test_resolve_model_ignores_the_profile_map_for_other_shapes():
    """Only application profiles are looked up, so a map keyed by a system profile id changes nothing."""
    trap = {f"us.{SONNET}": ResolvedProfile("x", "x", NOVA, "in_region", None)}
    assert resolve_model(f"us.{SONNET}", trap).model_id == SONNET
