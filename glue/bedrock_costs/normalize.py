"""Stage: resolve model ids (incl. application inference profiles) and callers to reporting columns."""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import DataFrame
from pyspark.sql import types as T

from bedrock_costs.identity import parse_principal
from bedrock_costs.lookup import join_lookup
from bedrock_costs.models import resolve_model
from bedrock_costs.profiles import ResolvedProfile

_MODEL_COLUMNS = T.StructType(
    [
        T.StructField(name, T.StringType())
        for name in ("model_id", "model_provider", "model_name", "inference_scope", "geo", "inference_profile_id")
    ]
)
_PRINCIPAL_COLUMNS = T.StructType(
    [T.StructField(name, T.StringType()) for name in ("principal_type", "principal_name", "session_name")]
)


def with_models(df: DataFrame, profiles: Mapping[str, ResolvedProfile]) -> DataFrame:
    """Add model columns from ``model_id_raw``. Grain unchanged: one row per request."""

    def compute(raw: str | None) -> tuple[str | None, ...]:
        m = resolve_model(raw, profiles)
        return (m.model_id, m.model_provider, m.model_name, m.inference_scope, m.geo, m.inference_profile_id)

    return join_lookup(df, ["model_id_raw"], compute, _MODEL_COLUMNS)


def with_principals(df: DataFrame) -> DataFrame:
    """Add principal type/name/session from ``principal_arn``. Grain unchanged."""

    def compute(arn: str | None) -> tuple[str | None, ...]:
        p = parse_principal(arn)
        return (p.principal_type, p.principal_name, p.session_name)

    return join_lookup(df, ["principal_arn"], compute, _PRINCIPAL_COLUMNS)
