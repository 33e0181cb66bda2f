"""The shipped catalog: valid, covering what the generator and ETL use, and right on prices pinned by hand.

The pinned prices are checked against public price data (litellm's price map, genai-prices, AWS's published
rules), not copied from the catalog; a rebuild that moves one of them must be explained.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bcr import cli
from bcr.pricing_update import read_names
from bedrock_costs.catalog import DEFAULT_CATALOG, check_catalog, find_price, load_catalog

ROWS = load_catalog(DEFAULT_CATALOG)
DAY = date(2026, 11, 1)
SONNET_45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
HAIKU_45 = "anthropic.claude-haiku-4-5-20251001-v1:0"


def price(model_id: str, region: str = "us-east-1", scope: str = "in_region", **kwargs: object) -> dict:
    row = find_price(ROWS, model_id=model_id, region=region, scope=scope, service_tier="standard", on=DAY, **kwargs)
    assert row is not None, f"no price for {model_id} {region} {scope}"
    columns = ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h")
    return {c: getattr(row, f"usd_per_1m_{c}") for c in columns if getattr(row, f"usd_per_1m_{c}") is not None}


def test_shipped_catalog_passes_check() -> None:
    assert check_catalog(ROWS) == []


def test_bcr_pricing_check_accepts_the_shipped_catalog(capsys) -> None:
    assert cli.main(["pricing", "check"]) == 0
    assert " ok, " in capsys.readouterr().out


REQUIRED = {
    SONNET_45: ("in_region", "geo", "global"),
    HAIKU_45: ("in_region", "geo", "global"),
    "anthropic.claude-3-haiku-20240307-v1:0": ("in_region",),
    "amazon.nova-micro-v1:0": ("in_region", "geo"),
    "amazon.nova-lite-v1:0": ("in_region", "geo"),
    "amazon.nova-pro-v1:0": ("in_region", "geo"),
    "meta.llama3-1-70b-instruct-v1:0": ("in_region",),
    "mistral.mistral-large-2407-v1:0": ("in_region",),
    "amazon.titan-embed-text-v2:0": ("in_region",),
}


@pytest.mark.parametrize("model_id", sorted(REQUIRED))
def test_models_of_the_sample_data_have_explicit_rows(model_id: str) -> None:
    for scope in REQUIRED[model_id]:
        for region in ("us-east-1", "us-west-2", "eu-central-1"):
            assert any(
                (r.model_id, r.region, r.scope, r.service_tier) == (model_id, region, scope, "standard")
                and r.effective_from <= DAY
                for r in ROWS
            ), (model_id, region, scope)


def test_the_sample_datas_unpriced_model_stays_unpriced() -> None:
    assert not any(row.model_id == "acme.unlisted-model-v1:0" for row in ROWS)


def test_coverage_of_providers_and_regions() -> None:
    providers = {row.model_id.split(".")[0] for row in ROWS}
    assert {"anthropic", "amazon", "meta", "mistral", "cohere", "ai21", "deepseek", "openai", "qwen", "writer"} <= (
        providers
    )
    for region in ("us-east-1", "us-west-2", "eu-central-1", "eu-west-1", "ap-northeast-1", "ap-southeast-2"):
        assert price("openai.gpt-oss-120b-1:0", region)["input"] > 0


def test_every_row_names_its_source() -> None:
    assert all(row.source.startswith(("litellm 1.", "genai-prices 0.")) for row in ROWS)


def test_price_list_names_map_to_catalog_models() -> None:
    assert set(read_names().values()) <= {row.model_id for row in ROWS}


D = Decimal
PINNED = [
    # Claude Sonnet 4.5: geo (us.) and in-region 10% above global; cache 5m = 1.25x, 1h = 2x, read = 0.1x input.
    ((SONNET_45, "us-east-1", "geo"), {"input": D("3.3"), "output": D("16.5"), "cache_write_5m": D("4.125")}),
    ((SONNET_45, "us-east-1", "global"), {"input": D(3), "output": D(15), "cache_read": D("0.3")}),
    ((SONNET_45, "us-east-1", "global"), {"cache_write_5m": D("3.75"), "cache_write_1h": D(6)}),
    ((SONNET_45, "eu-central-1", "in_region"), {"input": D("3.3"), "cache_write_1h": D("6.6")}),
    ((HAIKU_45, "us-west-2", "geo"), {"input": D("1.1"), "output": D("5.5"), "cache_read": D("0.11")}),
    ((HAIKU_45, "ap-northeast-1", "global"), {"input": D(1), "output": D(5), "cache_write_1h": D(2)}),
    (("anthropic.claude-3-haiku-20240307-v1:0", "us-east-1", "in_region"), {"input": D("0.25"), "output": D("1.25")}),
    # Nova: cheaper cache reads, free cache writes, EU priced above US.
    (("amazon.nova-micro-v1:0", "us-east-1", "in_region"), {"input": D("0.035"), "output": D("0.14")}),
    (("amazon.nova-micro-v1:0", "us-west-2", "geo"), {"cache_read": D("0.00875"), "cache_write_5m": D(0)}),
    (("amazon.nova-micro-v1:0", "eu-central-1", "geo"), {"input": D("0.046"), "output": D("0.184")}),
    (("amazon.nova-lite-v1:0", "us-east-1", "geo"), {"input": D("0.06"), "output": D("0.24")}),
    (("amazon.nova-pro-v1:0", "us-east-1", "in_region"), {"input": D("0.8"), "output": D("3.2")}),
    (("amazon.titan-embed-text-v2:0", "us-east-1", "in_region"), {"input": D("0.02"), "output": D(0)}),
    (("meta.llama3-1-70b-instruct-v1:0", "us-west-2", "in_region"), {"input": D("0.72"), "output": D("0.72")}),
    (("mistral.mistral-large-2407-v1:0", "us-west-2", "in_region"), {"input": D(2), "output": D(6)}),
]


@pytest.mark.parametrize(("where", "expected"), PINNED, ids=lambda v: "|".join(v) if isinstance(v, tuple) else "")
def test_pinned_prices(where: tuple[str, str, str], expected: dict) -> None:
    actual = price(*where)
    assert {column: actual.get(column) for column in expected} == expected


def test_sonnet_45_long_context_prices_the_whole_request_above_200k() -> None:
    assert price(SONNET_45, scope="geo", prompt_tokens=200_000)["input"] == D("3.3")
    assert price(SONNET_45, scope="geo", prompt_tokens=200_001) == {
        "input": D("6.6"),
        "output": D("24.75"),
        "cache_read": D("0.66"),
        "cache_write_5m": D("8.25"),
        "cache_write_1h": D("13.2"),
    }
    assert price(SONNET_45, "eu-west-1", "global", prompt_tokens=300_000)["input"] == D(6)
