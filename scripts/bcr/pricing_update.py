"""Compare the catalog with the AWS Price List API and turn differences into new, effective-dated rows.

Two offers price Bedrock models, with different conventions:

* ``AmazonBedrock`` (Nova, Titan, Llama, Mistral, ...): a ``model`` attribute, kebab-case usage types such as
  ``USE1-NovaMicro-input-tokens-batch`` or ``...-cross-region-global``, prices per ``1K tokens``.
* ``AmazonBedrockFoundationModels`` (Marketplace: Claude, Cohere, AI21, ...): only a ``servicename`` like
  ``"Claude Sonnet 4.5 (Amazon Bedrock Edition)"``, usage types such as ``USE1-MP:USE1_InputTokenCount_Global-Units``
  or ``USE1-MP:USE1_cache_write_tokens_1h_long_ctx_standard-Units``, prices per 1M tokens (unit ``Units``).

Neither names the Bedrock model id, so ``pricing/price_list_names.csv`` maps names to ids. Everything here is
pure except :func:`make_client` and :func:`fetch_price_list`; an item that cannot be mapped is reported with
the reason, never guessed.
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NamedTuple

import boto3

from bedrock_costs.catalog import ANY_REGION, DEFAULT_CATALOG, TOKEN_RATES, Key, PriceRow, find_price

SERVICE_CODES = ("AmazonBedrock", "AmazonBedrockFoundationModels")
# The Price List query API answers in us-east-1, eu-central-1 and ap-south-1 only; prices of every region are there.
PRICING_API_REGION = "us-east-1"
NAMES_FILE = DEFAULT_CATALOG.with_name("price_list_names.csv")
EDITION_SUFFIX = " (Amazon Bedrock Edition)"

_BEDROCK_USAGE = re.compile(
    r"^[A-Z0-9]+-(?P<model>.+?)-"
    r"(?P<cls>input-tokens|output-tokens|cache-read-input-token-count|cache-write-input-token-count)"
    r"(?P<mods>(?:-[a-z0-9]+)*)$"
)
_BEDROCK_MODS = re.compile(r"^(?:-cross-region-(?P<route>global|geo))?(?:-(?P<tier>batch|flex|priority|standard))?$")
_MARKETPLACE_USAGE = re.compile(
    r"^[A-Z0-9]+-MP:[A-Z0-9]+_"
    r"(?P<cls>CacheWrite1hInputTokenCount|CacheWriteInputTokenCount|CacheReadInputTokenCount|InputTokenCount"
    r"|OutputTokenCount|cache_write_tokens_1h|cache_write_tokens|cache_read_tokens|input_tokens|output_tokens)"
    r"(?P<mods>(?:_[A-Za-z0-9]+)*)-Units$"
)
_MARKETPLACE_MODS = re.compile(
    r"^(?P<long>_long_ctx)?(?:_(?P<route>global|geo))?(?:_(?P<tier>batch|flex|priority|standard))?$"
)
COLUMN_OF_CLASS = {
    "input-tokens": "usd_per_1m_input",
    "output-tokens": "usd_per_1m_output",
    "cache-read-input-token-count": "usd_per_1m_cache_read",
    "cache-write-input-token-count": "usd_per_1m_cache_write_5m",
    "InputTokenCount": "usd_per_1m_input",
    "OutputTokenCount": "usd_per_1m_output",
    "CacheReadInputTokenCount": "usd_per_1m_cache_read",
    "CacheWriteInputTokenCount": "usd_per_1m_cache_write_5m",
    "CacheWrite1hInputTokenCount": "usd_per_1m_cache_write_1h",
    "input_tokens": "usd_per_1m_input",
    "output_tokens": "usd_per_1m_output",
    "cache_read_tokens": "usd_per_1m_cache_read",
    "cache_write_tokens": "usd_per_1m_cache_write_5m",
    "cache_write_tokens_1h": "usd_per_1m_cache_write_1h",
}
# Multiplier from a price dimension's unit to USD per 1M tokens. Marketplace token SKUs say "Units" and are per 1M.
PER_MILLION = {"1K tokens": Decimal(1000), "1M tokens": Decimal(1), "Units": Decimal(1)}


def make_client() -> Any:
    """The one place a real AWS client is made; tests replace it with a stubbed one."""
    return boto3.client("pricing", region_name=PRICING_API_REGION)


def fetch_price_list(client: Any, service_code: str, region: str) -> list[dict[str, Any]]:
    """Every product of one offer in one region (``get_products``, all pages), JSON-decoded."""
    pages = client.get_paginator("get_products").paginate(
        ServiceCode=service_code,
        Filters=[{"Type": "TERM_MATCH", "Field": "regionCode", "Value": region}],
        FormatVersion="aws_v1",
        MaxResults=100,
    )
    return [json.loads(item) for page in pages for item in page["PriceList"]]


def read_names(path: str | Path = NAMES_FILE) -> dict[str, str]:
    """Price List model name -> Bedrock model id."""
    with Path(path).open(encoding="utf-8", newline="") as handle:
        return {row["price_list_name"]: row["model_id"] for row in csv.DictReader(handle)}


@dataclass(frozen=True)
class Rate:
    """One Price List price, placed on one catalog key and column (USD per 1M tokens)."""

    model_id: str
    region: str
    scope: str
    service_tier: str
    long_context: bool
    column: str
    usd_per_1m: Decimal
    usage_type: str
    source: str


@dataclass(frozen=True)
class Unmapped:
    """A Price List item the catalog has no place for, and why."""

    usage_type: str
    reason: str


def _usd_per_unit(item: Mapping[str, Any]) -> tuple[Decimal, str]:
    dimensions = [d for term in item["terms"]["OnDemand"].values() for d in term["priceDimensions"].values()]
    if len(dimensions) != 1:
        raise ValueError(f"{len(dimensions)} price dimensions, expected 1")
    try:
        return Decimal(dimensions[0]["pricePerUnit"]["USD"]), dimensions[0]["unit"]
    except (KeyError, InvalidOperation) as exc:
        raise ValueError(f"no USD price ({exc})") from exc


class Usage(NamedTuple):
    """What a usage type says: the catalog column, routing, tier, long-context flag and its model segment."""

    column: str
    route: str
    tier: str
    long_context: bool
    model_segment: str


def parse_usage_type(service_code: str, usage_type: str, feature: str = "") -> Usage:
    """Read a usage type; ``ValueError`` says why it is no on-demand token rate the catalog holds."""
    if feature and "inference" not in feature.lower():
        raise ValueError(f"feature {feature!r} is not inference")
    bedrock = service_code == "AmazonBedrock"
    usage = (_BEDROCK_USAGE if bedrock else _MARKETPLACE_USAGE).match(usage_type)
    if usage is None:
        raise ValueError("not an on-demand token price")
    mods = (_BEDROCK_MODS if bedrock else _MARKETPLACE_MODS).match(usage["mods"].lower())
    if mods is None:
        raise ValueError(f"modifier {usage['mods'].lstrip('-_')!r} is not a catalog scope or tier")
    tier = mods["tier"] or ("batch" if "batch" in feature.lower() else "standard")
    long_context = not bedrock and bool(mods["long"])
    segment = usage["model"] if bedrock else ""
    return Usage(COLUMN_OF_CLASS[usage["cls"]], mods["route"] or "regional", tier, long_context, segment)


def map_item(item: Mapping[str, Any], names: Mapping[str, str]) -> list[Rate] | Unmapped:
    """Place one Price List product on catalog keys: a regional price is both the in-region and geo price."""
    attributes = item["product"]["attributes"]
    service_code = attributes.get("servicecode", item.get("serviceCode", ""))
    usage_type = attributes.get("usagetype", "")
    try:
        usage = parse_usage_type(service_code, usage_type, attributes.get("feature", ""))
        price, unit = _usd_per_unit(item)
    except ValueError as exc:
        return Unmapped(usage_type, str(exc))
    if unit not in PER_MILLION or (unit == "Units" and service_code == "AmazonBedrock"):
        return Unmapped(usage_type, f"unknown unit {unit!r}")
    name = (
        attributes.get("model") or attributes.get("servicename", "").removesuffix(EDITION_SUFFIX) or usage.model_segment
    )
    if name not in names:
        return Unmapped(usage_type, f"no model id for price list name {name!r} (add it to {NAMES_FILE.name})")
    source = f"AWS Price List API {service_code} {item.get('publicationDate', '')}".strip()
    scopes = {"global": ("global",), "geo": ("geo",)}.get(usage.route, ("in_region", "geo"))
    usd = (price * PER_MILLION[unit]).normalize()
    region = attributes["regionCode"]
    return [
        Rate(names[name], region, scope, usage.tier, usage.long_context, usage.column, usd, usage_type, source)
        for scope in scopes
    ]


@dataclass(frozen=True)
class Offer:
    """Everything the Price List says about one catalog key."""

    key: Key
    rates: Mapping[str, Decimal]
    source: str


@dataclass
class UpdatePlan:
    """What the Price List would change in the catalog, as of one effective date."""

    effective_from: date
    new_models: list[Offer] = field(default_factory=list)
    new_keys: list[tuple[Offer, PriceRow | None]] = field(default_factory=list)
    changed: list[tuple[Offer, PriceRow]] = field(default_factory=list)
    unchanged: int = 0
    unmapped: list[Unmapped] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _offers(rates: Iterable[Rate], rows: Sequence[PriceRow], skipped: list[str]) -> list[Offer]:
    """Group rates by catalog key. Geo keys only for models the catalog prices by geo profile at all;
    long-context rates go to the catalog's long-context threshold for the model."""
    geo_models = {row.model_id for row in rows if row.scope == "geo"}
    thresholds: dict[str, int] = defaultdict(int)
    for row in rows:
        thresholds[row.model_id] = max(thresholds[row.model_id], row.prompt_tokens_above)
    grouped: dict[Key, list[Rate]] = defaultdict(list)
    for rate in rates:
        if rate.scope == "geo" and rate.model_id not in geo_models:
            continue
        threshold = thresholds[rate.model_id] if rate.long_context else 0
        if rate.long_context and not threshold:
            skipped.append(
                f"{rate.usage_type}: long-context price, but the catalog has no threshold for {rate.model_id}"
            )
            continue
        grouped[(rate.model_id, rate.region, rate.scope, rate.service_tier, threshold)].append(rate)
    return [
        Offer(
            key=key,
            rates={rate.column: rate.usd_per_1m for rate in group},
            source=max(rate.source for rate in group),
        )
        for key, group in sorted(grouped.items())
    ]


