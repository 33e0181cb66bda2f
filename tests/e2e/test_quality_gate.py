"""The data-quality gate of `bcr etl`, broken on purpose: a repricing with a catalog that lacks the models
most requests use leaves most of the ledger unpriced, which the priced-share rules must catch.

Under ``--dq-policy fail`` the run exits 1 and publishes nothing (every table file byte-identical), its
failed pipeline_runs row names the rules; under ``warn`` it publishes, exits 0 with a warning, and its
dq_results rows are what the evaluator finds on the published tables.
"""

from __future__ import annotations

import csv
import math
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from etl_helpers import PROFILES, etl, file_hashes, runs
from pyspark.sql import functions as F

from bcr.cli import main
from bedrock_costs.catalog import DEFAULT_CATALOG, load_catalog
from bedrock_costs.quality.rulesets import load_rulesets
from bedrock_costs.quality.tables import PRICING, catalog_frame, evaluate_rulesets, read_tables
from bedrock_costs.schemas import DQ_RESULTS, INVOCATIONS

pytestmark = pytest.mark.spark

# The corpus is dated in the past: a freshness window wider than its age keeps that rule out of the way.
STALE_OK = "DqMaxDataAgeHours=1000000"
PRICED_RULE = 'ColumnValues "pricing_status" = "priced"'
TOKEN_SHARE_RULE = "sum(case when pricing_status = 'priced'"


@pytest.fixture(scope="module")
def setup(etl_tables: Path, corpus: Path, tmp_path_factory: pytest.TempPathFactory, spark) -> tuple[Path, Path, Path]:
    """A copy of the corpus's tables and a catalog without the models of most of its priced requests."""
    out = tmp_path_factory.mktemp("gate") / "tables"
    shutil.copytree(etl_tables, out)
    ledger = spark.read.schema(INVOCATIONS).parquet(str(out / "invocations"))
    priced = ledger.where(F.col("pricing_status") == "priced")
    by_model = priced.groupBy("model_id").count().orderBy(F.desc("count"), "model_id").collect()
    total, dropped, covered = sum(r["count"] for r in by_model), set(), 0
    for row in by_model:  # the most used models until they make up most of the priced requests
        if covered > 0.6 * total:
            break
        dropped.add(row["model_id"])
        covered += row["count"]
    catalog = out.parent / "catalog_without_top_models.csv"
    with DEFAULT_CATALOG.open(newline="", encoding="utf-8") as source, catalog.open("w", newline="") as target:
        reader = csv.DictReader(source)
        writer = csv.DictWriter(target, reader.fieldnames or [])
        writer.writeheader()
        writer.writerows(row for row in reader if row["model_id"] not in dropped)
    return out, catalog, corpus / PROFILES


def _reprice(out: Path, catalog: Path, profiles: Path, policy: str) -> int:
    gate = ["--dq-policy", policy, "--dq-param", STALE_OK]
    return main(["etl", "--reprice", "--out", str(out), "--pricing", str(catalog), "--profiles", str(profiles), *gate])


def _dq_rows(spark, out: Path, run_id: str) -> list:
    frame = spark.read.schema(DQ_RESULTS).parquet(str(out / "dq_results"))
    return frame.where(F.col("run_id") == run_id).collect()


def _failed_rules(rows: list) -> set[str]:
    return {f"{r.ruleset} {r.rule_name}" for r in rows if r.outcome != "PASS"}


def _priced_share_rules(rows: list) -> set[str]:
    """The two rules the damage must trip: the priced share of requests and of tokens."""
    found = {f"{r.ruleset} {r.rule_name}" for r in rows if PRICED_RULE in r.rule or TOKEN_SHARE_RULE in r.rule}
    assert len(found) == 2, found
    return found


