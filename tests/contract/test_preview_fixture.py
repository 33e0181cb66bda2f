"""The preview's fixture definition is held to the request checks `bcr dashboard validate` applies to the
committed one: canonical files without account, region or ARN, and every file, placeholders resolved, a
request botocore's model accepts for the call that would deploy it (enum values included).

Validate's semantic checks are not applied: the fixture reads two datasets through CustomSql (outside the
table contract the committed datasets keep), and it still has sheet-local controls on filters that span
sheets and controls outside SheetControlLayouts, which those checks report.
"""

from __future__ import annotations

from pathlib import Path

from bcr.quicksight.documents import load_definitions, noncanonical_files
from bcr.quicksight.validate import request_checks

FIXTURE = Path(__file__).parents[1] / "fixtures" / "quicksight_definitions"


def test_fixture_is_a_valid_quicksight_request() -> None:
    assert request_checks(load_definitions(FIXTURE)) == []


def test_fixture_is_normalized_json() -> None:
    assert noncanonical_files(FIXTURE) == []
