"""`bcr quality results`: what Glue Data Quality recorded for the deployed rulesets, failures first.

A thin layer over the Glue API (``ListDataQualityResults`` then ``BatchGetDataQualityResult``, with the
client passed in) and pure functions around it: group the results per ruleset, keep the newest runs,
and show for every failed rule its measured value and how that value moved over the last runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, ProfileNotFound

from bcr.errors import UsageError
from bedrock_costs.quality.results import PASS, fmt

_BATCH = 100  # BatchGetDataQualityResult takes at most 100 ids
_MAX_RESULTS = 1000  # newest results considered; enough for weeks of daily runs of a few rulesets


@dataclass(frozen=True)
class Run:
    """One evaluation of one ruleset."""

    result_id: str
    started: datetime
    score: float | None
    rules: Sequence[dict[str, Any]]

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [rule for rule in self.rules if rule.get("Result") != PASS]


@dataclass(frozen=True)
class Review:
    """A ruleset's newest runs, newest first."""

    ruleset: str
    runs: Sequence[Run]

    @property
    def latest(self) -> Run:
        return self.runs[0]

    def trend(self, rule: dict[str, Any]) -> list[float | None]:
        """The rule's first metric in each run, oldest first (None where the run lacks it)."""
        metric = next(iter(rule.get("EvaluatedMetrics") or {}), None)
        values = []
        for run in reversed(self.runs):
            match = next((r for r in run.rules if r.get("Description") == rule.get("Description")), None)
            metrics = (match or {}).get("EvaluatedMetrics") or {}
            values.append(metrics.get(metric) if metric else None)
        return values


def fetch_results(client: Any, started_after: datetime, job_name: str | None = None) -> list[dict[str, Any]]:
    """Full results (rule results included) of every evaluation started after ``started_after``."""
    criteria: dict[str, Any] = {"StartedAfter": started_after}
    if job_name:
        criteria["JobName"] = job_name
    descriptions: list[dict[str, Any]] = []
    token = None
    while True:
        page = client.list_data_quality_results(
            Filter=criteria, MaxResults=_BATCH, **({"NextToken": token} if token else {})
        )
        descriptions.extend(page.get("Results", []))
        token = page.get("NextToken")
        if not token or len(descriptions) >= _MAX_RESULTS:
            break
    newest = sorted(descriptions, key=lambda d: d.get("StartedOn") or datetime.min.replace(tzinfo=UTC), reverse=True)
    results: list[dict[str, Any]] = []
    ids = [d["ResultId"] for d in newest[:_MAX_RESULTS]]
    for start in range(0, len(ids), _BATCH):
        results.extend(client.batch_get_data_quality_result(ResultIds=ids[start : start + _BATCH]).get("Results", []))
    return results


def ruleset_of(result: dict[str, Any]) -> str:
    """Named rulesets report ``RulesetName``; a Glue job evaluating a ruleset string reports its context."""
    return result.get("RulesetName") or result.get("EvaluationContext") or "(unnamed)"


def _matches(name: str, wanted: Iterable[str]) -> bool:
    wanted = list(wanted)
    return not wanted or any(name == w or name.endswith(f"-{w}") for w in wanted)


def review(results: Iterable[dict[str, Any]], runs: int, rulesets: Sequence[str] = ()) -> list[Review]:
    """Results grouped per ruleset, ``runs`` newest each; rulesets whose latest run failed come first."""
    grouped: dict[str, list[Run]] = defaultdict(list)
    for result in results:
        name = ruleset_of(result)
        if not _matches(name, rulesets):
            continue
        started = result.get("StartedOn") or result.get("CompletedOn")
        grouped[name].append(Run(result["ResultId"], started, result.get("Score"), result.get("RuleResults") or []))
    reviews = [
        Review(name, sorted(found, key=lambda run: run.started, reverse=True)[:runs]) for name, found in grouped.items()
    ]
    return sorted(reviews, key=lambda r: (not r.latest.failed, r.ruleset))


def print_reviews(reviews: Sequence[Review]) -> None:
    for item in reviews:
        latest = item.latest
        failed = latest.failed
        verdict = f"{len(failed)} of {len(latest.rules)} rules did not pass" if failed else "all rules passed"
        print(
            f"{item.ruleset}: latest {latest.started:%Y-%m-%d %H:%M} UTC, score {fmt(latest.score)}, {verdict} "
            f"(result {latest.result_id})"
        )
        for rule in failed:
            metrics = rule.get("EvaluatedMetrics") or {}
            measured = ", ".join(f"{name} = {fmt(value)}" for name, value in metrics.items()) or "no metric"
            trend = " → ".join(fmt(value) for value in item.trend(rule))
            print(f"  {rule.get('Result')}  {rule.get('Description')}")
            print(f"        measured: {measured}")
            if rule.get("EvaluationMessage"):
                print(f"        why: {rule['EvaluationMessage']}")
            print(f"        last {len(item.runs)} runs (oldest first): {trend}")
        history = ", ".join(f"{run.started:%m-%d %H:%M} {fmt(run.score)}" for run in reversed(item.runs))
        print(f"  score over the last {len(item.runs)} runs: {history}\n")


def add_results_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ruleset", action="append", default=[], help="only this ruleset (name or table); repeatable")
    parser.add_argument("--job-name", help="only results of this Glue job (default: all)")
    parser.add_argument("--runs", type=int, default=5, help="runs per ruleset in the trend (default 5)")
    parser.add_argument("--days", type=int, default=30, help="look back this many days (default 30)")
    parser.add_argument("--region", help="AWS region of the Glue job (default: your AWS configuration)")
    parser.add_argument("--profile", dest="aws_profile", help="AWS named profile")
    parser.add_argument("--json", action="store_true", help="print machine-readable results")
    parser.set_defaults(handler=run_results)


def glue_client(region: str | None, profile: str | None) -> Any:
    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except ProfileNotFound as exc:
        raise UsageError(f"--profile: {exc}") from exc
    config = Config(connect_timeout=5, read_timeout=30, retries={"total_max_attempts": 3, "mode": "standard"})
    return session.client("glue", config=config)


def run_results(args: argparse.Namespace) -> int:
    if args.runs < 1 or args.days < 1:
        raise UsageError("--runs and --days must be at least 1")
    client = glue_client(args.region, args.aws_profile)
    since = datetime.now(UTC) - timedelta(days=args.days)
    try:
        results = fetch_results(client, since, args.job_name)
    except NoCredentialsError as exc:
        raise UsageError(f"no AWS credentials: {exc} (use --profile or configure the AWS CLI)") from exc
    except (ClientError, BotoCoreError) as exc:
        print(f"bcr quality results: {exc}", file=sys.stderr)
        return 1
    reviews = review(results, args.runs, args.ruleset)
    if args.json:
        document = [{"RulesetName": r.ruleset, "Runs": [run.__dict__ for run in r.runs]} for r in reviews]
        print(json.dumps(document, default=str, indent=2))
    elif not reviews:
        job = f" for job {args.job_name}" if args.job_name else ""
        print(f"no data-quality results in the last {args.days} days{job}")
    else:
        print_reviews(reviews)
    return 1 if any(r.latest.failed for r in reviews) else 0