def test_under_fail_a_broken_rule_fails_the_run_and_publishes_nothing(
    setup, spark, capsys: pytest.CaptureFixture[str]
) -> None:
    out, catalog, profiles = setup
    before = file_hashes(out)
    dq_before = sorted(p.name for p in out.joinpath("dq_results").rglob("*.parquet"))
    assert _reprice(out, catalog, profiles, "fail") == 1
    captured = capsys.readouterr()
    assert file_hashes(out) == before
    failed = runs(spark, out)[-1]
    assert (failed.mode, failed.status, failed.dq_outcome, failed.reconciled) == ("reprice", "failed", "failed", False)
    rows = _dq_rows(spark, out, failed.run_id)
    assert _priced_share_rules(rows) <= _failed_rules(rows), rows
    assert failed.dq_rules_failed == len(_failed_rules(rows)) and failed.dq_rules_evaluated == len(rows)
    for rule in _failed_rules(rows):
        assert rule in failed.error, failed.error
    assert failed.error.startswith("data quality failed (policy fail)")
    assert "FAILED, nothing published" in captured.out and "bcr etl: run" in captured.err
    # Its rules' results are recorded next to the failed run (as pipeline_runs is), nothing else.
    assert len(sorted(p.name for p in out.joinpath("dq_results").rglob("*.parquet"))) == len(dq_before) + 1


def test_under_warn_the_run_publishes_warns_and_records_what_the_evaluator_finds(
    setup, spark, capsys: pytest.CaptureFixture[str]
) -> None:
    out, catalog, profiles = setup
    assert _reprice(out, catalog, profiles, "warn") == 0
    captured = capsys.readouterr()
    run = runs(spark, out)[-1]
    assert (run.status, run.dq_outcome, run.reconciled) == ("succeeded", "warned", True)
    assert run.rows_repriced > 0  # published: the ledger now holds the unpriced rows
    ledger = spark.read.schema(INVOCATIONS).parquet(str(out / "invocations"))
    billable = ledger.where(~F.col("pricing_status").isin("not_billed", "not_token_priced"))
    share = billable.where(F.col("pricing_status") == "priced").count() / billable.count()
    assert share < 0.95  # independently: most requests are unpriced now
    rows = _dq_rows(spark, out, run.run_id)
    assert _priced_share_rules(rows) <= _failed_rules(rows)
    assert "WARNING: data quality warned (policy warn)" in captured.err
    assert "FAILED, published anyway" in captured.out
    # The rows are the evaluator's results on the published tables.
    datasets = read_tables(spark, str(out))
    datasets[PRICING] = catalog_frame(spark, load_catalog(catalog))
    expected = evaluate_rulesets(load_rulesets(overrides=dict([STALE_OK.split("=")])), datasets, now=datetime.now(UTC))
    found = {(r.ruleset, r.rule_name): r for r in rows}
    assert sorted(found) == sorted((res.ruleset, rule.name) for res in expected for rule in res.results)
    for result in expected:
        for rule in result.results:
            row = found[(result.ruleset, rule.name)]
            assert (row.rule, row.outcome, row.policy, row.engine) == (rule.rule, rule.outcome, "warn", "local")
            if rule.measured is not None and not math.isnan(rule.measured):
                assert row.measured_value == pytest.approx(rule.measured), rule.rule
    priced_rule = next(r for r in rows if PRICED_RULE in r.rule)
    assert priced_rule.measured_value == pytest.approx(share) and priced_rule.outcome == "FAIL"


def test_a_run_with_nothing_new_still_judges_freshness_on_the_newest_date(
    etl_tables: Path, corpus: Path, tmp_path: Path, spark
) -> None:
    """The gate reads only the dates a run writes, plus the newest: with nothing new that date alone must
    still show that the logs stopped arriving (the corpus is days old; the default window is 48 hours)."""
    out = tmp_path / "tables"
    shutil.copytree(etl_tables, out)
    before = file_hashes(out)
    assert etl(corpus, out, "--dq-policy", "fail") == 1
    failed = runs(spark, out)[-1]
    assert (failed.files_new, failed.rows_written, failed.status) == (0, 0, "failed")
    assert 'ColumnValues "event_time" > (now() - 48 hours)' in failed.error
    # The ledger's other rules pass on the newest date (the run history's own rules depend on the runs
    # other tests made on these tables, so they are left out).
    ledger_failures = {
        r.rule for r in _dq_rows(spark, out, failed.run_id) if r.outcome != "PASS" and r.ruleset != "pipeline_runs"
    }
    assert ledger_failures == {'ColumnValues "event_time" > (now() - 48 hours) with threshold > 0'}
    assert file_hashes(out) == before
