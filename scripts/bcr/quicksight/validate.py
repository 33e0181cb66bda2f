"""``bcr dashboard validate``: every offline check of the definitions, as one list of problems.

1. each file is in canonical form and holds no account id, region or ARN;
2. each document, placeholders resolved, is a request botocore's QuickSight model accepts (names, types,
   required members) with enum values the model lists;
3. the semantic checks of ``semantics.py`` (columns against datasets and tables, cross-references);
4. when cfn-lint is installed: template.yaml agrees with the files, and cfn-lint passes on it with the files
   inlined (the CloudFormation resource schemas go deeper than the API model, e.g. patterns).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

from bcr.quicksight.documents import DefinitionError, Definitions, kind_of, load_definitions, noncanonical_files
from bcr.quicksight.placeholders import EXAMPLE, PlaceholderError, environment_leaks, resolve
from bcr.quicksight.requests import CREATE, document_members, request_problems
from bcr.quicksight.semantics import semantic_problems


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def validate(root: Path, template: Path | None) -> Report:
    """All problems of the definitions in ``root`` (and of ``template``'s QuickSight section, if given)."""
    report = Report()
    try:
        definitions = load_definitions(root)
    except DefinitionError as exc:
        report.problems.append(str(exc))
        return report
    report.problems += [
        f"{path}: not in canonical form (run `bcr dashboard format`)" for path in noncanonical_files(root)
    ]
    report.problems += request_checks(definitions)
    try:
        report.problems += semantic_problems(definitions)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        # Only a document of the wrong shape gets here, and the request checks above name the shape problem.
        report.problems.append(f"meaning not checked until the problems above are fixed ({type(exc).__name__}: {exc})")
    if template is not None:
        _template_checks(definitions, root, template, report)
    return report


def request_checks(definitions: Definitions) -> list[str]:
    """Placeholders, leaks and the botocore model, document by document."""
    problems: list[str] = []
    for relative, document in definitions.files().items():
        kind = kind_of(relative)
        problems += [f"{relative} {leak}" for leak in environment_leaks(document)]
        for key in sorted(set(document) - document_members(kind)):
            problems.append(
                f"{relative}: {key!r} does not belong in a definition file (the template or deploy sets it)"
            )
        try:
            resolved = resolve(document, EXAMPLE.values())
        except PlaceholderError as exc:
            problems.append(f"{relative} {exc}")
            continue
        request = {"AwsAccountId": EXAMPLE.account_id, **resolved}
        problems += [f"{relative}: {problem}" for problem in request_problems(CREATE[kind], request)]
    return problems


def _template_checks(definitions: Definitions, root: Path, template: Path, report: Report) -> None:
    if importlib.util.find_spec("cfnlint") is None:
        report.notes.append("cfn-lint is not installed: template.yaml and its CloudFormation schema were not checked")
        return
    from bcr.quicksight.template import contract_problems, lint_problems, load_template

    try:
        loaded = load_template(template)
    except (OSError, ValueError) as exc:
        report.problems.append(f"{template}: {exc}")
        return
    report.problems += [
        f"{template.name}: {problem}" for problem in contract_problems(loaded, template.parent, root, definitions)
    ]
    report.problems += lint_problems(loaded, template.parent)
