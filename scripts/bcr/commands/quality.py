"""`bcr quality`: evaluate the template's data-quality rulesets on local tables, or review results from AWS.

``bcr quality --tables PATH`` runs the very rulesets Glue runs (read from template.yaml) with the local
DQDL evaluator; ``bcr quality results`` reads what Glue Data Quality recorded for the deployed job.
Exit codes: 0 every rule passed, 1 a rule failed or could not be evaluated, 2 unusable input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bcr.commands.etl import load_pricing
from bcr.errors import UsageError
from bcr.quality_results import add_results_arguments
from bedrock_costs.catalog import DEFAULT_CATALOG
from bedrock_costs.quality.dqdl import DQDLError, parse
from bedrock_costs.quality.results import PASS, RulesetResult, fmt
from bedrock_costs.quality.rulesets import DEFAULT_TEMPLATE, RulesetDefinition, TemplateError, load_rulesets

_RULE_WIDTH = 72


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "quality",
        help="check the cost tables with the data-quality rulesets (locally), or review results from AWS",
        description="Evaluate the Glue Data Quality rulesets of template.yaml on a local tables folder (the same "
        "DQDL the Glue job runs), or with `bcr quality results` review the results Glue recorded.",
    )
    parser.add_argument("--tables", help="tables folder written by `bcr etl` or `bcr demo` (e.g. bcr-demo/tables)")
    parser.add_argument(
        "--ruleset", action="append", default=[], help="evaluate only this ruleset (its table name); repeatable"
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a threshold parameter of the template, e.g. DqMinPricedRequestShare=0.9; repeatable",
    )
    parser.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE, help="template with the rulesets")
    parser.add_argument("--pricing", type=Path, default=DEFAULT_CATALOG, help="price catalog of the ledger")
    parser.add_argument(
        "--as-of", type=_moment, help="evaluate now() and freshness as of this UTC time, e.g. 2026-11-23T06:00"
    )
    parser.add_argument("--json", action="store_true", help="print machine-readable results")
    parser.set_defaults(handler=_evaluate)
    actions = parser.add_subparsers(dest="quality_action", metavar="ACTION")
    results = actions.add_parser("results", help="latest Glue Data Quality results per ruleset, and their trend")
    add_results_arguments(results)


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time like 2026-11-23T06:00") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _parameters(pairs: Sequence[str]) -> dict[str, str]:
    overrides = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise UsageError(f"--param {pair!r}: use NAME=VALUE, e.g. DqMinPricedRequestShare=0.9")
        overrides[name.strip()] = value.strip()
    return overrides


def selected_rulesets(template: Path, params: Sequence[str], names: Sequence[str]) -> list[RulesetDefinition]:
    """The template's rulesets (thresholds resolved), narrowed to ``names``; every one checked to parse."""
    try:
        definitions = load_rulesets(template, _parameters(params))
    except TemplateError as exc:
        raise UsageError(str(exc)) from exc
    known = [d.name for d in definitions]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise UsageError(f"--ruleset {unknown[0]!r}: no such ruleset (the template has: {', '.join(known)})")
    chosen = [d for d in definitions if not names or d.name in names]
    for definition in chosen:
        try:
            parse(definition.dqdl)
        except DQDLError as exc:
            raise UsageError(f"ruleset {definition.name} ({definition.logical_id} in {template}): {exc}") from exc
    return chosen


def _evaluate(args: argparse.Namespace) -> int:
    if args.tables is None:
        raise UsageError("give --tables PATH (a folder written by `bcr etl`), or use `bcr quality results`")
    tables = Path(args.tables)
    if not tables.is_dir():
        raise UsageError(f"--tables {tables}: no such folder")
    definitions = selected_rulesets(args.template, args.param, args.ruleset)
    catalog = load_pricing(args.pricing)
    from bedrock_costs.quality.tables import evaluate_rulesets, table_datasets
    from bedrock_costs.spark import local_session  # start the JVM only once the inputs are valid

    spark = local_session()
    datasets = table_datasets(spark, str(tables.resolve()), catalog)
    if not datasets:
        raise UsageError(f"--tables {tables}: no cost tables in this folder (run `bcr etl` or `bcr demo` first)")
    results = evaluate_rulesets(definitions, datasets, now=args.as_of)
    if args.json:
        print(json.dumps([result.to_json() for result in results], indent=2, default=str))
    else:
        print_results(results)
    return 0 if all(result.passed for result in results) else 1


def _shorten(text: str, width: int = _RULE_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def print_results(results: Sequence[RulesetResult]) -> None:
    """One line per rule, failures first, with the measured value and what was expected; then a summary."""
    rows = [("RULESET", "RESULT", "RULE", "MEASURED", "EXPECTED")]
    notes: list[str] = []
    ordered = sorted(
        ((result, rule) for result in results for rule in result.results), key=lambda pair: pair[1].outcome == PASS
    )
    for result, rule in ordered:
        rows.append((result.ruleset, rule.outcome, _shorten(rule.rule), fmt(rule.measured), rule.expected or ""))
        if rule.outcome != PASS and rule.message:
            notes.append(f"{result.ruleset} {rule.name} {rule.outcome}: {rule.message}\n    rule: {rule.rule}")
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    if notes:
        print("\nWhy:")
        for note in notes:
            print(f"  {note}")
    print()
    for result in results:
        passed = sum(rule.passed for rule in result.results)
        print(f"{result.ruleset}: {passed}/{len(result.results)} rules passed")
    if any(not result.passed for result in results):
        print("data quality: FAILED", file=sys.stderr)
