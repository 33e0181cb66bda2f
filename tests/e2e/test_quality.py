"""End to end: the template's rulesets on tables the ETL wrote from generated logs.

Sound tables pass every rule; each kind of damage fails exactly the rules that guard against it, with a
message that says what is wrong; `bcr quality` reports it with the documented exit codes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from bcr.cli import main
from bedrock_costs.aggregate import daily_costs
from bedrock_costs.catalog import DEFAULT_CATALOG, load_catalog
from bedrock_costs.quality.results import PASS, fmt
from bedrock_costs.quality.rulesets import DEFAULT_TEMPLATE, load_rulesets
from bedrock_costs.quality.tables import PRICING, catalog_frame, evaluate_rulesets, read_tables

pytestmark = pytest.mark.spark

# The corpus spans 2026-11-20 .. 2026-11-22 (UTC): evaluated the morning after, it is fresh.
AS_OF = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def tables(corpus: Path, tmp_path_factory: pytest.TempPathFactory, spark) -> Path:
    out = tmp_path_factory.mktemp("dq-tables")
    assert (
        main(["etl", "--logs", str(corpus), "--out", str(out), "--profiles", str(corpus / "inference_profiles.json")])
        == 0
    )
    return out


@pytest.fixture(scope="module")
def datasets(tables: Path, spark) -> dict[str, DataFrame]:
    frames = {name: frame.cache() for name, frame in read_tables(spark, str(tables)).items()}
    frames[PRICING] = catalog_frame(spark, load_catalog(DEFAULT_CATALOG))
    return frames


def failures(datasets: dict[str, DataFrame], now: datetime = AS_OF) -> dict[str, str]:
    """Rule text → message of every rule that did not pass, over all rulesets."""
    results = evaluate_rulesets(load_rulesets(), datasets, now=now)
    return {f"{r.ruleset}: {rule.rule}": rule.message for r in results for rule in r.results if rule.outcome != PASS}


def broken(datasets: dict[str, DataFrame], change: Callable[[DataFrame], DataFrame]) -> dict[str, DataFrame]:
    """The tables with ``invocations`` damaged and ``daily_costs`` rolled up from it, as the ETL would."""
    invocations = change(datasets["invocations"])
    return {**datasets, "invocations": invocations, "daily_costs": daily_costs(invocations)}


def only(found: dict[str, str], *expected: str) -> dict[str, str]:
    """Assert that exactly the rules containing ``expected`` failed; return their messages."""
    assert len(found) == len(expected), found
    for fragment in expected:
        assert any(fragment in rule for rule in found), (fragment, found)
    return found


def test_sound_tables_pass_every_rule(datasets) -> None:
    assert failures(datasets) == {}


def test_duplicated_request_ids_fail_the_primary_key(datasets) -> None:
    found = failures(broken(datasets, lambda inv: inv.unionByName(inv.orderBy("request_id").limit(3))))
    (message,) = only(found, 'invocations: IsPrimaryKey "request_id"').values()
    rows = datasets["invocations"].count() + 3
    assert message == f"3 value(s) of request_id occur more than once (6 of {rows:,} rows are not unique)"


def test_a_negative_token_count_fails_its_rule(datasets) -> None:
    first = datasets["invocations"].orderBy("request_id").first()["request_id"]
    damaged = broken(
        datasets,
        lambda inv: inv.withColumn(
            "output_tokens", F.when(F.col("request_id") == first, F.lit(-5)).otherwise(F.col("output_tokens"))
        ),
    )
    (message,) = only(failures(damaged), 'ColumnValues "output_tokens" >= 0').values()
    assert message.startswith("1 of ") and "do not satisfy output_tokens >= 0" in message


def test_a_cost_that_is_not_the_sum_of_its_parts_fails(datasets) -> None:
    priced = datasets["invocations"].where("pricing_status = 'priced'").orderBy("request_id").first()["request_id"]
    damaged = broken(
        datasets,
        lambda inv: inv.withColumn(
            "total_cost",
            F.when(F.col("request_id") == priced, F.col("total_cost") + F.lit(Decimal("0.000001"))).otherwise(
                F.col("total_cost")
            ),
        ),
    )
    (message,) = only(failures(damaged), "total_cost <=> cast(input_cost").values()
    assert message == "Dataset.*.CustomSQL is 1, expected = 0"


def test_most_requests_unpriced_fail_both_priced_shares(datasets) -> None:
    def unprice(inv: DataFrame) -> DataFrame:
        hit = (F.col("pricing_status") == "priced") & (F.abs(F.hash("request_id")) % 10 < 8)
        changed = inv.withColumn("price_key", F.when(hit, None).otherwise(F.col("price_key")))
        for column in (
            "input_cost",
            "cache_read_cost",
            "cache_write_cost",
            "output_cost",
            "total_cost",
            "cache_savings",
        ):
            changed = changed.withColumn(column, F.when(hit, None).otherwise(F.col(column)))
        return changed.withColumn("pricing_status", F.when(hit, "unpriced_model").otherwise(F.col("pricing_status")))

    damaged = broken(datasets, unprice)
    token_priced = damaged["invocations"].where("pricing_status not in ('not_billed', 'not_token_priced')")
    share = token_priced.where("pricing_status = 'priced'").count() / token_priced.count()
    found = only(
        failures(damaged),
        'ColumnValues "pricing_status" = "priced"',
        "then coalesce(total_tokens, 0) else 0 end)",
    )
    request_share = next(message for rule, message in found.items() if "with threshold" in rule)
    assert f"share passing is {fmt(share)}, expected >= 0.95" in request_share
    assert share < 0.3


def test_stale_data_fails_freshness_only(datasets) -> None:
    found = failures(datasets, now=datetime(2026, 12, 10, tzinfo=UTC))
    (message,) = only(found, 'ColumnValues "event_time" > (now() - 48 hours) with threshold > 0').values()
    assert "do not satisfy event_time > (now() - 48 hours)" in message


def test_daily_costs_that_disagree_with_invocations_fail_the_reconciliation(datasets) -> None:
    day = datasets["daily_costs"].where("total_cost > 0").orderBy("usage_date", "model_id").first()
    wrong = datasets["daily_costs"].withColumn(
        "total_cost",
        F.when(
            (F.col("usage_date") == day["usage_date"]) & (F.col("model_id") == day["model_id"]),
            F.col("total_cost") + F.lit(Decimal("1")),
        ).otherwise(F.col("total_cost")),
    )
    only(failures({**datasets, "daily_costs": wrong}), "daily_costs: CustomSql")


def _later_run(datasets: dict[str, DataFrame], run_id: str, **columns) -> dict[str, DataFrame]:
    """``pipeline_runs`` with one more run, an hour after the last, its columns as given."""
    runs = datasets["pipeline_runs"]
    last = runs.orderBy(F.desc("started_at")).limit(1)
    later = last.withColumns(
        {
            "run_id": F.lit(run_id),
            "started_at": F.col("started_at") + F.expr("INTERVAL 1 HOUR"),
            "finished_at": F.col("finished_at") + F.expr("INTERVAL 1 HOUR"),
            **{name: F.lit(value).cast(runs.schema[name].dataType) for name, value in columns.items()},
        }
    )
    return {**datasets, "pipeline_runs": runs.unionByName(later)}


def test_a_failed_latest_run_fails_the_latest_run_rule_only(datasets) -> None:
    """Its counts were staged, never published: they must not reach the rejected-share or row-count rules."""
    failed = _later_run(
        datasets, "20261123T020000Z-failed", status="failed", reconciled=False, rows_written=0, rejected_lines=10**6
    )
    only(failures(failed), "where status <> 'succeeded' or not reconciled")


def test_a_run_that_wrote_far_fewer_rows_than_the_runs_before_fails_the_history_rule(datasets) -> None:
    fewer = _later_run(datasets, "20261123T020000Z-fewer", rows_written=1, lines_read=1, rejected_lines=0)
    (message,) = only(failures(fewer), "row_number() over").values()
    assert "expected >= 0.1" in message


def test_cli_passes_sound_tables_and_prints_every_rule(tables: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["quality", "--tables", str(tables), "--as-of", AS_OF.isoformat()]) == 0
    out = capsys.readouterr().out
    assert "RULESET" in out and "MEASURED" in out and "EXPECTED" in out
    for ruleset in ("invocations", "daily_costs", "pipeline_runs"):
        rules = len(next(d for d in load_rulesets() if d.name == ruleset).dqdl.strip().splitlines()) - 2
        assert f"{ruleset}: {rules}/{rules} rules passed" in out


def test_cli_lists_failures_first_and_exits_1(tables: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "quality",
            "--tables",
            str(tables),
            "--ruleset",
            "invocations",
            "--param",
            "DqMinPricedRequestShare=0.999",
            "--as-of",
            "2026-12-10T00:00",
            "--json",
        ]
    )
    assert code == 1
    (result,) = json.loads(capsys.readouterr().out)
    failed = [rule for rule in result["RuleResults"] if rule["Result"] != PASS]
    assert {rule["Description"].split(" with")[0] for rule in failed} == {
        'ColumnValues "event_time" > (now() - 48 hours)',
        'ColumnValues "pricing_status" = "priced" where "pricing_status not in (\'not_billed\', \'not_token_priced\')"',
    }
    assert all(rule["EvaluationMessage"] and rule["EvaluatedMetrics"] for rule in failed)
    assert result["RulesetName"] == "invocations" and result["Score"] < 1


def test_cli_text_output_puts_failures_first(tables: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["quality", "--tables", str(tables), "--ruleset", "pipeline_runs", "--param", "DqMaxRejectedLineShare=0"])
        == 1
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[:2] == ["pipeline_runs", "FAIL"]
    assert "rejected_lines" in lines[1]
    assert any(line.startswith("  pipeline_runs Rule_3 FAIL: Dataset.*.CustomSQL is") for line in lines)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tables", "/nonexistent/tables"], "no such folder"),
        (["--tables", "."], "no cost tables in this folder"),
        (["--tables", ".", "--ruleset", "nope"], "no such ruleset (the template has: invocations, daily_costs"),
        (["--tables", ".", "--param", "DqMinPricedRequestShare"], "use NAME=VALUE"),
        (["--tables", ".", "--param", "DqMinPricedRequestShare=abc"], "must be a number"),
        (["--tables", ".", "--template", "/nonexistent.yaml"], "no such file"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(
    tmp_path: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["quality", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_cli_unparsable_ruleset_names_line_column_and_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(
        DEFAULT_TEMPLATE.read_text(encoding="utf-8").replace('IsComplete "event_time",', 'IsComplete "event_time" >,'),
        encoding="utf-8",
    )
    assert main(["quality", "--tables", str(tmp_path), "--template", str(template)]) == 2
    err = capsys.readouterr().err
    assert "ruleset invocations (InvocationsRuleset" in err
    assert "line 3, column " in err and 'in rule: IsComplete "event_time" >' in err
