"""Rebuild ``bedrock_prices.csv`` from the litellm price map plus ``supplement.json``.

The CSV is the reviewed artefact; this script only makes it reproducible. Usage::

    pip download --no-deps litellm==1.110.2 -d /tmp/litellm
    python pricing/build_catalog.py /tmp/litellm/litellm-1.110.2-*.whl

The rules that turn litellm keys into catalog rows are in ``pricing/README.md`` ("How the catalog is built").
The script refuses to write a catalog that ``bcr pricing check`` would reject.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from bedrock_costs.catalog import DEFAULT_CATALOG, PriceRow, check_catalog, format_catalog, parse_catalog

HERE = Path(__file__).resolve().parent
LITELLM_FILE = "litellm/model_prices_and_context_window_backup.json"
# Amazon Bedrock general availability: the start of every period whose model id carries no launch date.
BEDROCK_GA = date(2023, 9, 28)
CORE_REGIONS = ("us-east-1", "us-west-2", "eu-central-1", "eu-west-1", "ap-northeast-1", "ap-southeast-2")
# Source regions of each cross-Region profile prefix, most specific prefix first for regions in several.
GEOGRAPHIES = {
    "jp": ("ap-northeast-1", "ap-northeast-3"),
    "au": ("ap-southeast-2", "ap-southeast-4"),
    "in": ("ap-south-1", "ap-south-2"),
    "us-gov": ("us-gov-east-1", "us-gov-west-1"),
    "us": ("us-east-1", "us-east-2", "us-west-1", "us-west-2"),
    "eu": (
        "eu-central-1",
        "eu-central-2",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
    ),
    "apac": (
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-south-1",
        "ap-south-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ap-southeast-4",
    ),
    "ca": ("ca-central-1", "ca-west-1"),
}
PROVIDERS = ("bedrock", "bedrock_converse")
TOKEN_MODES = ("chat", "embedding")
UNIT_PRICES = {"image_generation": ("image", "output_cost_per_image"), "rerank": ("request", "input_cost_per_query")}
UNIT_PRICES["image_edit"] = UNIT_PRICES["image_generation"]
SKIPPED = {
    # a litellm key that is no Bedrock model id
    "anthropic.claude-3-7-sonnet-20240620-v1:0",
    # priced per image by size and quality: one catalog row cannot hold that
    "amazon.nova-canvas-v1:0",
    "amazon.titan-image-generator-v1",
    "amazon.titan-image-generator-v2",
    "amazon.titan-image-generator-v2:0",
}
_REGIONAL_KEY = re.compile(r"^bedrock/(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)/(?P<model>[^/]+)$")
_MODEL_ID = re.compile(r"^[a-z0-9-]+\.[A-Za-z0-9._:-]+$")
_LAUNCH_DATE = re.compile(r"-(20\d\d)(\d\d)(\d\d)-")
_RATE = re.compile(
    r"^(?P<rate>input_cost_per_token|output_cost_per_token|cache_read_input_token_cost"
    r"|cache_creation_input_token_cost_above_1hr|cache_creation_input_token_cost)"
    r"(?:_above_(?P<k>\d+)k_tokens)?(?:_(?P<tier>batches|flex|priority))?$"
)
RATE_COLUMNS = {
    "input_cost_per_token": "usd_per_1m_input",
    "output_cost_per_token": "usd_per_1m_output",
    "cache_read_input_token_cost": "usd_per_1m_cache_read",
    "cache_creation_input_token_cost": "usd_per_1m_cache_write_5m",
    "cache_creation_input_token_cost_above_1hr": "usd_per_1m_cache_write_1h",
}
TIERS = {None: "standard", "batches": "batch", "flex": "flex", "priority": "priority"}
# Anthropic cache rates relative to input, used only where the source leaves one out.
ANTHROPIC_CACHE = {
    "usd_per_1m_cache_read": Decimal("0.1"),
    "usd_per_1m_cache_write_5m": Decimal("1.25"),
    "usd_per_1m_cache_write_1h": Decimal(2),
}

Tier = tuple[str, int]  # (service_tier, prompt_tokens_above)


@dataclass
class Entry:
    """One source entry (a litellm key) as catalog rates: per tier, per column, USD per 1M (or per unit)."""

    key: str
    source: str
    unit: str
    rates: dict[Tier, dict[str, Decimal]]
    borrowed: dict[Tier, str] = field(default_factory=dict)

    def standard(self) -> dict[str, Decimal]:
        return self.rates.get(("standard", 0), {})


@dataclass
class Model:
    """Every entry the sources have for one base model id, by routing."""

    base: Entry | None = None
    regional: dict[str, Entry] = field(default_factory=dict)
    geo: dict[str, Entry] = field(default_factory=dict)
    global_: Entry | None = None


def per_million(value: float) -> Decimal:
    """USD per token (a JSON float) to USD per 1M tokens, exact for every price the sources publish."""
    return (Decimal(repr(value)) * 1_000_000).quantize(Decimal("0.000001")).normalize()


def to_entry(key: str, raw: dict, source: str) -> Entry | None:
    if raw.get("mode") in UNIT_PRICES:
        unit, price_field = UNIT_PRICES[raw["mode"]]
        if raw.get(price_field) is None:
            return None
        return Entry(key, source, unit, {("standard", 0): {"usd_per_unit": Decimal(repr(raw[price_field]))}})
    if raw.get("mode") not in TOKEN_MODES:
        return None
    rates: dict[Tier, dict[str, Decimal]] = defaultdict(dict)
    for name, value in raw.items():
        match = _RATE.match(name)
        if match and isinstance(value, int | float):
            tier = (TIERS[match["tier"]], int(match["k"] or 0) * 1000)
            rates[tier][RATE_COLUMNS[match["rate"]]] = per_million(value)
    rates = {tier: values for tier, values in rates.items() if "usd_per_1m_input" in values}
    return Entry(key, source, "token", rates) if rates else None


def routing(key: str) -> tuple[str, str, str | None] | None:
    """(base model id, routing kind, region or geography) of a litellm key, or None if it is no Bedrock id."""
    regional = _REGIONAL_KEY.match(key)
    if regional:
        model_id, kind, where = regional["model"], "regional", regional["region"]
    elif "/" in key:
        return None
    else:
        head, _, tail = key.partition(".")
        kind, where, model_id = ("global", None, tail) if head == "global" else ("base", None, key)
        if head in GEOGRAPHIES:
            kind, where, model_id = "geo", head, tail
    if not _MODEL_ID.match(model_id) or model_id in SKIPPED:
        return None
    return model_id, kind, where


def load_models(litellm: dict, litellm_label: str, supplement: dict) -> dict[str, Model]:
    models: dict[str, Model] = defaultdict(Model)
    for raw_map, label in ((litellm, litellm_label), (supplement, None)):
        for key, raw in raw_map.items():
            if not isinstance(raw, dict) or raw.get("litellm_provider") not in PROVIDERS:
                continue
            parsed = routing(key)
            entry = to_entry(key, raw, label or raw["source"]) if parsed else None
            if parsed is None or entry is None:
                continue
            model_id, kind, where = parsed
            model = models[model_id]
            if kind == "regional":
                model.regional[where] = entry
            elif kind == "geo":
                model.geo[where] = entry
            elif kind == "global":
                model.global_ = entry
            else:
                model.base = entry
    return models


def borrow_missing(model: Model) -> None:
    """Fill rates an entry leaves out from a sibling entry with the same standard input and output rates.

    litellm often lists long-context, batch or 1h-cache rates on one routing of a model only (e.g. on
    ``us.`` but not ``eu.``); where the standard rates are identical the other rates are too.
    """
    entries = [e for e in (model.base, *model.geo.values(), model.global_, *model.regional.values()) if e]
    for entry in entries:
        own = entry.standard()
        for sibling in entries:
            same = ("usd_per_1m_input", "usd_per_1m_output")
            if sibling is entry or any(own.get(c) != sibling.standard().get(c) for c in same):
                continue
            for tier, values in sibling.rates.items():
                mine = entry.rates.setdefault(tier, {})
                if any(column not in mine for column in values):
                    mine.update({c: v for c, v in values.items() if c not in mine})
                    entry.borrowed.setdefault(tier, sibling.key)


def source_region_entry(model: Model, region: str, default: Entry) -> Entry:
    """The entry priced for requests from ``region``: its own, its geography's, else the default."""
    if region in model.regional:
        return model.regional[region]
    for geography, regions in GEOGRAPHIES.items():
        if region in regions and geography in model.geo:
            return model.geo[geography]
    return default


