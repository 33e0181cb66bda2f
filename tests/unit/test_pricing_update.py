"""``bcr pricing update`` against recorded-shape Price List responses, through botocore's Stubber (no AWS)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError, NoCredentialsError
from botocore.stub import Stubber

from bcr import cli, pricing_update
from bcr.pricing_update import Rate, Unmapped, apply_plan, map_item, parse_usage_type, plan_update
from bedrock_costs.catalog import COLUMNS, DEFAULT_CATALOG, check_catalog, format_catalog, load_catalog, parse_catalog

FIXTURES = Path(__file__).parents[1] / "fixtures" / "pricelist"
PAGES = {
    "AmazonBedrock": "amazon_bedrock_us_east_1.json",
    "AmazonBedrockFoundationModels": "amazon_bedrock_foundation_models_us_east_1.json",
}
ON = date(2026, 11, 15)
NAMES = pricing_update.read_names()


def pages(service_code: str) -> list[dict[str, Any]]:
    return json.loads((FIXTURES / PAGES[service_code]).read_text(encoding="utf-8"))


def items(service_code: str) -> list[dict[str, Any]]:
    return [json.loads(item) for page in pages(service_code) for item in page["PriceList"]]


def item(service_code: str, usage_type: str) -> dict[str, Any]:
    return next(i for i in items(service_code) if i["product"]["attributes"]["usagetype"] == usage_type)


def stubbed_client() -> tuple[Any, Stubber]:
    """A real botocore pricing client whose calls are answered from the fixtures, in order."""
    client = boto3.client("pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    for service_code in pricing_update.SERVICE_CODES:
        token = None
        for page in pages(service_code):
            expected = {
                "ServiceCode": service_code,
                "Filters": [{"Type": "TERM_MATCH", "Field": "regionCode", "Value": "us-east-1"}],
                "FormatVersion": "aws_v1",
                "MaxResults": 100,
            }
            if token:
                expected["NextToken"] = token
            stubber.add_response("get_products", page, expected)
            token = page.get("NextToken")
    return client, stubber


# An old catalog: Nova Micro's output price has since changed, Sonnet 4.5 has only a '*' geo row at a lower
# price, and Claude Haiku 4.5 is not in it yet.
OLD_CATALOG = """\
amazon.nova-micro-v1:0,*,in_region,standard,0,0.035,0.14,0.00875,0,,token,,2024-12-03,,test
amazon.nova-micro-v1:0,us-east-1,in_region,standard,0,0.035,0.12,0.00875,0,,token,,2024-12-03,,test
amazon.titan-embed-text-v2:0,*,in_region,standard,0,0.02,0,,,,token,,2024-04-30,,test
anthropic.claude-sonnet-4-5-20250929-v1:0,*,geo,standard,0,3,15,0.3,3.75,6,token,,2025-09-29,,test
"""


def old_rows() -> list:
    return parse_catalog(",".join(COLUMNS) + "\n" + OLD_CATALOG)


def test_fetch_price_list_reads_every_page() -> None:
    client, stubber = stubbed_client()
    with stubber:
        bedrock = pricing_update.fetch_price_list(client, "AmazonBedrock", "us-east-1")
        marketplace = pricing_update.fetch_price_list(client, "AmazonBedrockFoundationModels", "us-east-1")
        stubber.assert_no_pending_responses()
    assert len(bedrock) == sum(len(page["PriceList"]) for page in pages("AmazonBedrock")) == 19
    assert len(marketplace) == 22


@pytest.mark.parametrize(
    ("service_code", "usage_type", "expected"),
    [
        ("AmazonBedrock", "USE1-NovaMicro-input-tokens", ("usd_per_1m_input", "regional", "standard", False)),
        ("AmazonBedrock", "USE1-NovaMicro-cache-read-input-token-count", ("usd_per_1m_cache_read", "regional")),
        ("AmazonBedrock", "USE1-Nova2.0Lite-output-tokens-cross-region-global-batch", ("usd_per_1m_output", "global")),
        ("AmazonBedrock", "USE1-Llama3-1-70B-input-tokens-flex", ("usd_per_1m_input", "regional", "flex")),
        ("AmazonBedrockFoundationModels", "USE1-MP:USE1_InputTokenCount_Global-Units", ("usd_per_1m_input", "global")),
        (
            "AmazonBedrockFoundationModels",
            "USE1-MP:USE1_CacheWrite1hInputTokenCount-Units",
            ("usd_per_1m_cache_write_1h", "regional"),
        ),
        (
            "AmazonBedrockFoundationModels",
            "USE1-MP:USE1_InputTokenCount_Global_Batch-Units",
            ("usd_per_1m_input", "global", "batch"),
        ),
        (
            "AmazonBedrockFoundationModels",
            "USE1-MP:USE1_cache_write_tokens_1h_long_ctx_global_standard-Units",
            ("usd_per_1m_cache_write_1h", "global", "standard", True),
        ),
    ],
)
def test_usage_types_map_to_catalog_columns(service_code: str, usage_type: str, expected: tuple) -> None:
    assert parse_usage_type(service_code, usage_type)[: len(expected)] == expected


@pytest.mark.parametrize(
    ("service_code", "usage_type", "reason"),
    [
        ("AmazonBedrock", "USE1-NovaPro-input-tokens-latency-optimized", "'latency-optimized' is not a catalog"),
        ("AmazonBedrockFoundationModels", "USE1-MP:USE1_Reserved_1Month_InputTPM_Geo-Units", "not an on-demand"),
        ("AmazonBedrockFoundationModels", "APN1-MP:APN1_MillionBatchInputTokens-Units", "not an on-demand"),
    ],
)
def test_unknown_usage_types_are_reported_with_the_reason(service_code: str, usage_type: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_usage_type(service_code, usage_type)


def test_a_regional_per_1k_price_is_the_in_region_and_geo_price_per_1m() -> None:
    rates = map_item(item("AmazonBedrock", "USE1-NovaMicro-input-tokens"), NAMES)
    assert [(r.model_id, r.region, r.scope, r.usd_per_1m) for r in rates] == [
        ("amazon.nova-micro-v1:0", "us-east-1", "in_region", Decimal("0.035")),
        ("amazon.nova-micro-v1:0", "us-east-1", "geo", Decimal("0.035")),
    ]
    assert rates[0].source == "AWS Price List API AmazonBedrock 2026-10-28T19:04:11Z"


def test_a_marketplace_global_price_is_per_1m_already() -> None:
    (rate,) = map_item(
        item("AmazonBedrockFoundationModels", "USE1-MP:USE1_CacheWrite1hInputTokenCount_Global-Units"), NAMES
    )
    assert rate == Rate(
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
        "us-east-1",
        "global",
        "standard",
        False,
        "usd_per_1m_cache_write_1h",
        Decimal(6),
        "USE1-MP:USE1_CacheWrite1hInputTokenCount_Global-Units",
        "AWS Price List API AmazonBedrockFoundationModels 2026-10-28T19:04:11Z",
    )


def test_batch_feature_and_unmapped_names() -> None:
    (rate, _) = map_item(item("AmazonBedrock", "USE1-NovaMicro-input-tokens-batch"), NAMES)
    assert rate.service_tier == "batch"
    unknown = map_item(item("AmazonBedrock", "USE1-Nova3Ultra-input-tokens"), NAMES)
    assert unknown == Unmapped(
        "USE1-Nova3Ultra-input-tokens",
        "no model id for price list name 'Nova 3 Ultra' (add it to price_list_names.csv)",
    )
    customization = map_item(item("AmazonBedrock", "USE1-NovaMicro-Model-Customization-input-tokens"), NAMES)
    assert customization.reason == "feature 'Model Customization' is not inference"


def test_the_shipped_catalog_matches_the_recorded_price_list() -> None:
    every = items("AmazonBedrock") + items("AmazonBedrockFoundationModels")
    plan = plan_update(load_catalog(DEFAULT_CATALOG), every, NAMES, ON)
    assert (plan.new_models, plan.new_keys, plan.changed, plan.skipped) == ([], [], [], [])
    assert plan.unchanged == 22
    assert len(plan.unmapped) == 8


def test_plan_finds_new_models_new_keys_and_changed_prices() -> None:
    plan = plan_update(old_rows(), items("AmazonBedrock") + items("AmazonBedrockFoundationModels"), NAMES, ON)
    lines = pricing_update.describe_plan(plan)
    assert {offer.key[0] for offer in plan.new_models} == {
        "amazon.nova-pro-v1:0",
        "amazon.nova-2-lite-v1:0",
        "meta.llama3-1-70b-instruct-v1:0",
        "anthropic.claude-haiku-4-5-20251001-v1:0",
        "anthropic.claude-haiku-5-5",
    }
    assert [current.price_key for _, current in plan.changed] == [
        "amazon.nova-micro-v1:0|us-east-1|in_region|standard|0|2024-12-03"
    ]
    assert "changed    amazon.nova-micro-v1:0|us-east-1|in_region|standard|0|2024-12-03: output 0.12 -> 0.14" in lines
    new_keys = {offer.key: basis for offer, basis in plan.new_keys}
    assert new_keys[("anthropic.claude-sonnet-4-5-20250929-v1:0", "us-east-1", "geo", "standard", 0)].region == "*"
    assert new_keys[("amazon.nova-micro-v1:0", "us-east-1", "in_region", "batch", 0)] is None
    assert ("anthropic.claude-sonnet-4-5-20250929-v1:0", "us-east-1", "in_region", "standard", 0) in new_keys
    assert "USE1-NovaPro-input-tokens-latency-optimized" in {u.usage_type for u in plan.unmapped}
    assert plan.unchanged == 1  # Titan Text Embeddings V2
    assert any(
        "long-context price, but the catalog has no threshold for anthropic.claude-haiku-5-5" in s for s in plan.skipped
    )


def test_write_closes_changed_periods_and_appends_without_rewriting_history() -> None:
    before = old_rows()
    plan = plan_update(before, items("AmazonBedrock") + items("AmazonBedrockFoundationModels"), NAMES, ON)
    after = apply_plan(before, plan)
    assert check_catalog(parse_catalog(format_catalog(after))) == []
    old_by_line = {row.row_number: row for row in before}
    kept = [row for row in after if row.row_number in old_by_line]
    assert len(kept) == len(before)
    for row in kept:
        old = old_by_line[row.row_number]
        if row.price_key == "amazon.nova-micro-v1:0|us-east-1|in_region|standard|0|2024-12-03":
            assert (old.effective_to, row.effective_to) == (None, ON)
            assert row.usd_per_1m_output == Decimal("0.12")
        else:
            assert row == old
    added = [row for row in after if row.row_number == 0]
    assert {row.effective_from for row in added} == {ON}
    nova = next(r for r in added if r.key == ("amazon.nova-micro-v1:0", "us-east-1", "in_region", "standard", 0))
    assert (nova.usd_per_1m_output, nova.usd_per_1m_cache_write_5m) == (Decimal("0.14"), Decimal(0))
    sonnet = next(
        r for r in added if r.key == ("anthropic.claude-sonnet-4-5-20250929-v1:0", "us-east-1", "geo", "standard", 0)
    )
    assert (sonnet.usd_per_1m_input, sonnet.usd_per_1m_cache_write_1h) == (Decimal("3.3"), Decimal("6.6"))


def test_cli_update_writes_the_catalog(tmp_path, monkeypatch, capsys) -> None:
    catalog = tmp_path / "prices.csv"
    catalog.write_text(",".join(COLUMNS) + "\n" + OLD_CATALOG, encoding="utf-8")
    client, stubber = stubbed_client()
    monkeypatch.setattr(pricing_update, "make_client", lambda: client)
    with stubber:
        code = cli.main(["pricing", "update", "--catalog", str(catalog), "--effective-from", "2026-11-15", "--write"])
    out = capsys.readouterr().out
    assert code == 0
    assert "unmapped   USE1-Nova3Ultra-input-tokens" in out
    assert f"wrote {catalog}" in out
    rows = load_catalog(catalog)
    assert check_catalog(rows) == []
    assert any(row.effective_to == ON for row in rows)


def test_cli_update_without_write_leaves_the_catalog_alone(tmp_path, monkeypatch) -> None:
    catalog = tmp_path / "prices.csv"
    catalog.write_text(",".join(COLUMNS) + "\n" + OLD_CATALOG, encoding="utf-8")
    client, stubber = stubbed_client()
    monkeypatch.setattr(pricing_update, "make_client", lambda: client)
    with stubber:
        assert cli.main(["pricing", "update", "--catalog", str(catalog)]) == 0
    assert catalog.read_text(encoding="utf-8") == ",".join(COLUMNS) + "\n" + OLD_CATALOG


class Unreachable:
    """A pricing client that fails the way botocore does without credentials or network."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def get_paginator(self, name: str) -> Any:
        raise self.error


@pytest.mark.parametrize(
    "error", [NoCredentialsError(), EndpointConnectionError(endpoint_url="https://api.pricing.us-east-1.amazonaws.com")]
)
def test_cli_update_reports_unreachable_aws_in_one_line(monkeypatch, capsys, error: Exception) -> None:
    monkeypatch.setattr(pricing_update, "make_client", lambda: Unreachable(error))
    assert cli.main(["pricing", "update"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("bcr pricing update: cannot read the AWS Price List API: ")
