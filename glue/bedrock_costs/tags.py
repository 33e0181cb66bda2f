"""Map caller-supplied ``requestMetadata`` keys to the semantic tag columns.

Teams spell the same concept many ways (``TenantID``, ``tenant_id``, ``Tenant-Id``); keys are matched
after lower-casing and dropping everything but letters and digits, and the first alias in the list wins
when a request carries several. Tags are untrusted caller input: a reporting dimension, never a key for
access control.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from pyspark.sql import Column, DataFrame
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


def _sql_normalized(expr: str) -> str:
    """``normalize_key`` in Spark SQL (Java regex: any letter or digit, in any script)."""
    return f"regexp_replace(lower({expr}), '[^\\\\p{{L}}\\\\p{{N}}]', '')"


def _tag_value(entries: str, aliases: Sequence[str]) -> Column:
    """The value of the best-ranked alias among normalized ``entries``, else null."""
    normalized = list(dict.fromkeys(normalize_key(a) for a in aliases))
    ranks = "array(" + ", ".join(f"'{a}'" for a in normalized) + ")"
    best = (
        f"aggregate({entries}, named_struct('rank', 0L, 'value', cast(null as string)),"
        f" (acc, e) -> CASE WHEN array_position({ranks}, e.k) > 0"
        f" AND (acc.rank = 0 OR array_position({ranks}, e.k) < acc.rank)"
        f" THEN named_struct('rank', array_position({ranks}, e.k), 'value', e.v) ELSE acc END, acc -> acc.value)"
    )
    return F.expr(best)


def with_semantic_tags(df: DataFrame, metadata: str, aliases: Mapping[str, Sequence[str]]) -> DataFrame:
    """Add one column per semantic tag from the ``metadata`` map column. Grain unchanged.

    Keys are normalized once per entry (not once per alias) and blank values are dropped first, so an
    empty ``TenantID`` never hides a real ``tenant``.
    """
    entries = (
        f"filter(transform(coalesce(map_entries({metadata}), array()),"
        f" e -> named_struct('k', {_sql_normalized('e.key')}, 'v', trim(e.value))), e -> e.v != '')"
    )
    staged = df.withColumn("_tag_entries", F.expr(entries))
    tags = [_tag_value("_tag_entries", aliases[name]).alias(name) for name in SEMANTIC_TAGS]
    return staged.select("*", *tags).drop("_tag_entries")
