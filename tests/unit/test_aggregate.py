"""``aggregate``: ``daily_costs`` group sums and ``invocation_tags`` on a few hand-made ledger rows."""

from __future__ import annotations

import random
from datetime import datetime
from decimal import Decimal

import pytest

from bedrock_costs.aggregate import daily_costs, invocation_tags
from bedrock_costs.schemas import DAILY_COSTS, DAILY_GROUP_KEYS, INVOCATION_TAGS, INVOCATIONS

D = Decimal
DAY = "2025-08-22"
SONNET = "anthropic.claude-sonnet-4-20250514-v1:0"
TOKENS = ("input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens", "output_tokens")
COSTS = ("input_cost", "cache_read_cost", "cache_write_cost", "output_cost", "total_cost", "cache_savings")
GROUP = {
    "account_id": "123456789012",
    "region": "us-east-1",
    "model_id": SONNET,
    "model_provider": "anthropic",
    "inference_scope": "geo",
    "service_tier": "standard",
    "operation": "Converse",
    "principal_type": "assumed_role",
    "principal_name": "AppRole",
    "tenant": "acme",
    "application": "chatbot",
    "cost_center": None,
    "team": "core",
    "environment": "prod",
    "pricing_status": "priced",
}


def ledger(request_id: str, tokens=(0, 0, 0, 0, 0), costs=None, latency=None, **values) -> tuple:
    """One ``invocations`` row in schema order; ``costs`` as decimal strings, ``None`` for an unpriced row."""
    row = {
        **GROUP,
        "request_id": request_id,
        "event_time": datetime(2025, 8, 22, 9, 41, 6),
        "usage_date": DAY,
        "status": "success",
        "guardrail_intervened": False,
        "latency_ms": latency,
        **dict(zip(TOKENS, tokens, strict=True)),
        # The 1h writes are part of the cache writes; a missing output count adds nothing.
        "total_tokens": tokens[0] + tokens[1] + tokens[2] + (tokens[4] or 0),
        **dict(zip(COSTS, (None,) * 6 if costs is None else map(D, costs), strict=True)),
        **values,
    }
    return tuple(row.get(field.name) for field in INVOCATIONS.fields)


ROWS = [
    # Group A: three priced requests, one stopped by a guardrail.
    ledger(
        "a1",
        (100, 10, 20, 5, 50),
        ("0.1", "0.01", "0.02", "0.05", "0.18", "0.009"),
        100,
        request_metadata={"TenantID": "acme", "team": "core"},
    ),
    ledger("a2", (200, 0, 0, 0, 0), ("0.000000035", "0", "0", "0", "0.000000035", "0"), 400),
    ledger(
        "a3",
        (300, 0, 0, 0, 25),
        ("0.3", "0", "0", "0.000000000000000001", "0.300000000000000001", "0"),
        200,
        guardrail_intervened=True,
        request_metadata={},
    ),
    # Group B: the same keys on another day.
    ledger("b1", (1, 0, 0, 0, 1), ("1", "0", "0", "1", "2", "0"), 7, usage_date="2025-08-23"),
    # Group C: two failed calls, not billed (zero cost, not null).
    ledger("c1", costs=("0",) * 6, status="error", pricing_status="not_billed"),
    ledger("c2", costs=("0",) * 6, status="error", pricing_status="not_billed"),
    # Group D: unpriced requests, costs stay null; null tenant groups together.
    ledger(
        "d1",
        (10, 0, 0, 0, None),
        None,
        None,
        pricing_status="unpriced_model",
        tenant=None,
        request_metadata={"env": "dev"},
    ),
    ledger("d2", (20, 0, 0, 0, 5), None, 50, pricing_status="unpriced_model", tenant=None, request_metadata=None),
]


def key(row: dict) -> tuple:
    return (row["usage_date"], row["pricing_status"])


@pytest.fixture(scope="module")
def ledger_frame(spark):
    return spark.createDataFrame(ROWS, INVOCATIONS)


@pytest.fixture(scope="module")
def daily(ledger_frame):
    out = daily_costs(ledger_frame)
    return out.schema, {key(row): row.asDict() for row in out.collect()}


def test_daily_costs_schema(daily):
    schema, _ = daily
    assert [(f.name, f.dataType) for f in schema.fields] == [(f.name, f.dataType) for f in DAILY_COSTS.fields]


