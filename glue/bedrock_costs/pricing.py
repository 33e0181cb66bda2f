"""Stage: price every request against the effective-dated catalog, per token class, in exact decimals.

The catalog lookup (``catalog.find_price``) runs once per distinct (model, region, scope, tier, day,
context band) in the driver; Spark only joins the result. Costs are ``tokens × USD per token`` in
``DECIMAL(38,18)``: a single Nova Micro token costs 3.5e-8 USD, and sums over millions of requests stay
exact. A request that cannot be priced keeps null costs and says why in ``pricing_status``; it is never
a silent $0.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from bedrock_costs.catalog import PriceRow, find_price
from bedrock_costs.lookup import join_lookup
from bedrock_costs.schemas import COST, MAX_TOKEN_COUNT, RATE, TOKEN_COLUMNS

PER_MILLION = Decimal(1_000_000)
NOT_TOKEN_PRICED_SCOPES = ("provisioned", "custom", "imported", "marketplace")

# Why a request has (or lacks) a cost, in order of precedence.
PRICING_STATUSES = {
    "priced": "priced from the catalog",
    "not_billed": "the call failed (errorCode); failed calls are not billed",
    "not_token_priced": "provisioned, custom, imported, Marketplace or reserved capacity is billed by the hour",
    "unresolved_profile": "application inference profile missing from the profile map",
    "unknown_model": "modelId could not be read",
    "unpriced_model": "no catalog row for this model, region, scope, tier and date",
    "invalid_tokens": f"a token count is negative or above {MAX_TOKEN_COUNT:,} (see parse_warnings)",
    "missing_tokens": "a token count the model bills is absent or unreadable (see parse_warnings)",
    "cache_ttl_unknown": "cache writes whose 1-hour part is only in an offloaded or undelivered response body",
    "missing_rate": "the catalog row has no rate for a token class this request used",
}
# Token-priced requests the catalog could not price: kept with null cost, counted per run and flagged.
UNPRICED_STATUSES = tuple(
    status for status in PRICING_STATUSES if status not in ("priced", "not_billed", "not_token_priced")
)

_RATE_FIELDS = (
    ("input", "usd_per_1m_input"),
    ("output", "usd_per_1m_output"),
    ("cache_read", "usd_per_1m_cache_read"),
    ("cache_write_5m", "usd_per_1m_cache_write_5m"),
    ("cache_write_1h", "usd_per_1m_cache_write_1h"),
)
# What a catalog lookup depends on; ``_band`` is ``price_band``.
PRICE_KEYS = ("model_id", "region", "inference_scope", "service_tier", "usage_date", "_band")
_PRICE_COLUMNS = T.StructType(
    [T.StructField("price_key", T.StringType())] + [T.StructField(f"_rate_{name}", RATE) for name, _ in _RATE_FIELDS]
)


def prompt_tokens() -> Column:
    """Prompt size that decides a long-context tier: uncached input + cache read + cache write."""
    return F.coalesce(F.col("input_tokens"), F.lit(0)) + F.col("cache_read_tokens") + F.col("cache_write_tokens")


def context_band(prompt: Column, thresholds: Sequence[int]) -> Column:
    """The largest catalog threshold the prompt exceeds (0 if none): all a lookup needs to know of it."""
    band: Column = F.lit(0)
    for threshold in sorted(set(thresholds)):
        if threshold > 0:
            band = F.when(prompt > threshold, F.lit(threshold)).otherwise(band)
    return band


def per_token(rate_per_million: Decimal | None) -> Decimal | None:
    return None if rate_per_million is None else rate_per_million / PER_MILLION


# One cost term: 17 integer digits, 18 decimals. Four terms add up to at most DECIMAL(38,18), so Spark never
# has to drop decimals from a sum (it would from two DECIMAL(38,18) operands).
TERM = T.DecimalType(35, 18)


# Token counts are at most MAX_TOKEN_COUNT (11 digits) when priced: 12 digits × RATE stays within 38 digits
# with all 18 decimals, so a product can neither overflow nor lose precision.
_TOKENS = T.DecimalType(12, 0)


def _cost(tokens: Column, rate: Column) -> Column:
    """tokens × rate, exact; zero tokens cost zero even where the class has no rate."""
    exact = tokens.cast(_TOKENS) * rate
    return F.when(tokens == 0, F.lit(0).cast(TERM)).otherwise(exact.cast(TERM))


def _out_of_range() -> Column:
    """A token count outside ``0..MAX_TOKEN_COUNT``: flagged by the parse, or present in the row itself."""
    flagged = F.exists(F.col("parse_warnings"), lambda w: w.endswith(":out_of_range"))
    stored = [(F.col(c) < 0) | (F.col(c) > MAX_TOKEN_COUNT) for c in TOKEN_COLUMNS if c != "total_tokens"]
    return F.coalesce(flagged, F.lit(False)) | F.coalesce(reduce(operator.or_, stored), F.lit(False))


def _status(rate_missing: Column, rate: dict[str, Column]) -> Column:
    scope = F.col("inference_scope")
    unknown_tokens = (
        F.col("input_tokens").isNull()
        | F.col("cache_read_tokens").isNull()
        | F.col("cache_write_tokens").isNull()
        # No output count is fine for a model that bills no output (embeddings), never $0 for one that does.
        | (F.col("output_tokens").isNull() & (F.coalesce(rate["output"], F.lit(0)) > 0))
    )
    # The split matters only where a 1-hour write costs something else than a 5-minute one.
    ttl_unknown = (
        (F.col("cache_write_tokens") > 0)
        & F.col("cache_write_1h_tokens").isNull()
        & rate["cache_write_1h"].isNotNull()
        & ~rate["cache_write_1h"].eqNullSafe(rate["cache_write_5m"])
    )
    return (
        F.when(F.col("status") == "error", "not_billed")
        .when(scope.isin(*NOT_TOKEN_PRICED_SCOPES) | (F.col("service_tier") == "reserved"), "not_token_priced")
        .when(scope == "application", "unresolved_profile")
        .when(F.col("model_id").isNull(), "unknown_model")
        .when(F.col("price_key").isNull(), "unpriced_model")
        .when(_out_of_range(), "invalid_tokens")
        .when(unknown_tokens, "missing_tokens")
        .when(ttl_unknown, "cache_ttl_unknown")
        .when(rate_missing, "missing_rate")
        .otherwise("priced")
    )


def price_band(catalog: Sequence[PriceRow]) -> Column:
    """A request's long-context band under ``catalog`` (part of its price key)."""
    return context_band(prompt_tokens(), [row.prompt_tokens_above for row in catalog if row.unit == "token"])


