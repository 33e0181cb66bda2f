"""The effective-dated Bedrock price catalog: parse, check, look up and write ``pricing/bedrock_prices.csv``.

Pure Python (stdlib only) because it runs inside the Glue job as well as in ``bcr pricing``. The CSV is the
reviewed artefact; this module is its grammar. Every problem names its CSV line so a reviewer can fix it,
and a lookup returns the exact row it used so every priced request records its ``price_key``.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

from bedrock_costs.models import GEO_PREFIXES, GLOBAL_PREFIX

COLUMNS = (
    "model_id",
    "region",
    "scope",
    "service_tier",
    "prompt_tokens_above",
    "usd_per_1m_input",
    "usd_per_1m_output",
    "usd_per_1m_cache_read",
    "usd_per_1m_cache_write_5m",
    "usd_per_1m_cache_write_1h",
    "unit",
    "usd_per_unit",
    "effective_from",
    "effective_to",
    "source",
)
TOKEN_RATES = (
    "usd_per_1m_input",
    "usd_per_1m_output",
    "usd_per_1m_cache_read",
    "usd_per_1m_cache_write_5m",
    "usd_per_1m_cache_write_1h",
)
ANY_REGION = "*"
SCOPES = frozenset({"in_region", "geo", "global"})
SERVICE_TIERS = frozenset({"standard", "batch", "flex", "priority"})
UNITS = frozenset({"token", "image", "video_second", "request"})
# No on-demand Bedrock price comes near this; a bigger number is a unit mistake (per 1K vs per 1M, per token).
MAX_PLAUSIBLE_USD = Decimal(1000)
# Routing prefixes belong to the log's modelId, never to the catalog's base model id.
_PROFILE_PREFIX = re.compile(rf"^(?:{'|'.join(map(re.escape, (GLOBAL_PREFIX, *GEO_PREFIXES)))})\.")
_REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d$")
_DECIMAL = re.compile(r"^-?\d+(?:\.\d+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INTEGER = re.compile(r"^\d+$")

_PACKAGED = Path(__file__).resolve().with_name("data")
PRICING_DIR = _PACKAGED if _PACKAGED.is_dir() else Path(__file__).resolve().parents[2] / "pricing"
"""The reviewed price data: inside an installed wheel (``bedrock_costs/data``), else the checkout's ``pricing/``."""
DEFAULT_CATALOG = PRICING_DIR / "bedrock_prices.csv"
"""The catalog shipped with the code. The Glue job gets its own copy by path, as a job argument."""

Key = tuple[str, str, str, str, int]


class CatalogError(ValueError):
    """The catalog cannot be used; ``problems`` lists every problem, each starting with its line.

    The message itself is one line (the file and its first problem) so a run refusing the catalog says
    what and where without a wall of text; ``bcr pricing check`` prints the whole list.
    """

    def __init__(self, origin: str, problems: Sequence[str]) -> None:
        self.origin = origin
        self.problems = list(problems)
        first = self.problems[0] if self.problems else "unusable"
        more = f"{len(self.problems)} problem(s), the first " if len(self.problems) > 1 else ""
        super().__init__(f"{origin}: {more}{first}")


@dataclass(frozen=True)
class PriceRow:
    """One price for one key over one period; rates are USD per 1,000,000 tokens, ``None`` when not offered."""

    row_number: int
    model_id: str
    region: str
    scope: str
    service_tier: str
    prompt_tokens_above: int
    usd_per_1m_input: Decimal | None
    usd_per_1m_output: Decimal | None
    usd_per_1m_cache_read: Decimal | None
    usd_per_1m_cache_write_5m: Decimal | None
    usd_per_1m_cache_write_1h: Decimal | None
    unit: str
    usd_per_unit: Decimal | None
    effective_from: date
    effective_to: date | None
    source: str

    @property
    def key(self) -> Key:
        """What a period belongs to: two rows with the same key must not overlap and must not leave gaps."""
        return (self.model_id, self.region, self.scope, self.service_tier, self.prompt_tokens_above)

    @property
    def sort_key(self) -> tuple[str, str, str, str, int, date]:
        return (*self.key, self.effective_from)

    @property
    def price_key(self) -> str:
        """Stable, human-readable id of this row, recorded on every fact row priced with it."""
        return "|".join((*map(str, self.key), self.effective_from.isoformat()))

    def valid_on(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day < self.effective_to)


def _decimal(text: str) -> Decimal | None:
    if text == "":
        return None
    if not _DECIMAL.match(text):
        raise ValueError(f"bad decimal {text!r} (plain digits, no exponent)")
    return Decimal(text)


def _date(text: str) -> date:
    if not _DATE.match(text):
        raise ValueError(f"bad date {text!r} (YYYY-MM-DD)")
    return date.fromisoformat(text)


