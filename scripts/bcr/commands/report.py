"""`bcr report`: render the committed QuickSight dashboard definition over local tables into one HTML file."""

from __future__ import annotations

import argparse
from pathlib import Path

from bcr.errors import UsageError
from bcr.preview.definitions import DefinitionError
from bcr.preview.render import ReportResult, write_report

DEFINITIONS_FOLDER = "quicksight_definitions"


def default_definitions() -> Path:
    """``quicksight_definitions/`` of the current folder, else of the repository this CLI runs from."""
    local = Path(DEFINITIONS_FOLDER)
    if local.is_dir():
        return local
    return Path(__file__).resolve().parents[3] / DEFINITIONS_FOLDER


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by `bcr report` and `bcr demo`."""
    parser.add_argument(
        "--definitions",
        type=Path,
        help=f"folder with the dashboard and dataset definitions (default: ./{DEFINITIONS_FOLDER})",
    )
    parser.add_argument("--dashboard", help="dashboard id, when the folder holds more than one")
    parser.add_argument(
        "--as-of",
        default="latest",
        help="anchor of relative dates and now(): 'latest' (end of the newest usage date in the tables, "
        "the default), 'now', or a date/time such as 2026-11-22",
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
    definitions = args.definitions or default_definitions()
    try:
        return write_report(tables, definitions, out, as_of=args.as_of, dashboard=args.dashboard)
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