def price_invocations(
    df: DataFrame, catalog: Sequence[PriceRow], keys: Iterable[tuple[object, ...]] | None = None
) -> DataFrame:
    """Add ``pricing_status``, ``price_key`` and the cost columns. Grain unchanged: one row per request.

    Expects the token classes, ``model_id``, ``region``, ``inference_scope``, ``service_tier``,
    ``status``, ``usage_date`` and ``parse_warnings``. USD. A request is ``priced`` only when every count it
    is billed for is known and in range and the catalog has a rate for every class it used; a model
    without a 1-hour cache-write rate has no 1-hour writes, so an unknown split does not matter there.
    ``keys``: the distinct ``PRICE_KEYS`` values (with the band as ``price_band`` gives it), when already
    gathered.
    """
    token_rows = [row for row in catalog if row.unit == "token"]
    banded = df.withColumn("_band", price_band(catalog))

    def compute(*key: object) -> tuple[object, ...]:
        model_id, region, scope, tier, day, band = key
        row = None
        if model_id and region and scope and tier and day:
            row = find_price(
                token_rows,
                model_id=str(model_id),
                region=str(region),
                scope=str(scope),
                service_tier=str(tier),
                on=date.fromisoformat(str(day)),
                # Any count above the band's threshold selects the same rows as the real prompt size.
                prompt_tokens=int(band) + 1 if band else 0,
            )
        if row is None:
            return (None,) * (1 + len(_RATE_FIELDS))
        return (row.price_key, *(per_token(getattr(row, field)) for _, field in _RATE_FIELDS))

    priced = join_lookup(banded, PRICE_KEYS, compute, _PRICE_COLUMNS, keys)

    uncached = F.coalesce(F.col("input_tokens"), F.lit(0))
    output = F.coalesce(F.col("output_tokens"), F.lit(0))
    read, write = F.col("cache_read_tokens"), F.col("cache_write_tokens")
    write_1h = F.coalesce(F.col("cache_write_1h_tokens"), F.lit(0))
    write_5m = write - write_1h
    rate = {name: F.col(f"_rate_{name}") for name, _ in _RATE_FIELDS}
    rate_missing = (
        rate["input"].isNull()
        | ((output > 0) & rate["output"].isNull())
        | ((read > 0) & rate["cache_read"].isNull())
        | ((write_5m > 0) & rate["cache_write_5m"].isNull())
        | ((write_1h > 0) & rate["cache_write_1h"].isNull())
    )
    status = _status(rate_missing, rate)
    costs = {
        "input_cost": _cost(uncached, rate["input"]),
        "cache_read_cost": _cost(read, rate["cache_read"]),
        "cache_write_cost": _cost(write_5m, rate["cache_write_5m"]) + _cost(write_1h, rate["cache_write_1h"]),
        "output_cost": _cost(output, rate["output"]),
    }
    total = (costs["input_cost"] + costs["cache_read_cost"] + costs["cache_write_cost"] + costs["output_cost"]).cast(
        COST
    )
    savings = _cost(read, rate["input"] - F.coalesce(rate["cache_read"], rate["input"]))
    zero = F.lit(0).cast(COST)
    null = F.lit(None).cast(COST)
    columns = {**costs, "total_cost": total, "cache_savings": savings}
    result = priced.withColumn("pricing_status", status)
    for name, value in columns.items():
        result = result.withColumn(
            name,
            F.when(F.col("pricing_status") == "priced", value)
            .when(F.col("pricing_status") == "not_billed", zero)
            .otherwise(null),
        )
    return result.withColumn("price_key", F.when(F.col("pricing_status") == "priced", F.col("price_key"))).drop(
        "_band", *(f"_rate_{name}" for name, _ in _RATE_FIELDS)
    )
