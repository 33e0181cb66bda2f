"""`bcr sessions`: the interactive-session notebook's settings and kernels.

``config`` writes (or prints) the notebook's generated cells, the Glue session magics and the job's inputs,
from a deployed stack (``--stack``: CloudFormation ``DescribeStacks`` and Glue ``GetJob``) or from
template.yaml (``--template``, what the committed notebook carries). ``kernels`` installs the Glue PySpark
kernel and a local PySpark kernel into this environment.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ProfileNotFound

from bcr.aws import AwsError
from bcr.errors import UsageError
from bcr.sessions.config import (
    DEFAULT_NOTEBOOK,
    ConfigError,
    from_template,
    job_cell,
    magics_cell,
    write_cells,
)

_CONFIG = Config(connect_timeout=5, retries={"total_max_attempts": 3, "mode": "standard"})


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "sessions",
        help="Glue interactive sessions: the notebook's settings from a deployed stack, and its kernels",
        description="Develop the ETL in a Glue interactive session (glue/notebooks/develop_cost_etl.ipynb).",
    )
    actions = parser.add_subparsers(dest="sessions_action", metavar="ACTION", required=True)
    config = actions.add_parser(
        "config",
        help="write the notebook's session magics and job inputs from a deployed stack (or template.yaml)",
        description="Read the deployed stack's outputs and its Glue job, and write the notebook's first two "
        "cells (session magics, job inputs) into --out, or print them. Exit 2 when the stack or job cannot "
        "be read.",
    )
    source = config.add_mutually_exclusive_group(required=True)
    source.add_argument("--stack", help="name of the deployed stack (sam deploy's stack_name)")
    source.add_argument(
        "--template",
        type=Path,
        nargs="?",
        const=Path("template.yaml"),
        help="render from this template's defaults instead (what the committed notebook holds)",
    )
    config.add_argument("--region", help="the stack's region (default: your AWS configuration's)")
    config.add_argument("--profile", help="AWS named profile for the stack lookup")
    target = config.add_mutually_exclusive_group()
    target.add_argument(
        "--out",
        type=Path,
        help=f"notebook to write the cells into; created from {DEFAULT_NOTEBOOK.name} when it does not exist",
    )
    target.add_argument("--print", action="store_true", help="print the cells (the default without --out)")
    config.set_defaults(handler=_config)
    kernels = actions.add_parser(
        "kernels",
        help="install the Glue PySpark kernel and a local PySpark kernel into this environment",
        description="Install the kernelspecs glue_pyspark (aws-glue-sessions) and bcr_local_pyspark under "
        "PREFIX/share/jupyter/kernels, where Jupyter started from this environment finds them.",
    )
    kernels.add_argument("--prefix", default=sys.prefix, help="environment to install into (default: this one)")
    kernels.set_defaults(handler=_kernels)


def _config(args: argparse.Namespace) -> int:
    try:
        if args.template is not None:
            if args.region or args.profile:
                raise UsageError("--region and --profile go with --stack, not --template")
            config = from_template(args.template.resolve())
        else:
            config = _from_stack(args.stack, args.region, args.profile)
        if args.out is None:
            print(magics_cell(config))
            print()
            print(job_cell(config))
            return 0
        if not args.out.exists():
            shutil.copy(DEFAULT_NOTEBOOK, args.out)
        write_cells(args.out, config)
    except (AwsError, ConfigError, OSError) as exc:
        raise UsageError(str(exc)) from exc
    print(f"wrote the session settings of {config.source} into {args.out}")
    return 0


def _from_stack(stack: str, region: str | None, profile: str | None):
    from bcr.sessions.stack import from_stack

    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except (ProfileNotFound, BotoCoreError) as exc:
        raise UsageError(f"--profile: {exc}") from exc
    if not session.region_name:
        raise UsageError("no AWS region configured: pass --region (the stack's region)")
    clients = (session.client(service, config=_CONFIG) for service in ("cloudformation", "glue"))
    return from_stack(*clients, stack, session.region_name)


def _kernels(args: argparse.Namespace) -> int:
    from bcr.sessions.kernels import install_kernels

    try:
        folders = install_kernels(args.prefix)
    except (RuntimeError, ImportError, OSError) as exc:
        raise UsageError(str(exc)) from exc
    for folder in folders:
        print(f"installed kernel {folder.name} in {folder}")
    return 0
