"""`bcr profiles`: fetch and inspect the inference-profile list that resolves application-profile ARNs in logs."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ProfileNotFound

from bcr.errors import UsageError
from bedrock_costs.profiles import (
    ProfileError,
    fetch_profiles,
    load_profile_file,
    profiles_from_summaries,
    write_profile_file,
)

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "profiles",
        help="fetch or show application inference profiles (resolve profile ARNs in the logs)",
        description="Application inference profile ARNs in the logs are opaque; pricing resolves them with a "
        "profile file fetched from bedrock:ListInferenceProfiles.",
    )
    actions = parser.add_subparsers(dest="profiles_action", required=True, metavar="ACTION")
    fetch = actions.add_parser("fetch", help="list application inference profiles in AWS and write them to a file")
    fetch.add_argument(
        "--regions", required=True, help="comma-separated regions the logs come from, e.g. us-east-1,us-west-2"
    )
    fetch.add_argument(
        "--out", required=True, type=Path, help="JSON file to write (aws bedrock list-inference-profiles shape)"
    )
    fetch.add_argument(
        "--profile", dest="aws_profile", help="AWS named profile (default: the standard credential chain)"
    )
    fetch.set_defaults(handler=_fetch)
    show = actions.add_parser("show", help="print the base model and scope each profile in a file resolves to")
    show.add_argument("file", type=Path, help="profile file from `bcr profiles fetch` or the AWS CLI")
    show.set_defaults(handler=_show)


def bedrock_clients(aws_profile: str | None) -> Callable[[str], Any]:
    """One boto3 session for every region, so a named profile (and its SSO/MFA cache) is resolved once."""
    try:
        session = boto3.Session(profile_name=aws_profile)
    except ProfileNotFound as exc:
        raise UsageError(f"--profile: {exc}") from exc
    config = Config(connect_timeout=5, read_timeout=30, retries={"total_max_attempts": 3, "mode": "standard"})
    return lambda region: session.client("bedrock", region_name=region, config=config)


def _fetch(args: argparse.Namespace) -> int:
    """Write the profiles of every region that could be listed; exit 1 if any region could not."""
    regions = _parse_regions(args.regions)
    clients = bedrock_clients(args.aws_profile)
    failures: dict[str, ProfileError] = {}
    summaries = fetch_profiles(regions, clients, failed=failures.__setitem__)
    for exc in failures.values():
        print(f"bcr profiles: {exc}", file=sys.stderr)
    listed = [region for region in regions if region not in failures]
    if not listed:
        return 1
    try:
        resolved = profiles_from_summaries(summaries)
    except ProfileError as exc:
        print(f"bcr profiles: {exc}", file=sys.stderr)
        return 1
    try:
        write_profile_file(summaries, args.out)
    except OSError as exc:
        raise UsageError(f"--out {args.out}: {exc.strerror}") from exc
    print(f"wrote {len(resolved)} application inference profiles from {', '.join(listed)} to {args.out}")
    return 1 if failures else 0


def _show(args: argparse.Namespace) -> int:
    try:
        profiles = load_profile_file(args.file)
    except ProfileError as exc:
        print(f"bcr profiles: {exc}", file=sys.stderr)
        return 1
    if not profiles:
        print(f"{args.file}: no inference profiles")
        return 0
    rows = [("PROFILE ARN", "MODEL", "SCOPE", "GEO")] + [
        (p.profile_arn, p.model_id, p.inference_scope, p.geo or "-") for _, p in sorted(profiles.items())
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def _parse_regions(text: str) -> list[str]:
    regions = list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not regions:
        raise UsageError("--regions: give at least one region, e.g. us-east-1,us-west-2")
    bad = [region for region in regions if not _REGION.match(region)]
    if bad:
        raise UsageError(f"--regions: {', '.join(bad)} is not an AWS region name")
    return regions