def derived(model_id: str, tier: Tier, values: dict[str, Decimal]) -> tuple[dict[str, Decimal], list[str]]:
    """Add the cache rates the provider's published rules imply but the source left out."""
    values = dict(values)
    notes: list[str] = []
    caches = ("usd_per_1m_cache_read", "usd_per_1m_cache_write_5m")
    if model_id.startswith("anthropic.") and tier[0] == "standard" and any(c in values for c in caches):
        for column, ratio in ANTHROPIC_CACHE.items():
            if column not in values:
                values[column] = (values["usd_per_1m_input"] * ratio).normalize()
                notes.append(f"{column.removeprefix('usd_per_1m_')}={ratio}x input (Anthropic rule)")
    nova_cache = model_id.startswith("amazon.nova") and "usd_per_1m_cache_read" in values
    if nova_cache and "usd_per_1m_cache_write_5m" not in values:
        values["usd_per_1m_cache_write_5m"] = Decimal(0)
        notes.append("cache writes free (Nova)")
    return values, notes


def rows_for(model_id: str, scope: str, region: str, entry: Entry) -> list[PriceRow]:
    launch = _LAUNCH_DATE.search(model_id)
    start = date(*map(int, launch.groups())) if launch else BEDROCK_GA
    rows = []
    for tier, values in sorted(entry.rates.items()):
        values, notes = derived(model_id, tier, values)
        if tier in entry.borrowed:
            notes.insert(0, f"rates not on that key from [{entry.borrowed[tier]}] (same standard rates)")
        source = "; ".join([f"{entry.source} [{entry.key}]", *notes])
        rows.append(
            PriceRow(
                row_number=0,
                model_id=model_id,
                region=region,
                scope=scope,
                service_tier=tier[0],
                prompt_tokens_above=tier[1],
                usd_per_1m_input=values.get("usd_per_1m_input"),
                usd_per_1m_output=values.get("usd_per_1m_output"),
                usd_per_1m_cache_read=values.get("usd_per_1m_cache_read"),
                usd_per_1m_cache_write_5m=values.get("usd_per_1m_cache_write_5m"),
                usd_per_1m_cache_write_1h=values.get("usd_per_1m_cache_write_1h"),
                unit=entry.unit,
                usd_per_unit=values.get("usd_per_unit"),
                effective_from=start,
                effective_to=None,
                source=source,
            )
        )
    return rows


