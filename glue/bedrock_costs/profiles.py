"""Resolve application inference profiles to the base model they route to.

A log's ``modelId`` can be ``arn:aws:bedrock:<region>:<acct>:application-inference-profile/<id>``, an opaque id
that names neither the model nor where it runs, so pricing needs the account's own profile list
(``bedrock:ListInferenceProfiles``). The list is fetched once (``bcr profiles fetch`` or the Glue job) and kept in
the JSON shape the API and the AWS CLI return, so a file made with ``aws bedrock list-inference-profiles`` works
too. The regions a profile routes to decide its price scope: one region is in-region, several regions of one
geography are a geo profile, several geographies are global.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError, NoCredentialsError
from botocore.exceptions import ConnectionError as EndpointUnreachable

_SUMMARIES = "inferenceProfileSummaries"
_PERMISSION = "bedrock:ListInferenceProfiles"
_FOUNDATION_MODEL_ARN = re.compile(
    r"^arn:aws[a-z-]*:bedrock:(?P<region>[a-z0-9-]+):\d*:foundation-model/(?P<model>[^/]+)$"
)
# Geographies that are a subset of Asia Pacific: a profile confined to them is priced as its own geography.
_JAPAN = frozenset({"ap-northeast-1", "ap-northeast-3"})
_AUSTRALIA = frozenset({"ap-southeast-2", "ap-southeast-4"})


class ProfileError(ValueError):
    """A profile list that cannot be fetched or trusted, told in one actionable line."""


@dataclass(frozen=True)
class ResolvedProfile:
    """What an inference-profile ARN stands for, in the terms the price key uses."""

    profile_arn: str
    profile_id: str
    model_id: str  # base model id, e.g. "anthropic.claude-sonnet-4-5-20250929-v1:0"
    inference_scope: str  # "in_region", "geo" or "global"
    geo: str | None  # "us", "eu", "apac", "jp", "au", "ca", "us-gov", ... for geo scope only


def profiles_from_summaries(summaries: Iterable[Mapping[str, Any]]) -> dict[str, ResolvedProfile]:
    """Resolve ``ListInferenceProfiles`` summaries, keyed by profile ARN (the form logs carry)."""
    profiles: dict[str, ResolvedProfile] = {}
    for index, summary in enumerate(summaries):
        profile = _resolve(summary, index)
        if profiles.setdefault(profile.profile_arn, profile) != profile:
            raise ProfileError(f"profile {profile.profile_arn} is listed twice with different models")
    return profiles


def load_profile_file(path: str | Path) -> dict[str, ResolvedProfile]:
    """Read a file from ``write_profile_file``, ``aws bedrock list-inference-profiles``, or a bare summary list."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ProfileError(f"profile file {path} does not exist (create it with `bcr profiles fetch`)") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"profile file {path} is not valid JSON: {exc}") from exc
    except OSError as exc:
        raise ProfileError(f"cannot read profile file {path}: {exc.strerror}") from exc
    summaries = document.get(_SUMMARIES) if isinstance(document, dict) else document
    if not isinstance(summaries, list):
        raise ProfileError(f'profile file {path} holds neither {{"{_SUMMARIES}": [...]}} nor a list of summaries')
    try:
        return profiles_from_summaries(summaries)
    except ProfileError as exc:
        raise ProfileError(f"profile file {path}: {exc}") from exc


def fetch_application_profiles(client: Any) -> list[dict]:
    """All application inference profiles visible to one region's ``bedrock`` client."""
    try:
        pages = client.get_paginator("list_inference_profiles").paginate(typeEquals="APPLICATION")
        return [summary for page in pages for summary in page.get(_SUMMARIES, [])]
    except (ClientError, BotoCoreError) as exc:
        raise _fetch_error(exc, client.meta.region_name) from exc


def fetch_profiles(
    regions: Iterable[str],
    client_factory: Callable[[str], Any],
    failed: Callable[[str, ProfileError], None] | None = None,
) -> list[dict]:
    """Application profiles of every region the logs come from: profiles are regional resources.

    With ``failed``, a region that cannot be listed is reported to it and the other regions are still
    fetched (their requests resolve; only that region's stay ``unresolved_profile``); without it, the
    first failure is raised.
    """
    summaries: list[dict] = []
    for region in dict.fromkeys(regions):
        try:
            summaries += fetch_application_profiles(client_factory(region))
        except ProfileError as exc:
            if failed is None:
                raise
            failed(region, exc)
    return summaries


