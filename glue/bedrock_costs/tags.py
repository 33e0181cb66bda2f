"""Map caller-supplied ``requestMetadata`` keys to the semantic tag columns.

Teams spell the same concept many ways (``TenantID``, ``tenant_id``, ``Tenant-Id``); keys are matched
after lower-casing and dropping everything but letters and digits, and the first alias in the list wins
when a request carries several. Tags are untrusted caller input: a reporting dimension, never a key for
access control.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from bedrock_costs.schemas import SEMANTIC_TAGS

DEFAULT_TAG_ALIASES: dict[str, tuple[str, ...]] = {
    "tenant": ("TenantID", "tenant", "customer_id", "customer", "org_id"),
    "application": ("ApplicationID", "application", "app", "app_name", "service"),
    "cost_center": ("CostCenter", "cost_centre", "billing_code"),
    "team": ("team", "department", "dept", "business_unit"),
    "environment": ("environment", "env", "stage"),
    "end_user": ("user_id", "end_user", "user", "username"),
}


def normalize_key(key: str) -> str:
    """The form in which metadata keys and aliases are compared: lower case, letters and digits only."""
    return "".join(ch for ch in key.lower() if ch.isalnum())


def parse_tag_aliases(text: str | None) -> dict[str, tuple[str, ...]]:
    """Read a JSON override like ``{"tenant": ["org", "TenantID"]}`` on top of the defaults.

    Only the columns named are replaced; unknown column names are an error, since a typo would silently
    leave a column empty.
    """
    aliases = dict(DEFAULT_TAG_ALIASES)
    if not text:
        return aliases
    try:
        override = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"tag aliases are not valid JSON: {exc.msg} at position {exc.pos}") from exc
    if not isinstance(override, dict):
        raise ValueError('tag aliases must be a JSON object like {"tenant": ["TenantID", "org"]}')
    for column, keys in override.items():
        if column not in SEMANTIC_TAGS:
            raise ValueError(f"unknown tag column {column!r}; expected one of {', '.join(SEMANTIC_TAGS)}")
        if isinstance(keys, str):
            keys = [keys]
        if not isinstance(keys, list) or not keys or not all(isinstance(k, str) and normalize_key(k) for k in keys):
            raise ValueError(f"aliases for {column!r} must be a non-empty list of key names with letters or digits")
        aliases[column] = tuple(keys)
    return aliases


def keys_by_column(keys: Iterable[str], aliases: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """For each tag column, the raw metadata keys that feed it, best alias first.

    Raw keys that normalize alike (``TenantID``, ``tenant_id``) share a rank and keep a stable order.
    """
    result: dict[str, list[str]] = {}
    for column in SEMANTIC_TAGS:
        ranks = {normalize_key(alias): rank for rank, alias in enumerate(aliases[column])}
        matching = [key for key in keys if normalize_key(key) in ranks]
        result[column] = sorted(matching, key=lambda key: (ranks[normalize_key(key)], key))
    return result


def with_semantic_tags(
    df: DataFrame, metadata: str, aliases: Mapping[str, Sequence[str]], keys: Iterable[str] | None = None
) -> DataFrame:
    """Add one column per semantic tag from the ``metadata`` map column. Grain unchanged.

    The distinct raw keys are few, so they are matched against the aliases in Python once; each tag column
    is then a plain ``coalesce`` of map lookups, best alias first. Blank values are skipped, so an empty
    ``TenantID`` never hides a real ``tenant``. ``keys``: the distinct metadata keys, when already gathered.
    """
    if keys is None:
        keys = [row[0] for row in df.select(F.explode(F.map_keys(metadata))).distinct().collect()]
    columns = []
    for column, raw_keys in keys_by_column(sorted(set(keys)), aliases).items():
        values = [F.nullif(F.trim(F.element_at(F.col(metadata), F.lit(key))), F.lit("")) for key in raw_keys]
        columns.append((F.coalesce(*values) if values else F.lit(None).cast("string")).alias(column))
    return df.select("*", *columns)
