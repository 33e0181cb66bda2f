"""`bcr dashboard`: the QuickSight dashboard as code: validate, format, export from and deploy to an account."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import ProfileNotFound

from bcr.errors import UsageError
from bcr.quicksight import api
from bcr.quicksight.deploy import DeployError, deploy, dry_run
from bcr.quicksight.documents import DEFAULT_ROOT, DefinitionError, Definitions, load_definitions, write_definitions
from bcr.quicksight.export import ExportError, live_definitions
from bcr.quicksight.placeholders import DATABASE, WORKGROUP, Environment, resolve
from bcr.quicksight.template import DEFAULT_TEMPLATE
from bcr.quicksight.validate import validate

_STACK_NAME = re.compile(r"^[A-Za-z][-A-Za-z0-9]{0,127}$")
_CONFIG = Config(connect_timeout=5, read_timeout=60, retries={"total_max_attempts": 5, "mode": "standard"})


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "dashboard",
        help="validate, export and deploy the QuickSight dashboard kept in quicksight_definitions/",
        description="The dashboard, its datasets and data source are JSON files in git. Edit in QuickSight, "
        "export, review the diff, commit, deploy (see quicksight_definitions/README.md).",
    )
    verbs = parser.add_subparsers(dest="dashboard_command", required=True, metavar="VERB")
    check = verbs.add_parser("validate", help="check the definitions and template offline; exit 1 on problems")
    check.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE, help="SAM template (default: %(default)s)")
    check.set_defaults(handler=_validate)
    fmt = verbs.add_parser("format", help="rewrite the definition files in their canonical form")
    fmt.set_defaults(handler=_format)
    export = verbs.add_parser("export", help="write the deployed dashboard, datasets and data source into the files")
    export.add_argument(
        "--dashboard-id",
        help="export this dashboard instead (e.g. a copy customised in the console); it is written under the "
        "committed dashboard's id and name, so deploying it replaces the original",
    )
    export.set_defaults(handler=_export)
    push = verbs.add_parser("deploy", help="create or update the resources from the files and publish the dashboard")
    push.add_argument("--principal-arn", help="QuickSight user or group ARN that owns resources deploy has to create")
    push.add_argument("--version-description", help="note stored with the new dashboard version (e.g. the git SHA)")
    push.add_argument("--dry-run", action="store_true", help="print the diff from what is deployed; change nothing")
    push.set_defaults(handler=_deploy)
    for verb in (check, fmt, export, push):
        verb.add_argument(
            "--definitions", type=Path, default=DEFAULT_ROOT, help="definitions folder (default: %(default)s)"
        )
    for verb in (export, push):
        verb.add_argument("--stack-name", required=True, help="the SAM stack; resource ids are <stack>-<name>")
        verb.add_argument("--region", help="AWS region of QuickSight and the tables (default: the profile's)")
        verb.add_argument("--profile", dest="aws_profile", help="AWS named profile (default: the credential chain)")
        verb.add_argument("--account-id", help="AWS account id (default: the caller's, from STS)")
        verb.add_argument("--database", help=f"Glue database of the tables (default: the stack's {DATABASE})")
        verb.add_argument("--workgroup", help=f"Athena workgroup (default: the stack's {WORKGROUP})")


def _validate(args: argparse.Namespace) -> int:
    template = args.template if args.template.is_file() else None
    report = validate(args.definitions, template)
    for note in [*report.notes, *([] if template else [f"{args.template} not found: template checks skipped"])]:
        print(f"note: {note}", file=sys.stderr)
    for problem in report.problems:
        print(problem)
    if report.problems:
        print(f"{len(report.problems)} problems in {args.definitions}", file=sys.stderr)
        return 1
    definitions = _load(args.definitions)
    sheets = definitions.dashboard.get("Definition", {}).get("Sheets", [])
    visuals = sum(len(sheet.get("Visuals", [])) for sheet in sheets)
    print(f"{args.definitions}: valid ({len(definitions.datasets)} datasets, {len(sheets)} sheets, {visuals} visuals)")
    return 0


def _format(args: argparse.Namespace) -> int:
    changed = write_definitions(_load(args.definitions), args.definitions)
    print(f"reformatted {', '.join(changed)}" if changed else "all definition files are already canonical")
    return 0


def _export(args: argparse.Namespace) -> int:
    committed = _load(args.definitions)
    session, environment = _environment(args)
    client = session.client("quicksight", region_name=environment.region, config=_CONFIG)
    try:
        live = live_definitions(client, environment, committed, args.dashboard_id)
    except (api.QuickSightError, ExportError) as exc:
        print(f"bcr dashboard export: {exc}", file=sys.stderr)
        return 1
    if live is None:
        wanted = args.dashboard_id or resolve(committed.dashboard.get("DashboardId"), environment.values())
        where = f"account {environment.account_id}, {environment.region}"
        print(f"bcr dashboard export: no published dashboard {wanted} in {where}", file=sys.stderr)
        return 1
    changed = write_definitions(live, args.definitions)
    print(f"exported into {args.definitions}: " + (", ".join(changed) if changed else "no changes"))
    report = validate(args.definitions, template=None)
    for problem in report.problems:
        print(problem)
    if report.problems:
        print("the exported definitions have problems: fix them before you commit", file=sys.stderr)
        return 1
    print("review with `git diff`, commit, then deploy")
    return 0


def _deploy(args: argparse.Namespace) -> int:
    definitions = _load(args.definitions)
    report = validate(args.definitions, template=None)
    if report.problems:
        for problem in report.problems:
            print(problem)
        print("not deployed: `bcr dashboard validate` finds problems", file=sys.stderr)
        return 1
    session, environment = _environment(args)
    client = session.client("quicksight", region_name=environment.region, config=_CONFIG)
    try:
        if args.dry_run:
            print(dry_run(client, definitions, environment) or "nothing to deploy: the account matches the files")
            return 0
        for line in deploy(client, definitions, environment, args.principal_arn, args.version_description):
            print(line)
    except DeployError as exc:
        raise UsageError(str(exc)) from exc
    except (api.QuickSightError, ExportError) as exc:
        print(f"bcr dashboard deploy: {exc}", file=sys.stderr)
        return 1
    return 0


def _load(root: Path) -> Definitions:
    try:
        return load_definitions(root)
    except DefinitionError as exc:
        raise UsageError(f"--definitions: {exc}") from exc


def _environment(args: argparse.Namespace) -> tuple[boto3.Session, Environment]:
    """Account, region, partition, stack, database and workgroup: flags first, then the deployed stack."""
    if not _STACK_NAME.match(args.stack_name):
        raise UsageError(f"--stack-name: {args.stack_name!r} is not a CloudFormation stack name")
    try:
        session = boto3.Session(profile_name=args.aws_profile, region_name=args.region)
    except ProfileNotFound as exc:
        raise UsageError(f"--profile: {exc}") from exc
    region = session.region_name
    if not region:
        raise UsageError("--region: no region given and the profile has none")
    try:
        account = args.account_id or api.account_id(session.client("sts", region_name=region, config=_CONFIG))
        stack = {}
        if not (args.database and args.workgroup):
            cloudformation = session.client("cloudformation", region_name=region, config=_CONFIG)
            stack = api.stack_values(cloudformation, args.stack_name)
    except api.QuickSightError as exc:
        raise UsageError(str(exc)) from exc
    database, workgroup = args.database or stack.get(DATABASE), args.workgroup or stack.get(WORKGROUP)
    if not database or not workgroup:
        missing = "--database" if not database else "--workgroup"
        raise UsageError(f"{missing}: not given, and stack {args.stack_name} has no {DATABASE}/{WORKGROUP} to read")
    partition = session.get_partition_for_region(region)
    return session, Environment(account, region, partition, args.stack_name, database, workgroup)
