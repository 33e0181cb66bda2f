"""End to end: `bcr pricing coverage` and `bcr demo` as a newcomer runs them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from etl_helpers import SUMMARY_HEADINGS

from bcr.cli import main


def test_coverage_names_the_unpriced_model_and_survives_damaged_objects(
    corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profiles = corpus / "inference_profiles.json"
    assert main(["pricing", "coverage", "--logs", str(corpus), "--profiles", str(profiles)]) == 1
    captured = capsys.readouterr()
    assert "acme.unlisted-model-v1:0" in captured.out
    assert "damaged gzip object" in captured.err
    unpriced_line = captured.out.strip().splitlines()[-1]
    # Resolved application profiles are priced like their model; the unresolved one and the
    # provisioned model are listed by scope, never as a base model.
    assert "(application)" in unpriced_line and "(provisioned)" in unpriced_line
    assert "anthropic.claude-sonnet-4-5" not in unpriced_line


def test_coverage_without_profiles_counts_every_application_profile_as_unpriced(
    corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def unpriced_total(*extra: str) -> int:
        main(["pricing", "coverage", "--logs", str(corpus), *extra])
        return int(capsys.readouterr().out.strip().splitlines()[-1].split()[0])

    assert unpriced_total() > unpriced_total("--profiles", str(corpus / "inference_profiles.json"))


def test_demo_runs_end_to_end_reports_spend_and_writes_the_dashboard_preview(demo_run) -> None:
    assert demo_run.exit_code == 0
    for heading in SUMMARY_HEADINGS:
        assert heading in demo_run.output
    assert "PRIVATE-" not in demo_run.output
    assert demo_run.tables.joinpath("invocations").is_dir()
    assert f"wrote {demo_run.report}" in demo_run.output
    assert "0 placeholders" in demo_run.output
    # The demo's fresh sample passes every data-quality rule, and says so.
    gate = re.search(r"data quality: (\d+)/(\d+) rules passed -> passed \(policy warn", demo_run.output)
    assert gate and gate[1] == gate[2] and int(gate[1]) > 30, demo_run.output
