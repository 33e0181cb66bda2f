"""`bcr profiles` (placeholder until its module lands)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("profiles", help="(not yet available)")
    parser.set_defaults(handler=lambda args: 1)