def write_profile_file(summaries: Iterable[Mapping[str, Any]], path: str | Path) -> None:
    """Write summaries in the API/CLI shape, sorted, so the same profiles always give the same bytes."""
    ordered = sorted(summaries, key=lambda summary: str(summary.get("inferenceProfileArn", "")))
    text = json.dumps({_SUMMARIES: ordered}, indent=2, sort_keys=True, default=_iso_datetime) + "\n"
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _resolve(summary: Any, index: int) -> ResolvedProfile:
    if not isinstance(summary, Mapping):
        raise ProfileError(f"profile #{index + 1} is not a JSON object")
    arn = summary.get("inferenceProfileArn")
    if not isinstance(arn, str) or not arn:
        label = summary.get("inferenceProfileName") or summary.get("inferenceProfileId") or f"#{index + 1}"
        raise ProfileError(f"profile {label} has no inferenceProfileArn")
    models = summary.get("models")
    if not isinstance(models, list) or not models:
        raise ProfileError(f"profile {arn} lists no models")
    placements = [_foundation_model(model, arn) for model in models]
    model_ids = sorted({model_id for _, model_id in placements})
    if len(model_ids) > 1:
        raise ProfileError(f"profile {arn} routes to different base models: {', '.join(model_ids)}")
    scope, geo = _scope({region for region, _ in placements})
    profile_id = summary.get("inferenceProfileId") or arn.rsplit("/", 1)[-1]
    return ResolvedProfile(
        profile_arn=arn, profile_id=profile_id, model_id=model_ids[0], inference_scope=scope, geo=geo
    )


def _foundation_model(model: Any, profile_arn: str) -> tuple[str, str]:
    """(region, base model id) of one ``models[].modelArn``."""
    model_arn = model.get("modelArn") if isinstance(model, Mapping) else None
    match = _FOUNDATION_MODEL_ARN.match(model_arn) if isinstance(model_arn, str) else None
    if match is None:
        raise ProfileError(f"profile {profile_arn}: model {model_arn!r} is not a foundation-model ARN")
    return match["region"], match["model"]


def _scope(regions: set[str]) -> tuple[str, str | None]:
    if len(regions) == 1:
        return "in_region", None
    geographies = {_geography(region) for region in regions}
    if len(geographies) > 1:
        return "global", None
    if regions <= _JAPAN:
        return "geo", "jp"
    if regions <= _AUSTRALIA:
        return "geo", "au"
    return "geo", geographies.pop()


def _geography(region: str) -> str:
    """us-gov-* → us-gov, ap-* → apac, otherwise the region's first part (us, eu, ca, sa, me, ...)."""
    if region.startswith("us-gov-"):
        return "us-gov"
    family = region.split("-", 1)[0]
    return "apac" if family == "ap" else family


def _fetch_error(exc: Exception, region: str) -> ProfileError:
    what = f"cannot list application inference profiles in {region}"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "unknown error")
        if code in ("AccessDeniedException", "AccessDenied"):
            return ProfileError(f"{what}: access denied; the caller needs {_PERMISSION} in {region}")
        return ProfileError(f"{what}: {code}: {error.get('Message', '')} (needs {_PERMISSION})")
    if isinstance(exc, NoCredentialsError):
        return ProfileError(
            f"{what}: no AWS credentials found; set AWS_PROFILE (or --profile) to one allowed {_PERMISSION}"
        )
    if isinstance(exc, EndpointUnreachable | HTTPClientError):
        return ProfileError(f"{what}: the Bedrock endpoint is unreachable ({exc}); check the region and network access")
    return ProfileError(f"{what}: {exc}")


def _iso_datetime(value: Any) -> str:
    """``json.dumps`` fallback: boto3 returns ``createdAt``/``updatedAt`` as datetimes, the CLI prints ISO strings."""
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
