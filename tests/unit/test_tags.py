"""``tags``: metadata key normalization, the alias override, and semantic tag columns in Spark."""

from __future__ import annotations

import json
from functools import reduce

import pytest
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from bedrock_costs.schemas import SEMANTIC_TAGS
from bedrock_costs.tags import DEFAULT_TAG_ALIASES, normalize_key, parse_tag_aliases, with_semantic_tags


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("TenantID", "tenantid"),
        ("tenant_id", "tenantid"),
        ("Tenant-Id", "tenantid"),
        ("  tenant id  ", "tenantid"),
        ("cost.centre/2", "costcentre2"),
        ("ÜberTeam", "überteam"),
        ("", ""),
    ],
)
def test_normalize_key(key, expected):
    assert normalize_key(key) == expected


def test_defaults_cover_every_semantic_column():
    assert set(DEFAULT_TAG_ALIASES) == set(SEMANTIC_TAGS)
    assert all(DEFAULT_TAG_ALIASES[column] for column in SEMANTIC_TAGS)


@pytest.mark.parametrize("text", [None, ""])
def test_no_override_gives_the_defaults(text):
    assert parse_tag_aliases(text) == DEFAULT_TAG_ALIASES


def test_override_replaces_only_the_named_columns():
    aliases = parse_tag_aliases(json.dumps({"tenant": ["org", "TenantID"], "team": "squad"}))
    assert aliases["tenant"] == ("org", "TenantID")
    assert aliases["team"] == ("squad",)
    assert {k: v for k, v in aliases.items() if k not in ("tenant", "team")} == {
        k: v for k, v in DEFAULT_TAG_ALIASES.items() if k not in ("tenant", "team")
    }
    assert DEFAULT_TAG_ALIASES["tenant"][0] == "TenantID", "the defaults must not be mutated"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param('{"tenant": ["org"', "not valid JSON", id="invalid-json"),
        pytest.param('["tenant", "org"]', "must be a JSON object", id="not-an-object"),
        pytest.param('"tenant"', "must be a JSON object", id="json-string"),
        pytest.param('{"tennant": ["org"]}', "unknown tag column 'tennant'", id="unknown-column"),
        pytest.param('{"tenant": []}', "non-empty list", id="empty-list"),
        pytest.param('{"tenant": [""]}', "non-empty list", id="empty-key"),
        pytest.param('{"tenant": ["org", 5]}', "non-empty list", id="non-string-key"),
        pytest.param('{"tenant": {"org": 1}}', "non-empty list", id="object-value"),
        pytest.param('{"tenant": null}', "non-empty list", id="null-value"),
        pytest.param('{"tenant": ""}', "non-empty list", id="empty-string-value"),
    ],
)
def test_override_errors(text, message):
    with pytest.raises(ValueError, match=message):
        parse_tag_aliases(text)


# (id, requestMetadata, expected semantic columns that are not null)
TAG_CASES = [
    ("spelled-TenantID", {"TenantID": "acme"}, {"tenant": "acme"}),
    ("spelled-tenant_id", {"tenant_id": "acme"}, {"tenant": "acme"}),
    ("spelled-Tenant-Id", {"Tenant-Id": "acme"}, {"tenant": "acme"}),
    ("spelled-TENANT", {"TENANT": "acme"}, {"tenant": "acme"}),
    ("first-alias-wins", {"org_id": "o-1", "customer": "c-1", "tenant": "t-1"}, {"tenant": "t-1"}),
    ("rank-not-map-order", {"customer_id": "c-1", "TenantID": "t-1"}, {"tenant": "t-1"}),
    ("empty-value", {"TenantID": ""}, {}),
    ("blank-value", {"TenantID": "   "}, {}),
    ("null-value", {"TenantID": None}, {}),
    ("value-trimmed", {"env": "  prod "}, {"environment": "prod"}),
    ("value-case-kept", {"Team": "Platform-Core"}, {"team": "Platform-Core"}),
    (
        "every-column",
        {
            "ApplicationID": "chatbot",
            "cost-centre": "CC-42",
            "department": "finance",
            "Stage": "dev",
            "UserName": "u-7",
            "customer": "globex",
            "unrelated": "x",
        },
        {
            "tenant": "globex",
            "application": "chatbot",
            "cost_center": "CC-42",
            "team": "finance",
            "environment": "dev",
            "end_user": "u-7",
        },
    ),
    ("unrelated-keys-only", {"trace_id": "abc", "tenantx": "no"}, {}),
    ("empty-map", {}, {}),
    ("null-map", None, {}),
]


@pytest.fixture(scope="module")
def tagged(spark):
    rows = [(case_id, metadata) for case_id, metadata, _ in TAG_CASES]
    rows.append(("empty-masks-next-alias", {"TenantID": "", "tenant": "acme"}))
    rows.append(("override", {"org": "o-9", "TenantID": "t-9"}))
    rows.append(("non-ascii-alias", {"テナント": "acme"}))
    df = spark.createDataFrame(rows, "id string, request_metadata map<string,string>")
    custom = {
        "override": parse_tag_aliases('{"tenant": ["org", "TenantID"]}'),
        "non-ascii-alias": parse_tag_aliases('{"team": ["部署"]}'),
    }
    frames = [with_semantic_tags(df.where(~F.col("id").isin(*custom)), "request_metadata", DEFAULT_TAG_ALIASES)]
    frames += [
        with_semantic_tags(df.where(F.col("id") == case_id), "request_metadata", aliases)
        for case_id, aliases in custom.items()
    ]
    return {row["id"]: row.asDict() for row in reduce(DataFrame.unionByName, frames).collect()}


@pytest.mark.parametrize(("case_id", "expected"), [pytest.param(c, e, id=c) for c, _, e in TAG_CASES])
def test_with_semantic_tags(tagged, case_id, expected):
    row = tagged[case_id]
    assert {column: row[column] for column in SEMANTIC_TAGS} == {
        column: expected.get(column) for column in SEMANTIC_TAGS
    }


def test_with_semantic_tags_uses_the_override_order(tagged):
    assert tagged["override"]["tenant"] == "o-9"


def test_empty_value_does_not_mask_a_lower_ranked_alias(tagged):
    assert tagged["empty-masks-next-alias"]["tenant"] == "acme"


def test_non_ascii_alias_matches_only_its_own_key(tagged):
    assert tagged["non-ascii-alias"]["team"] is None
