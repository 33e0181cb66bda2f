"""`bcr template`: keep template.yaml in step with the code it deploys."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bcr import glue_tables
from bcr.errors import UsageError

DEFAULT_TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("template", help="check or regenerate generated parts of template.yaml")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    tables = verbs.add_parser(
        "tables",
        help="compare the Glue tables in template.yaml with the Spark schemas (schemas.py)",
        description="Exit 0 when the template's Glue tables equal the Spark schemas the job writes, 1 when "
        "they differ. With --write, rewrite the generated block so they match.",
    )
    tables.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE, help="template to check (default: ours)")
    tables.add_argument("--write", action="store_true", help="rewrite the generated block from schemas.py")
    tables.set_defaults(handler=_tables)


def _tables(args: argparse.Namespace) -> int:
    if not args.template.is_file():
        raise UsageError(f"--template: {args.template} does not exist")
    try:
        in_sync = glue_tables.sync(args.template, write=args.write)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if in_sync:
        print(f"{args.template}: Glue tables match schemas.py", file=sys.stderr)
        return 0
    if args.write:
        print(f"{args.template}: Glue tables regenerated from schemas.py", file=sys.stderr)
        return 0
    print(
        f"{args.template}: Glue tables differ from schemas.py; run `scripts/dev bcr template tables --write`",
        file=sys.stderr,
    )
    return 1
