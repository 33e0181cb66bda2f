"""Normalize the many shapes of ``modelId`` to (base model, provider, scope, geo, profile).

The log echoes whatever the caller passed: a base id, a geo or global cross-Region profile id, a profile
ARN, an opaque application-inference-profile ARN, or a provisioned/custom/imported model ARN. Prices are
keyed by the base model and the routing scope, so every shape has to land on the same base id.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bedrock_costs.profiles import ResolvedProfile

# Longest first so "us-gov." is not read as "us.".
GEO_PREFIXES = ("us-gov", "apac", "us", "eu", "jp", "au", "ca", "in")
GLOBAL_PREFIX = "global"
# Every routing scope a request can get (``NormalizedModel.inference_scope``); the data-quality rulesets in
# template.yaml list the same values.
INFERENCE_SCOPES = (
    "in_region",
    "geo",
    "global",
    "application",
    "provisioned",
    "custom",
    "imported",
    "marketplace",
    "unknown",
)

_ARN = re.compile(r"^arn:aws[a-z-]*:bedrock:(?P<region>[^:]*):(?P<account>[^:]*):(?P<kind>[a-z-]+)/(?P<rest>.+)$")
# Bedrock Marketplace models run on SageMaker endpoints, billed by instance hours.
_MARKETPLACE = re.compile(r"^arn:aws[a-z-]*:sagemaker:[^:]*:[^:]*:endpoint/.+$")
# Billed by the hour or by compute units, never at on-demand token rates.
_NOT_TOKEN_PRICED = {
    "provisioned-model": "provisioned",
    "custom-model-deployment": "custom",
    "custom-model": "custom",
    "imported-model": "imported",
}


@dataclass(frozen=True)
class NormalizedModel:
    """What a raw ``modelId`` means for pricing and reporting."""

    model_id: str | None
    model_provider: str | None
    model_name: str | None
    inference_scope: str  # one of INFERENCE_SCOPES
    geo: str | None = None
    inference_profile_id: str | None = None


def _split_profile(profile_id: str) -> tuple[str, str | None, str]:
    """Split ``us.anthropic.x`` into (scope, geo, base id)."""
    head, _, tail = profile_id.partition(".")
    if head == GLOBAL_PREFIX and tail:
        return "global", None, tail
    if head in GEO_PREFIXES and tail:
        return "geo", head, tail
    return "in_region", None, profile_id


def _base(model_id: str, scope: str, geo: str | None = None, profile_id: str | None = None) -> NormalizedModel:
    provider, dot, name = model_id.partition(".")
    return NormalizedModel(
        model_id=model_id,
        model_provider=provider if dot else None,
        model_name=name if dot else model_id,
        inference_scope=scope,
        geo=geo,
        inference_profile_id=profile_id,
    )


def normalize_model_id(raw: str | None) -> NormalizedModel:
    """Map a raw log ``modelId`` to its base model and routing scope.

    Application inference profiles come back with ``inference_scope="application"`` and no base model:
    they can only be resolved with the account's profile map (see ``profiles.py``).
    """
    raw = (raw or "").strip()
    if not raw:
        return NormalizedModel(None, None, None, "unknown")
    if _MARKETPLACE.match(raw):
        return NormalizedModel(None, None, None, "marketplace", inference_profile_id=raw.rpartition("/")[2])
    arn = _ARN.match(raw)
    if arn is None and raw.startswith("arn:"):
        return NormalizedModel(None, None, None, "unknown")
    if arn is None:
        scope, geo, base = _split_profile(raw)
        return _base(base, scope, geo, raw if scope != "in_region" else None)
    kind, rest = arn["kind"], arn["rest"]
    if kind == "foundation-model":
        return _base(rest, "in_region")
    if kind == "inference-profile":
        scope, geo, base = _split_profile(rest)
        return _base(base, scope, geo, rest)
    if kind == "application-inference-profile":
        return NormalizedModel(None, None, None, "application", inference_profile_id=rest)
    if kind in _NOT_TOKEN_PRICED:
        return NormalizedModel(None, None, None, _NOT_TOKEN_PRICED[kind], inference_profile_id=rest)
    return NormalizedModel(None, None, None, "unknown", inference_profile_id=rest)


def resolve_model(raw: str | None, profiles: Mapping[str, ResolvedProfile]) -> NormalizedModel:
    """Normalize ``raw``; an application profile found in ``profiles`` takes its model and scope."""
    model = normalize_model_id(raw)
    profile = profiles.get(raw or "") if model.inference_scope == "application" else None
    if profile is None:
        return model
    base = normalize_model_id(profile.model_id)
    return NormalizedModel(
        model_id=base.model_id,
        model_provider=base.model_provider,
        model_name=base.model_name,
        inference_scope=profile.inference_scope,
        geo=profile.geo,
        inference_profile_id=profile.profile_id,
    )
