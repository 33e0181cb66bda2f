"""`bcr pricing check | update | coverage`: keep the price catalog valid, current and complete."""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from bcr import pricing_update
from bcr.errors import UsageError
from bedrock_costs.catalog import (
    ANY_REGION,
    DEFAULT_CATALOG,
    SCOPES,
    CatalogError,
    PriceRow,
    find_price,
    format_catalog,
    load_catalog,
    read_catalog,
)
from bedrock_costs.discover import discover_local
from bedrock_costs.models import resolve_model
from bedrock_costs.profiles import ProfileError, ResolvedProfile, load_profile_file


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("pricing", help="check, update and measure the coverage of the price catalog")
    verbs = parser.add_subparsers(dest="pricing_command", required=True, metavar="VERB")

    check = verbs.add_parser("check", help="validate the catalog; exit 1 if it has problems")
    check.set_defaults(handler=run_check)

    update = verbs.add_parser("update", help="compare with the AWS Price List API; --write adds dated rows")
    update.add_argument(
        "--effective-from", type=date.fromisoformat, default=None, help="first day of new prices (default: today)"
    )
    update.add_argument("--write", action="store_true", help="write the new rows into the catalog")
    update.add_argument(
        "--region", action="append", default=None, help="source region to compare (repeatable; default us-east-1)"
    )
    update.set_defaults(handler=run_update)

    coverage = verbs.add_parser("coverage", help="list the models seen in invocation logs that have no price")
    coverage.add_argument("--logs", type=Path, required=True, help="local folder laid out like the log bucket")
    coverage.add_argument("--profiles", type=Path, help="application inference profiles JSON (bcr profiles fetch)")
    coverage.set_defaults(handler=run_coverage)

    for verb in (check, update, coverage):
        verb.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG, help="catalog CSV (default: %(default)s)")


def _load(path: Path) -> list[PriceRow]:
    """Read and check the catalog; an unreadable file is a usage error (exit 2), a faulty one raises CatalogError."""
    try:
        return load_catalog(path)
    except FileNotFoundError as exc:
        raise UsageError(f"catalog {path} does not exist") from exc
    except OSError as exc:
        raise UsageError(f"catalog {path}: {exc.strerror}") from exc


def _report(path: Path, problems: list[str]) -> int:
    for problem in problems:
        print(f"{path}: {problem}")
    print(f"{path}: {len(problems)} problem(s)")
    return 1


def _with_catalog(action: Callable[[argparse.Namespace, list[PriceRow]], int]) -> Callable[[argparse.Namespace], int]:
    """A verb handler that first loads ``--catalog`` and reports its problems (exit 1) instead of running."""

    def handler(args: argparse.Namespace) -> int:
        try:
            rows = _load(args.catalog)
        except CatalogError as exc:
            return _report(args.catalog, exc.problems)
        return action(args, rows)

    return handler


@_with_catalog
def run_check(args: argparse.Namespace, rows: list[PriceRow]) -> int:
    regions = {row.region for row in rows} - {ANY_REGION}
    print(
        f"{args.catalog}: ok, {len(rows)} rows, {len({row.model_id for row in rows})} models, "
        f"{len(regions)} regions (and '{ANY_REGION}' for all others)"
    )
    return 0


@_with_catalog
def run_update(args: argparse.Namespace, rows: list[PriceRow]) -> int:
    effective_from = args.effective_from or date.today()
    try:
        client = pricing_update.make_client()
        items = [
            item
            for service_code in pricing_update.SERVICE_CODES
            for region in args.region or ["us-east-1"]
            for item in pricing_update.fetch_price_list(client, service_code, region)
        ]
    except (BotoCoreError, ClientError) as exc:
        print(f"bcr pricing update: cannot read the AWS Price List API: {exc}", file=sys.stderr)
        return 1
    plan = pricing_update.plan_update(rows, items, pricing_update.read_names(), effective_from)
    print("\n".join(pricing_update.describe_plan(plan)))
    if not args.write:
        return 0
    text = format_catalog(pricing_update.apply_plan(rows, plan))
    try:
        read_catalog(text.encode(), origin=str(args.catalog))
    except CatalogError as exc:
        print(f"not written: the updated catalog would have {len(exc.problems)} problem(s)", file=sys.stderr)
        print("\n".join(exc.problems), file=sys.stderr)
        return 1
    args.catalog.write_text(text, encoding="utf-8")
    print(f"wrote {args.catalog}: {len(plan.new_models) + len(plan.new_keys) + len(plan.changed)} new row(s)")
    return 0


def _log_requests(root: Path, profiles: Mapping[str, ResolvedProfile]) -> Counter[tuple[str | None, str, str, date]]:
    """Requests per (base model, source region, scope, event day) in a local copy of the log bucket.

    Damaged objects are read as far as they go and named on stderr; the ETL quarantines them.
    """
    try:
        objects = discover_local(root)
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise UsageError(f"--logs: {exc}") from exc
    seen: Counter[tuple[str | None, str, str, date]] = Counter()
    for obj in objects:
        try:
            with gzip.open(obj.path, "rt", encoding="utf-8", errors="replace") as lines:
                for line in lines:
                    try:
                        record = json.loads(line)
                        day = date.fromisoformat(str(record.get("timestamp", ""))[:10])
                    except (ValueError, AttributeError):
                        continue  # not a record: the ETL quarantines it, coverage has nothing to price
                    model = resolve_model(record.get("modelId"), profiles)
                    seen[(model.model_id, record.get("region") or obj.region, model.inference_scope, day)] += 1
        except (OSError, EOFError) as exc:
            print(
                f"bcr pricing coverage: {obj.path}: damaged gzip object ({exc}); read up to the damage", file=sys.stderr
            )
    return seen


@_with_catalog
def run_coverage(args: argparse.Namespace, rows: list[PriceRow]) -> int:
    """Exit 1 when any request in the logs would be left unpriced by the catalog."""
    requests: Counter[tuple[str | None, str, str]] = Counter()
    unpriced: Counter[tuple[str | None, str, str]] = Counter()
    try:
        profiles = load_profile_file(args.profiles) if args.profiles else {}
    except ProfileError as exc:
        raise UsageError(f"--profiles: {exc}") from exc
    for (model_id, region, scope, day), count in _log_requests(args.logs, profiles).items():
        requests[(model_id, region, scope)] += count
        priced = model_id is not None and scope in SCOPES
        if not priced or not find_price(
            rows, model_id=model_id, region=region, scope=scope, service_tier="standard", on=day
        ):
            unpriced[(model_id, region, scope)] += count
    for key in sorted(requests, key=lambda k: (k[0] or "", k[1], k[2])):
        model_id, region, scope = key
        status = f"NO PRICE for {unpriced[key]}" if unpriced[key] else "priced"
        print(f"{model_id or '(no base model)'}\t{region}\t{scope}\t{requests[key]} request(s)\t{status}")
    missing = {key[0] or f"({key[2]})" for key in unpriced}
    print(
        f"{sum(unpriced.values())} of {sum(requests.values())} request(s) have no catalog price"
        + (f": {', '.join(sorted(missing))}" if missing else "")
    )
    return 1 if unpriced else 0
