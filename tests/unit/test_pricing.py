"""``pricing.price_invocations`` against a small inline catalog: every cost hand-computed, exact as ``Decimal``."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pyspark.sql import functions as F

from bedrock_costs.catalog import COLUMNS, check_catalog, parse_catalog
from bedrock_costs.pricing import PRICING_STATUSES, context_band, per_token, price_invocations, prompt_tokens

# Rates are USD per 1M tokens: input, output, cache read, cache write 5m, cache write 1h.
CATALOG_ROWS = [
    "test.embed,*,in_region,standard,0,0.02,,,,,token,,2024-01-01,,test",
    "test.embed-free-output,*,in_region,standard,0,0.02,0,,,,token,,2024-01-01,,test",
    "test.haiku,*,in_region,standard,0,1,5,0.1,1.25,,token,,2024-01-01,,test",
    "test.nova-micro,*,in_region,standard,0,0.035,0.14,0.00875,,,token,,2024-01-01,,test",
    "test.nova-micro,ap-northeast-1,in_region,standard,0,0.042,0.168,0.0105,,,token,,2024-01-01,,test",
    "test.sonnet,*,geo,standard,0,3.3,16.5,0.33,4.125,6.6,token,,2024-01-01,,test",
    "test.sonnet,*,global,standard,0,2.7,13.5,0.27,3.375,5.4,token,,2024-01-01,,test",
    "test.sonnet,*,in_region,batch,0,,,,,,image,0.04,2024-01-01,,not a token row",
    "test.sonnet,*,in_region,flex,0,1.5,7.5,0.15,1.875,3,token,,2024-01-01,,test",
    "test.sonnet,*,in_region,standard,0,3,15,0.3,3.75,6,token,,2024-01-01,,test",
    "test.sonnet,*,in_region,standard,200000,6,22.5,0.6,7.5,12,token,,2024-01-01,,test",
    "test.titan,*,in_region,standard,0,0.2,0.6,,,,token,,2024-01-01,2025-07-01,test",
    "test.titan,*,in_region,standard,0,0.1,0.3,,,,token,,2025-07-01,,test",
]
CATALOG_TEXT = ",".join(COLUMNS) + "\n" + "\n".join(CATALOG_ROWS) + "\n"

SCHEMA = (
    "request_id string, model_id string, region string, inference_scope string, service_tier string, "
    "status string, usage_date string, input_tokens long, cache_read_tokens long, cache_write_tokens long, "
    "cache_write_1h_tokens long, output_tokens long, parse_warnings array<string>"
)
COSTS = ("input_cost", "cache_read_cost", "cache_write_cost", "output_cost", "total_cost", "cache_savings")
D = Decimal
DAY = "2025-06-01"
SONNET_KEY = "test.sonnet|*|in_region|standard|0|2024-01-01"
SONNET_LONG_KEY = "test.sonnet|*|in_region|standard|200000|2024-01-01"
NOVA_KEY = "test.nova-micro|*|in_region|standard|0|2024-01-01"


def request(
    request_id: str,
    model_id: str | None = "test.sonnet",
    *,
    region: str = "us-east-1",
    scope: str = "in_region",
    tier: str = "standard",
    status: str = "success",
    day: str = DAY,
    tokens: tuple[int | None, int | None, int | None, int | None, int | None] = (0, 0, 0, 0, 0),
    warnings: list[str] | None = None,
) -> tuple:
    """``tokens`` = (input, cache read, cache write, of which 1h, output); ``warnings`` as the parse names them."""
    return (request_id, model_id, region, scope, tier, status, day, *tokens, warnings)


# id -> (request, pricing_status, price_key, (input, cache read, cache write, output, total, savings) in USD)
PRICED = {
    # 1000 × 3e-6 = 0.003 · 2000 × 3e-7 = 0.0006 · 2000 × 3.75e-6 + 1000 × 6e-6 = 0.0135 · 500 × 1.5e-5 = 0.0075
    # savings 2000 × (3e-6 - 3e-7) = 0.0054
    "sonnet-every-class": (
        request("sonnet-every-class", tokens=(1000, 2000, 3000, 1000, 500)),
        SONNET_KEY,
        ("0.003", "0.0006", "0.0135", "0.0075", "0.0246", "0.0054"),
    ),
    "one-nova-token": (
        request("one-nova-token", "test.nova-micro", tokens=(1, 0, 0, 0, 0)),
        NOVA_KEY,
        ("0.000000035", "0", "0", "0", "0.000000035", "0"),
    ),
    # prompt = 100000 + 60000 + 40000 = 200000: not above the threshold, base rates.
    # 0.3 + 60000 × 3e-7 = 0.018 + 40000 × 3.75e-6 = 0.15 + 1000 × 1.5e-5 = 0.015
    "prompt-exactly-200k": (
        request("prompt-exactly-200k", tokens=(100000, 60000, 40000, 0, 1000)),
        SONNET_KEY,
        ("0.3", "0.018", "0.15", "0.015", "0.483", "0.162"),
    ),
    # prompt = 200001: the whole request at the long-context rates.
    # 100001 × 6e-6 = 0.600006 · 60000 × 6e-7 = 0.036 · 40000 × 7.5e-6 = 0.3 · 1000 × 2.25e-5 = 0.0225
    "prompt-200001": (
        request("prompt-200001", tokens=(100001, 60000, 40000, 0, 1000)),
        SONNET_LONG_KEY,
        ("0.600006", "0.036", "0.3", "0.0225", "0.958506", "0.324"),
    ),
    # Only cache reads push the prompt (10 + 200000) over the threshold.
    # 10 × 6e-6 = 0.00006 · 200000 × 6e-7 = 0.12 · 10 × 2.25e-5 = 0.000225; savings 200000 × 5.4e-6 = 1.08
    "long-by-cache-read": (
        request("long-by-cache-read", tokens=(10, 200000, 0, 0, 10)),
        SONNET_LONG_KEY,
        ("0.00006", "0.12", "0", "0.000225", "0.120285", "1.08"),
    ),
    # 1h writes count toward the prompt: 1 + 200000 (all 1h) → long context, 200000 × 1.2e-5 = 2.4
    "long-by-cache-write-1h": (
        request("long-by-cache-write-1h", tokens=(1, 0, 200000, 200000, 0)),
        SONNET_LONG_KEY,
        ("0.000006", "0", "2.4", "0", "2.400006", "0"),
    ),
    # The region's own row beats '*': 1000 × 4.2e-8 + 1000 × 1.68e-7
    "region-row": (
        request("region-row", "test.nova-micro", region="ap-northeast-1", tokens=(1000, 0, 0, 0, 1000)),
        "test.nova-micro|ap-northeast-1|in_region|standard|0|2024-01-01",
        ("0.000042", "0", "0", "0.000168", "0.00021", "0"),
    ),
    # No eu-west-1 row: '*' applies. 1000 × 3.5e-8 + 1000 × 1.4e-7; 1000 reads × 8.75e-9, savings 1000 × 2.625e-8
    "star-row": (
        request("star-row", "test.nova-micro", region="eu-west-1", tokens=(1000, 1000, 0, 0, 1000)),
        NOVA_KEY,
        ("0.000035", "0.00000875", "0", "0.00014", "0.00018375", "0.00002625"),
    ),
    # effective_to is exclusive: 2025-06-30 is the old price, 2025-07-01 the new one.
    "day-before-change": (
        request("day-before-change", "test.titan", day="2025-06-30", tokens=(1000, 0, 0, 0, 1000)),
        "test.titan|*|in_region|standard|0|2024-01-01",
        ("0.0002", "0", "0", "0.0006", "0.0008", "0"),
    ),
    "day-of-change": (
        request("day-of-change", "test.titan", day="2025-07-01", tokens=(1000, 0, 0, 0, 1000)),
        "test.titan|*|in_region|standard|0|2025-07-01",
        ("0.0001", "0", "0", "0.0003", "0.0004", "0"),
    ),
    "geo-scope": (
        request("geo-scope", scope="geo", tokens=(1000, 0, 0, 0, 100)),
        "test.sonnet|*|geo|standard|0|2024-01-01",
        ("0.0033", "0", "0", "0.00165", "0.00495", "0"),
    ),
    "global-scope": (
        request("global-scope", scope="global", tokens=(1000, 0, 0, 0, 100)),
        "test.sonnet|*|global|standard|0|2024-01-01",
        ("0.0027", "0", "0", "0.00135", "0.00405", "0"),
    ),
    "flex-tier": (
        request("flex-tier", tier="flex", tokens=(1000, 0, 0, 0, 100)),
        "test.sonnet|*|in_region|flex|0|2024-01-01",
        ("0.0015", "0", "0", "0.00075", "0.00225", "0"),
    ),
    # Embeddings: no output count and no output rate, still priced. 8 × 2e-8
    "embedding-no-output": (
        request("embedding-no-output", "test.embed", tokens=(8, 0, 0, 0, None)),
        "test.embed|*|in_region|standard|0|2024-01-01",
        ("0.00000016", "0", "0", "0", "0.00000016", "0"),
    ),
    # A class without a rate costs 0 when the request used none of it.
    "unrated-class-unused": (
        request("unrated-class-unused", "test.nova-micro", tokens=(10, 0, 0, 0, 0)),
        NOVA_KEY,
        ("0.00000035", "0", "0", "0", "0.00000035", "0"),
    ),
    # An output rate of 0 (how the catalog lists embeddings too): an unknown count costs nothing. 8 × 2e-8
    "embedding-free-output": (
        request("embedding-free-output", "test.embed-free-output", tokens=(8, 0, 0, 0, None)),
        "test.embed-free-output|*|in_region|standard|0|2024-01-01",
        ("0.00000016", "0", "0", "0", "0.00000016", "0"),
    ),
    # A model without a 1-hour cache-write rate has only 5-minute writes: an unknown split does not matter.
    # 10 × 1e-6 = 0.00001 · 1000 × 1.25e-6 = 0.00125 · 10 × 5e-6 = 0.00005
    "ttl-unknown-without-1h-rate": (
        request("ttl-unknown-without-1h-rate", "test.haiku", tokens=(10, 0, 1000, None, 10)),
        "test.haiku|*|in_region|standard|0|2024-01-01",
        ("0.00001", "0", "0.00125", "0.00005", "0.00131", "0"),
    ),
    # A warning about a field that is not a count (here latency) does not hold back the price. 1000 × 3e-6
    "warning-not-about-tokens": (
        request(
            "warning-not-about-tokens",
            tokens=(1000, 0, 0, 0, 0),
            warnings=["output.outputBodyJson.metrics.latencyMs:wrong_type"],
        ),
        SONNET_KEY,
        ("0.003", "0", "0", "0", "0.003", "0"),
    ),
    # A failed call is not billed: zero, not null.
    "failed-call": (
        request("failed-call", status="error"),
        None,
        ("0", "0", "0", "0", "0", "0"),
    ),
}
STATUS_OF = {case_id: "not_billed" if case_id == "failed-call" else "priced" for case_id in PRICED}

# id -> (request, pricing_status): costs and price_key must be null, never 0.
UNPRICED = {
    "provisioned": (request("provisioned", None, scope="provisioned", tokens=(100, 0, 0, 0, 100)), "not_token_priced"),
    "imported": (request("imported", None, scope="imported", tokens=(100, 0, 0, 0, 100)), "not_token_priced"),
    "reserved-tier": (request("reserved-tier", tier="reserved", tokens=(100, 0, 0, 0, 100)), "not_token_priced"),
    "app-profile": (request("app-profile", None, scope="application", tokens=(100, 0, 0, 0, 1)), "unresolved_profile"),
    "unknown-model": (request("unknown-model", None, scope="unknown", tokens=(100, 0, 0, 0, 1)), "unknown_model"),
    "not-in-catalog": (request("not-in-catalog", "test.unlisted", tokens=(100, 0, 0, 0, 1)), "unpriced_model"),
    "tier-not-in-catalog": (request("tier-not-in-catalog", tier="priority", tokens=(1, 0, 0, 0, 1)), "unpriced_model"),
    "before-catalog": (
        request("before-catalog", "test.titan", day="2023-12-31", tokens=(1, 0, 0, 0, 1)),
        "unpriced_model",
    ),
    "only-a-non-token-row": (
        request("only-a-non-token-row", "test.sonnet", scope="in_region", tier="batch", tokens=(1, 0, 0, 0, 1)),
        "unpriced_model",
    ),
    "no-input-count": (request("no-input-count", tokens=(None, 0, 0, 0, 10)), "missing_tokens"),
    # Sonnet bills output: an unknown output count is never $0 of output.
    "no-output-count": (request("no-output-count", tokens=(10, 0, 0, 0, None)), "missing_tokens"),
    "cache-read-unreadable": (request("cache-read-unreadable", tokens=(10, None, 0, 0, 10)), "missing_tokens"),
    "cache-write-unreadable": (request("cache-write-unreadable", tokens=(10, 0, None, None, 10)), "missing_tokens"),
    # Counts a parse would flag, arriving unflagged (a stored row, another producer): never priced.
    "negative-output": (request("negative-output", tokens=(10, 0, 0, 0, -5)), "invalid_tokens"),
    "input-1e12": (request("input-1e12", tokens=(10**12, 0, 0, 0, 1)), "invalid_tokens"),
    "output-5e18": (request("output-5e18", tokens=(1, 0, 0, 0, 5 * 10**18)), "invalid_tokens"),
    "flagged-out-of-range": (
        request("flagged-out-of-range", tokens=(None, 0, 0, 0, 1), warnings=["input.inputTokenCount:out_of_range"]),
        "invalid_tokens",
    ),
    "ttl-unknown": (request("ttl-unknown", tokens=(10, 0, 1000, None, 10)), "cache_ttl_unknown"),
    "cache-write-without-rate": (
        request("cache-write-without-rate", "test.nova-micro", tokens=(10, 0, 100, 0, 10)),
        "missing_rate",
    ),
    "cache-write-1h-without-rate": (
        request("cache-write-1h-without-rate", "test.nova-micro", tokens=(10, 0, 100, 100, 10)),
        "missing_rate",
    ),
    "output-without-rate": (request("output-without-rate", "test.embed", tokens=(10, 0, 0, 0, 5)), "missing_rate"),
}


@pytest.fixture(scope="module")
def catalog():
    rows = parse_catalog(CATALOG_TEXT)
    assert check_catalog(rows) == []
    return rows


@pytest.fixture(scope="module")
def priced(spark, catalog):
    requests = [case[0] for case in PRICED.values()] + [case[0] for case in UNPRICED.values()]
    out = price_invocations(spark.createDataFrame(requests, SCHEMA), catalog)
    rows = {row["request_id"]: row.asDict() for row in out.collect()}
    rows["_schema"] = {f.name: f.dataType.simpleString() for f in out.schema.fields}
    return rows


@pytest.mark.parametrize("case_id", list(PRICED))
def test_priced(priced, case_id):
    _, price_key, costs = PRICED[case_id]
    row = priced[case_id]
    assert (row["pricing_status"], row["price_key"]) == (STATUS_OF[case_id], price_key)
    assert {c: row[c] for c in COSTS} == {c: D(v) for c, v in zip(COSTS, costs, strict=True)}
    assert all(isinstance(row[c], Decimal) for c in COSTS)
    assert (
        row["total_cost"] == row["input_cost"] + row["cache_read_cost"] + row["cache_write_cost"] + row["output_cost"]
    )


@pytest.mark.parametrize("case_id", list(UNPRICED))
def test_unpriced_costs_are_null_never_zero(priced, case_id):
    row = priced[case_id]
    assert row["pricing_status"] == UNPRICED[case_id][1]
    assert row["price_key"] is None
    assert {c: row[c] for c in COSTS} == dict.fromkeys(COSTS)


def test_every_pricing_status_is_covered():
    statuses = set(STATUS_OF.values()) | {status for _, status in UNPRICED.values()}
    assert statuses == set(PRICING_STATUSES)


def test_output_keeps_the_input_columns_and_grain(priced):
    assert len(priced) - 1 == len(PRICED) + len(UNPRICED)
    row = priced["sonnet-every-class"]
    assert (row["input_tokens"], row["cache_write_1h_tokens"], row["usage_date"]) == (1000, 1000, DAY)
    assert not any(column.startswith("_") for column in row)


def test_output_columns(priced):
    schema = priced["_schema"]
    assert {name: schema[name] for name in COSTS} == dict.fromkeys(COSTS, "decimal(38,18)")
    assert (schema["pricing_status"], schema["price_key"]) == ("string", "string")
    assert list(schema)[: len(SCHEMA.split(","))] == [part.split()[0] for part in SCHEMA.split(",")]


def test_a_million_single_token_requests_sum_exactly(spark, catalog):
    """1,000,000 × 3.5e-8 USD must be exactly 0.035 USD, not a float approximation."""
    requests = spark.range(1_000_000).select(
        F.concat(F.lit("r-"), F.col("id").cast("string")).alias("request_id"),
        F.lit("test.nova-micro").alias("model_id"),
        F.lit("us-east-1").alias("region"),
        F.lit("in_region").alias("inference_scope"),
        F.lit("standard").alias("service_tier"),
        F.lit("success").alias("status"),
        F.lit(DAY).alias("usage_date"),
        F.lit(1).cast("long").alias("input_tokens"),
        *(F.lit(0).cast("long").alias(c) for c in ("cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens")),
        F.lit(0).cast("long").alias("output_tokens"),
        F.lit(None).cast("array<string>").alias("parse_warnings"),
    )
    totals = (
        price_invocations(requests, catalog)
        .agg(F.sum("total_cost").alias("total"), F.sum("input_cost").alias("input"), F.count("*").alias("n"))
        .first()
    )
    assert totals["n"] == 1_000_000
    assert totals["total"] == totals["input"] == D("0.035")
    assert isinstance(totals["total"], Decimal)


@pytest.mark.parametrize(
    ("prompt", "band"),
    [(0, 0), (128000, 0), (128001, 128000), (200000, 128000), (200001, 200000), (10**9, 200000)],
)
def test_context_band(spark, prompt, band):
    # Pure column logic: evaluate it on a literal without touching any data.
    assert spark.range(1).select(context_band(F.lit(prompt), [200000, 0, 128000, 200000])).first()[0] == band


def test_prompt_tokens_counts_uncached_input_and_both_cache_classes(spark):
    frame = spark.createDataFrame(
        [(None, 5, 7), (3, 5, 7)], "input_tokens long, cache_read_tokens long, cache_write_tokens long"
    )
    assert [row["p"] for row in frame.select(prompt_tokens().alias("p")).collect()] == [12, 15]


@pytest.mark.parametrize(
    ("per_million", "expected"),
    [(None, None), (D("0.035"), D("0.000000035")), (D("3"), D("0.000003")), (D("0"), D("0"))],
)
def test_per_token(per_million, expected):
    assert per_token(per_million) == expected


def test_sums_of_cost_classes_keep_18_decimals(spark):
    rate = "0.123456789012"  # per 1M = 0.000000123456789012 per token: 18 decimals
    odd = ["test.odd", "*", "in_region", "standard", "0", *[rate] * 5, "token", "", "2024-01-01", "", "t"]
    text = ",".join(COLUMNS) + "\n" + ",".join(odd) + "\n"
    out = price_invocations(
        spark.createDataFrame([request("odd", "test.odd", tokens=(1, 1, 2, 1, 1))], SCHEMA), parse_catalog(text)
    ).first()
    per = D("0.000000123456789012")
    assert out["cache_write_cost"] == 2 * per
    assert out["total_cost"] == 5 * per