def model_rows(model_id: str, model: Model, all_regions: list[str]) -> list[PriceRow]:
    """``*`` rows carry the default (US) price; a region gets its own rows if it is core or priced differently."""
    borrow_missing(model)
    rows: list[PriceRow] = []
    default = model.geo.get("us") or model.base or next(iter(model.geo.values()), model.regional.get("us-east-1"))
    scopes = []
    if default is not None:
        scopes.append("in_region")
        if model.geo:
            scopes.append("geo")
    for scope in scopes:
        rows += rows_for(model_id, scope, "*", default)
        for region in all_regions:
            entry = source_region_entry(model, region, default)
            if region in CORE_REGIONS or entry.rates != default.rates:
                rows += rows_for(model_id, scope, region, entry)
    if model.global_ is not None:
        for region in ("*", *CORE_REGIONS):
            rows += rows_for(model_id, "global", region, model.global_)
    return rows


def read_litellm(wheel: Path) -> tuple[dict, str]:
    version = wheel.name.split("-")[1]
    with zipfile.ZipFile(wheel) as archive:
        data = json.loads(archive.read(LITELLM_FILE))
    return data, f"litellm {version} model_prices_and_context_window.json"


def build(litellm: dict, litellm_label: str, supplement: dict) -> list[PriceRow]:
    models = load_models(litellm, litellm_label, supplement)
    all_regions = sorted(
        {*CORE_REGIONS, *(r for regions in GEOGRAPHIES.values() for r in regions)}
        | {region for model in models.values() for region in model.regional}
    )
    rows = [row for model_id, model in models.items() for row in model_rows(model_id, model, all_regions)]
    return sorted(rows, key=lambda row: row.sort_key)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="the litellm wheel (pip download --no-deps litellm==VERSION)")
    parser.add_argument("--supplement", type=Path, default=HERE / "supplement.json")
    parser.add_argument("--out", type=Path, default=DEFAULT_CATALOG)
    args = parser.parse_args(argv)
    litellm, label = read_litellm(args.wheel)
    rows = build(litellm, label, json.loads(args.supplement.read_text(encoding="utf-8")))
    text = format_catalog(rows)
    problems = check_catalog(parse_catalog(text))  # re-read, so problems carry the written line numbers
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {len(rows)} rows for {len({r.model_id for r in rows})} models to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