def _row(line: int, values: dict[str, str]) -> tuple[PriceRow | None, list[str]]:
    """Build one row, collecting every field problem instead of stopping at the first."""
    problems: list[str] = []
    parsed: dict[str, object] = {"row_number": line}
    for name, text in values.items():
        try:
            if name in (*TOKEN_RATES, "usd_per_unit"):
                parsed[name] = _decimal(text)
            elif name == "prompt_tokens_above":
                if not _INTEGER.match(text):
                    raise ValueError(f"bad integer {text!r}")
                parsed[name] = int(text)
            elif name == "effective_from":
                parsed[name] = _date(text)
            elif name == "effective_to":
                parsed[name] = _date(text) if text else None
            else:
                parsed[name] = text
        except ValueError as exc:
            problems.append(f"line {line}: {name}: {exc}")
    return (None if problems else PriceRow(**parsed)), problems  # type: ignore[arg-type]


def parse_catalog(text: str, origin: str = "<catalog>") -> list[PriceRow]:
    """Parse the CSV text; raise :class:`CatalogError` listing every malformed line."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or tuple(header) != COLUMNS:
        raise CatalogError(origin, [f"line 1: header must be exactly {','.join(COLUMNS)}"])
    rows: list[PriceRow] = []
    problems: list[str] = []
    for values in reader:
        line = reader.line_num
        if not values:
            continue
        if len(values) != len(COLUMNS):
            problems.append(f"line {line}: expected {len(COLUMNS)} columns, found {len(values)}")
            continue
        row, row_problems = _row(line, dict(zip(COLUMNS, values, strict=True)))
        problems += row_problems
        if row is not None:
            rows.append(row)
    if problems:
        raise CatalogError(origin, problems)
    return rows


def read_catalog(data: bytes, origin: str = "<catalog>") -> list[PriceRow]:
    """The catalog every run prices with: UTF-8 text (a spreadsheet's byte-order mark is fine), the CSV
    grammar and every ``check_catalog`` rule, including the plausible-price bounds and non-overlapping
    periods. Raises :class:`CatalogError` listing every problem with its line; one function for ``bcr etl``,
    ``bcr demo``, ``bcr pricing`` and the Glue job, so none of them prices with a catalog the others reject.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise CatalogError(
            origin, [f"line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8"]
        ) from exc
    rows = parse_catalog(text, origin)
    problems = check_catalog(rows)
    if problems:
        raise CatalogError(origin, problems)
    return rows


def load_catalog(path: str | Path) -> list[PriceRow]:
    """Read and check a catalog file (``read_catalog``); ``FileNotFoundError`` if it does not exist."""
    return read_catalog(Path(path).read_bytes(), origin=str(path))


def _format_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def format_catalog(rows: Iterable[PriceRow]) -> str:
    """Write rows as catalog CSV, in the given order (sort by ``PriceRow.sort_key`` first)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(_format_value(getattr(row, name)) for name in COLUMNS)
    return out.getvalue()


def _row_problems(row: PriceRow) -> list[str]:
    """Problems visible in one row alone: vocabulary, units, dates and implausible prices."""
    problems: list[str] = []
    if not row.model_id or _PROFILE_PREFIX.match(row.model_id):
        problems.append(f"model_id {row.model_id!r} must be a base model id (no profile prefix)")
    if row.region != ANY_REGION and not _REGION.match(row.region):
        problems.append(f"unknown region {row.region!r} (an AWS region code or '*')")
    if row.scope not in SCOPES:
        problems.append(f"unknown scope {row.scope!r} (one of {', '.join(sorted(SCOPES))})")
    if row.service_tier not in SERVICE_TIERS:
        problems.append(f"unknown service_tier {row.service_tier!r} (one of {', '.join(sorted(SERVICE_TIERS))})")
    if row.unit not in UNITS:
        problems.append(f"unknown unit {row.unit!r} (one of {', '.join(sorted(UNITS))})")
    if row.effective_to is not None and row.effective_to <= row.effective_from:
        problems.append(f"effective_to {row.effective_to} is not after effective_from {row.effective_from}")
    if not row.source.strip():
        problems.append("source is empty: say where the price comes from")
    rates = {name: getattr(row, name) for name in (*TOKEN_RATES, "usd_per_unit") if getattr(row, name) is not None}
    for name, value in rates.items():
        if value < 0:
            problems.append(f"{name} is negative ({value})")
        elif value > MAX_PLAUSIBLE_USD:
            problems.append(f"{name} {value} is implausible (above {MAX_PLAUSIBLE_USD}; per 1K or per token?)")
    if row.unit == "token":
        problems += _token_row_problems(row)
    elif row.unit in UNITS:
        if row.usd_per_unit is None:
            problems.append(f"{row.unit} rows need usd_per_unit")
        if any(getattr(row, name) is not None for name in TOKEN_RATES) or row.prompt_tokens_above:
            problems.append(f"{row.unit} rows take no token rates and no prompt_tokens_above")
    return problems


def _token_row_problems(row: PriceRow) -> list[str]:
    problems: list[str] = []
    inp, out = row.usd_per_1m_input, row.usd_per_1m_output
    read, w5m, w1h = row.usd_per_1m_cache_read, row.usd_per_1m_cache_write_5m, row.usd_per_1m_cache_write_1h
    if inp is None:
        problems.append("a token row needs usd_per_1m_input")
    if row.usd_per_unit is not None:
        problems.append("a token row takes no usd_per_unit")
    if inp is not None and out is not None and 0 < out * 100 < inp:
        problems.append(f"implausible: output {out} is more than 100x cheaper than input {inp}")
    if inp is not None and read is not None and read > inp:
        problems.append(f"implausible: cache read {read} above input {inp}")
    if w5m is not None and w1h is not None and w1h < w5m:
        problems.append(f"implausible: 1h cache write {w1h} below 5m cache write {w5m}")
    return problems


def _period_problems(rows: Sequence[PriceRow]) -> list[str]:
    """Overlaps, gaps and duplicates between the periods of one key (rows sorted by effective_from)."""
    problems: list[str] = []
    for before, after in pairwise(rows):
        where = f"line {after.row_number}"
        if after.effective_from == before.effective_from:
            problems.append(f"{where}: duplicate key {after.price_key} (also line {before.row_number})")
        elif before.effective_to is None or before.effective_to > after.effective_from:
            problems.append(
                f"{where}: period from {after.effective_from} overlaps line {before.row_number} "
                f"(until {before.effective_to or 'open'})"
            )
        elif before.effective_to < after.effective_from:
            problems.append(
                f"{where}: gap from {before.effective_to} to {after.effective_from} after line {before.row_number}"
            )
    return problems


def _tier_problems(rows: Sequence[PriceRow]) -> list[str]:
    """Each region needs a base (threshold 0) row and every long-context tier its ``*`` fallback has.

    A region's own rows replace the ``*`` rows as a whole, so a missing long-context row there would
    silently price long prompts at the short-context rate.
    """
    thresholds: dict[tuple[str, str, str], dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    first_line: dict[tuple[str, str, str, str], int] = {}
    for row in rows:
        thresholds[(row.model_id, row.scope, row.service_tier)][row.region].add(row.prompt_tokens_above)
        first_line.setdefault((row.model_id, row.region, row.scope, row.service_tier), row.row_number)
    problems: list[str] = []
    for (model_id, scope, tier), by_region in thresholds.items():
        fallback = by_region.get(ANY_REGION, set())
        for region, present in by_region.items():
            line = first_line[(model_id, region, scope, tier)]
            if 0 not in present:
                problems.append(f"line {line}: {model_id} {region} {scope} {tier} has no base row (threshold 0)")
            for missing in sorted(fallback - present - {0}):
                problems.append(
                    f"line {line}: {model_id} {region} {scope} {tier} lacks the prompt_tokens_above {missing} "
                    "row that '*' has"
                )
    return problems


def check_catalog(rows: Sequence[PriceRow]) -> list[str]:
    """Semantic problems of a parsed catalog, each ``"line N: ..."``; empty when the catalog is clean."""
    problems = [f"line {row.row_number}: {p}" for row in rows for p in _row_problems(row)]
    for before, after in pairwise(rows):
        if after.sort_key < before.sort_key:
            problems.append(
                f"line {after.row_number}: out of order (sort by model_id, region, scope, service_tier, "
                "prompt_tokens_above, effective_from)"
            )
    by_key: dict[Key, list[PriceRow]] = defaultdict(list)
    for row in rows:
        by_key[row.key].append(row)
    for periods in by_key.values():
        problems += _period_problems(sorted(periods, key=lambda r: r.effective_from))
    problems += _tier_problems(rows)
    return sorted(problems, key=_line_of)


def _line_of(problem: str) -> int:
    return int(problem.split(":", 1)[0].removeprefix("line "))


def find_price(
    rows: Iterable[PriceRow],
    *,
    model_id: str,
    region: str,
    scope: str,
    service_tier: str,
    on: date,
    prompt_tokens: int = 0,
) -> PriceRow | None:
    """The row that prices one request, or ``None`` when the catalog has no price for it.

    Rows of the request's own region win over ``*`` rows (the only fallback). Among the chosen rows valid
    on ``on``, the one with the largest ``prompt_tokens_above`` below the request's prompt tokens
    (uncached input + cache read + cache write) prices the whole request.
    """
    candidates = [
        row
        for row in rows
        if row.model_id == model_id
        and row.scope == scope
        and row.service_tier == service_tier
        and row.region in (region, ANY_REGION)
        and row.valid_on(on)
    ]
    own = [row for row in candidates if row.region == region]
    applicable = [
        row for row in (own or candidates) if row.prompt_tokens_above == 0 or prompt_tokens > row.prompt_tokens_above
    ]
    return max(applicable, key=lambda row: row.prompt_tokens_above, default=None)
