"""Stage: resolve model ids (incl. application inference profiles) and callers to reporting columns."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

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


def model_columns(raw: str | None, profiles: Mapping[str, ResolvedProfile]) -> dict[str, str | None]:
    """The model columns ``with_models`` adds for one raw model id."""
    m = resolve_model(raw, profiles)
    return dict(
        zip(
            _MODEL_COLUMNS.fieldNames(),
            (m.model_id, m.model_provider, m.model_name, m.inference_scope, m.geo, m.inference_profile_id),
            strict=True,
        )
    )


def with_models(
    df: DataFrame, profiles: Mapping[str, ResolvedProfile], values: Iterable[tuple[str | None]] | None = None
) -> DataFrame:
    """Add model columns from ``model_id_raw``. Grain unchanged: one row per request.

    ``values``: the distinct ``(model_id_raw,)`` keys, when already gathered.
    """

    def compute(raw: str | None) -> tuple[str | None, ...]:
        return tuple(model_columns(raw, profiles).values())

    return join_lookup(df, ["model_id_raw"], compute, _MODEL_COLUMNS, values)


def with_principals(df: DataFrame, values: Iterable[tuple[str | None]] | None = None) -> DataFrame:
    """Add principal type/name/session from ``principal_arn``. Grain unchanged. ``values`` as in ``with_models``."""

    def compute(arn: str | None) -> tuple[str | None, ...]:
        p = parse_principal(arn)
        return (p.principal_type, p.principal_name, p.session_name)

    return join_lookup(df, ["principal_arn"], compute, _PRINCIPAL_COLUMNS, values)
