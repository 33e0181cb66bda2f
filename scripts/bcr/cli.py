"""Entry point of the ``bcr`` command: parses arguments and dispatches to one module per verb."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bcr.commands import dashboard, demo, etl, generate, pricing, profiles, quality, report, sessions, template
from bcr.errors import UsageError
from bedrock_costs.pipeline import RunFailed


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bcr", description="Bedrock Cost Reporting: who spent what on Amazon Bedrock, priced per request."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (dashboard, demo, etl, generate, pricing, profiles, quality, report, sessions, template):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``bcr`` command; exit 0 on success, 1 when the work failed, 2 on wrong usage."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except UsageError as exc:
        print(f"bcr {args.command}: {exc}", file=sys.stderr)
        return 2
    except RunFailed as exc:
        # Nothing was published; pipeline_runs holds the failed run's row.
        print(f"bcr {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