def plan_update(
    rows: Sequence[PriceRow], items: Iterable[Mapping[str, Any]], names: Mapping[str, str], effective_from: date
) -> UpdatePlan:
    """Compare Price List items with the prices the catalog gives on ``effective_from``."""
    plan = UpdatePlan(effective_from)
    rates: list[Rate] = []
    for item in items:
        mapped = map_item(item, names)
        if isinstance(mapped, Unmapped):
            plan.unmapped.append(mapped)
        else:
            rates += mapped
    known_models = {row.model_id for row in rows}
    for offer in _offers(rates, rows, plan.skipped):
        model_id, region, scope, tier, threshold = offer.key
        current = find_price(
            rows,
            model_id=model_id,
            region=region,
            scope=scope,
            service_tier=tier,
            on=effective_from,
            prompt_tokens=threshold + 1 if threshold else 0,
        )
        if current is not None and current.prompt_tokens_above != threshold:
            current = None
        if model_id not in known_models:
            plan.new_models.append(offer)
        elif current is None or (current.region != region and _differs(offer, current)):
            plan.new_keys.append((offer, current))
        elif not _differs(offer, current):
            plan.unchanged += 1
        elif current.effective_from >= effective_from or current.effective_to is not None:
            plan.skipped.append(
                f"{current.price_key} (line {current.row_number}) already has a period from {current.effective_from}"
                f" to {current.effective_to or 'open'}; not replaced from {effective_from}"
            )
        else:
            plan.changed.append((offer, current))
    return plan


