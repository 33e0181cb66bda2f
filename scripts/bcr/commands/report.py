"""`bcr report`: render the committed QuickSight dashboard definition over local tables into one HTML file."""

from __future__ import annotations

import argparse
from pathlib import Path

from bcr.errors import UsageError
from bcr.preview.render import ReportResult, write_report
from bcr.quicksight.documents import DEFAULT_ROOT, DefinitionError


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by `bcr report` and `bcr demo`."""
    parser.add_argument(
        "--definitions",
        type=Path,
        default=DEFAULT_ROOT,
        help="definitions folder, laid out as `bcr dashboard` writes it (default: %(default)s)",
    )
    parser.add_argument(
        "--as-of",
        default="latest",
        help="what now() and relative dates stand for: 'latest' (the newest date or time in the datasets, "
        "normally the end of the last ETL run; the default), 'now', or a date/time such as 2026-11-22",
    )


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "report",
        help="render the QuickSight dashboard definition over local tables into one offline HTML file",
        description="Evaluate the dashboard's datasets with DuckDB over the Parquet tables written by `bcr etl` "
        "and write every sheet, visual, filter and control into a self-contained HTML page (no network). "
        "A field that names a missing column, or a broken calculated field, fails with the visual and field.",
    )
    parser.add_argument("--tables", required=True, type=Path, help="tables folder written by `bcr etl --out`")
    parser.add_argument(
        "--out", type=Path, default=Path("report.html"), help="HTML file to write (default: report.html)"
    )
    add_report_arguments(parser)
    parser.set_defaults(handler=_run)


def render(tables: Path, out: Path, args: argparse.Namespace) -> ReportResult:
    """Check the arguments and write the report; every definition or input problem is a usage error."""
    if not tables.is_dir():
        raise UsageError(f"--tables {tables}: no such folder (write one with `bcr etl --out`)")
    try:
        return write_report(tables, args.definitions, out, as_of=args.as_of)
    except DefinitionError as exc:
        raise UsageError(str(exc)) from None
    except ValueError as exc:  # --as-of that is not a date
        raise UsageError(f"--as-of {args.as_of!r}: {exc}") from None


def print_result(result: ReportResult) -> None:
    print(
        f"wrote {result.path} ({result.bytes / 1024:,.0f} KB): {result.sheets} sheets, {result.visuals} visuals, "
        f"{len(result.placeholders)} placeholders; relative dates anchored at {result.as_of:%Y-%m-%d %H:%M} UTC"
    )
    for warning in result.warnings:
        print(f"  not as in QuickSight: {warning}")


def _run(args: argparse.Namespace) -> int:
    print_result(render(args.tables, args.out, args))
    return 0
