"""`bcr demo`: generate sample logs, run the ETL on them and print where the money went."""

from __future__ import annotations

import argparse
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bcr.commands.etl import add_run_arguments, load_inputs, run_etl
from bcr.commands.report import add_report_arguments, print_result, render
from bcr.errors import UsageError
from bcr.generate import OutputNotEmptyError, check_folder, generate_logs
from bcr.quicksight.documents import DEFAULT_ROOT
from bedrock_costs.summary import print_costs

# Written into every folder the demo creates; only a folder holding it is ever cleared by the demo.
MARKER = ".bcr-demo"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "demo",
        help="generate sample logs, price them and print a cost summary (no AWS needed)",
        description="End to end on built-in sample data: writes logs in the S3 delivery layout, runs the ETL "
        "and prints spend by model, tenant and caller, then renders the dashboard over the tables into "
        "report.html next to them.",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path("bcr-demo"),
        help="working folder: new, empty, or one an earlier demo made (default: ./bcr-demo)",
    )
    parser.add_argument("--records", type=int, default=5000, help="sample requests to generate (default 5000)")
    parser.add_argument("--seed", type=int, default=7, help="random seed for the sample data")
    add_run_arguments(parser)
    add_report_arguments(parser)
    parser.set_defaults(handler=_run, profiles=None)


def claim_folder(folder: Path) -> None:
    """Make ``folder`` the demo's own: create it with the marker, or accept it only if it is empty or marked.

    The demo replaces its ``logs/`` and ``tables/`` on every run, so it must never do that in a folder
    holding anything it did not make.
    """
    try:
        check_folder(
            folder,
            MARKER,
            "holds files an earlier `bcr demo` did not make; give a new or empty folder "
            "(the demo replaces its own logs/ and tables/ there)",
        )
    except OutputNotEmptyError as exc:
        raise UsageError(f"--dir {exc}") from exc
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text("Made by `bcr demo`, which replaces logs/ and tables/ here.\n", encoding="utf-8")


def _run(args: argparse.Namespace) -> int:
    if args.records < 1:
        raise UsageError("--records must be at least 1")
    load_inputs(args)  # a wrong catalog, profile file or alias map stops the demo before it writes anything
    claim_folder(args.dir)
    logs, out = args.dir / "logs", args.dir / "tables"
    shutil.rmtree(out, ignore_errors=True)
    # The sample spans the three days before today, so the tables are as fresh as a daily job's would be
    # and pass the data-quality freshness rule.
    start = datetime.now(UTC).date() - timedelta(days=3)
    try:
        result = generate_logs(logs, records=args.records, seed=args.seed, start=start, days=3, corrupt=True)
    except OutputNotEmptyError as exc:
        raise UsageError(f"--dir: {exc}") from exc
    print(
        f"generated {result.unique_requests} requests in {len(result.files)} log objects under {logs}, with a few "
        "deliberately corrupt lines and objects to show the quarantine"
    )
    if args.profiles is None:
        args.profiles = logs / "inference_profiles.json"
    summary = run_etl(args, str(logs), str(out))
    from bedrock_costs.spark import local_session  # the session run_etl started

    print_costs(local_session(), str(out.resolve()))
    if args.definitions == DEFAULT_ROOT and not DEFAULT_ROOT.is_dir():  # installed without the repository
        print(f"\nno dashboard definition at {DEFAULT_ROOT}: report skipped")
    else:
        print()
        print_result(render(out, args.dir / "report.html", args))
    return 0 if summary.reconciled else 1