def _differs(offer: Offer, row: PriceRow) -> bool:
    return any(getattr(row, column) != value for column, value in offer.rates.items())


def _new_row(offer: Offer, basis: PriceRow | None, effective_from: date) -> PriceRow:
    """The offer's rates over the current row's (the Price List may not list every column)."""
    model_id, region, scope, tier, threshold = offer.key
    rates = {column: getattr(basis, column) if basis else None for column in TOKEN_RATES}
    rates.update(offer.rates)
    return PriceRow(
        row_number=0,
        model_id=model_id,
        region=region,
        scope=scope,
        service_tier=tier,
        prompt_tokens_above=threshold,
        unit="token",
        usd_per_unit=None,
        effective_from=effective_from,
        effective_to=None,
        source=offer.source,
        **rates,
    )


def apply_plan(rows: Sequence[PriceRow], plan: UpdatePlan) -> list[PriceRow]:
    """The catalog with the plan applied, sorted: a changed price closes its row's open period on the
    effective date and adds a row from that date. Nothing else of any existing row changes."""
    on = plan.effective_from
    closing: dict[int, PriceRow] = {}
    added: list[PriceRow] = []
    for offer in plan.new_models:
        added.append(_new_row(offer, None, on))
    for offer, current in plan.new_keys:
        added.append(_new_row(offer, current, on))
    for offer, current in plan.changed:
        closing[current.row_number] = replace(current, effective_to=on)
        added.append(_new_row(offer, current, on))
    kept = [closing.get(row.row_number, row) for row in rows]
    return sorted([*kept, *added], key=lambda row: row.sort_key)


def _rates_text(rates: Mapping[str, object]) -> str:
    return ", ".join(f"{column.removeprefix('usd_per_1m_')} {value}" for column, value in rates.items())


def describe_plan(plan: UpdatePlan) -> list[str]:
    """The diff, one line per finding, for people to review before ``--write``."""
    lines = [f"new model  {'|'.join(map(str, o.key))}: {_rates_text(o.rates)}" for o in plan.new_models]
    for offer, basis in plan.new_keys:
        via = f" (now priced by '{ANY_REGION}' row {basis.price_key})" if basis else ""
        lines.append(f"new key    {'|'.join(map(str, offer.key))}: {_rates_text(offer.rates)}{via}")
    for offer, current in plan.changed:
        changes = {c: f"{getattr(current, c)} -> {v}" for c, v in offer.rates.items() if getattr(current, c) != v}
        lines.append(f"changed    {current.price_key}: {_rates_text(changes)}")
    lines += [f"unmapped   {u.usage_type}: {u.reason}" for u in sorted(plan.unmapped, key=lambda u: u.usage_type)]
    lines += [f"skipped    {reason}" for reason in plan.skipped]
    lines.append(
        f"{len(plan.new_models)} new model key(s), {len(plan.new_keys)} new key(s), {len(plan.changed)} changed, "
        f"{plan.unchanged} unchanged, {len(plan.unmapped)} unmapped usage type(s) (effective {plan.effective_from})"
    )
    return lines