def test_daily_costs_groups(daily):
    _, rows = daily
    assert set(rows) == {(DAY, "priced"), ("2025-08-23", "priced"), (DAY, "not_billed"), (DAY, "unpriced_model")}
    assert rows[(DAY, "unpriced_model")]["tenant"] is None
    assert {k: rows[(DAY, "priced")][k] for k in DAILY_GROUP_KEYS} == GROUP


@pytest.mark.parametrize(
    ("group", "expected"),
    [
        pytest.param(
            (DAY, "priced"),
            {
                "request_count": 3,
                "error_count": 0,
                "guardrail_intervened_count": 1,
                "input_tokens": 600,
                "cache_read_tokens": 10,
                "cache_write_tokens": 20,
                "cache_write_1h_tokens": 5,
                "output_tokens": 75,
                "total_tokens": 705,
                "input_cost": D("0.400000035"),
                "cache_read_cost": D("0.01"),
                "cache_write_cost": D("0.02"),
                "output_cost": D("0.050000000000000001"),
                "total_cost": D("0.480000035000000001"),
                "cache_savings": D("0.009"),
                "latency_ms_avg": pytest.approx(700 / 3),
                "latency_ms_p50": 200,
                "latency_ms_p90": 400,
                "latency_ms_max": 400,
            },
            id="priced",
        ),
        pytest.param(
            ("2025-08-23", "priced"),
            {"request_count": 1, "input_tokens": 1, "total_tokens": 2, "total_cost": D("2"), "latency_ms_max": 7},
            id="other-day",
        ),
        pytest.param(
            (DAY, "not_billed"),
            {
                "request_count": 2,
                "error_count": 2,
                "input_tokens": 0,
                "total_tokens": 0,
                **dict.fromkeys(COSTS, D(0)),
                "latency_ms_avg": None,
                "latency_ms_p50": None,
                "latency_ms_max": None,
            },
            id="not-billed",
        ),
        pytest.param(
            (DAY, "unpriced_model"),
            {
                "request_count": 2,
                "error_count": 0,
                "input_tokens": 30,
                "output_tokens": 5,
                "total_tokens": 35,
                **dict.fromkeys(COSTS),
                "latency_ms_avg": 50.0,
                "latency_ms_p50": 50,
                "latency_ms_max": 50,
            },
            id="unpriced-stays-null",
        ),
    ],
)
def test_daily_costs_sums(daily, group, expected):
    _, rows = daily
    assert {k: rows[group][k] for k in expected} == expected


@pytest.mark.parametrize("requests", [70, 20_011])
def test_latency_percentiles_are_exact_nearest_ranks(spark, requests):
    """p50 and p90 are the latencies at ranks ⌈n/2⌉ and ⌈9n/10⌉ (computed here in integers), a missing latency
    left out; past 10,000 requests in a group ``percentile_approx`` was off by a few ranks.
    """
    latencies = random.Random(requests).sample(range(1, 10 * requests), requests)  # distinct: a wrong rank shows
    rows = [ledger(f"r{i}", latency=ms) for i, ms in enumerate(latencies)] + [ledger("no-latency")]
    (row,) = daily_costs(spark.createDataFrame(rows, INVOCATIONS)).collect()
    ordered = sorted(latencies)
    p50, p90 = ordered[-(-requests // 2) - 1], ordered[-(-9 * requests // 10) - 1]
    assert (row.request_count, row.latency_ms_p50, row.latency_ms_p90) == (requests + 1, p50, p90)


def test_invocation_tags(ledger_frame):
    out = invocation_tags(ledger_frame)
    assert [(f.name, f.dataType) for f in out.schema.fields] == [(f.name, f.dataType) for f in INVOCATION_TAGS.fields]
    rows = {(row["request_id"], row["tag_key"]): row.asDict() for row in out.collect()}
    assert set(rows) == {("a1", "TenantID"), ("a1", "team"), ("d1", "env")}
    assert rows[("a1", "TenantID")] == {
        "request_id": "a1",
        "tag_key": "TenantID",
        "tag_value": "acme",
        "total_cost": D("0.18"),
        "total_tokens": 180,
        "pricing_status": "priced",
        "usage_date": DAY,
    }
    assert rows[("a1", "team")]["tag_value"] == "core"
    assert (rows[("d1", "env")]["tag_value"], rows[("d1", "env")]["total_cost"]) == ("dev", None)
