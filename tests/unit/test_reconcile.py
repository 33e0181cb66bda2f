"""The checks a run must pass before it publishes: each one fires on the mismatch it guards against."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bedrock_costs.reconcile import DateTotals, check_dates, check_unchanged, ledger_totals, published_totals
from bedrock_costs.schemas import DAILY_COSTS, INVOCATION_TAGS, INVOCATIONS

DAY = "2026-11-20"
SUMS = (10, 0, 0, 0, 5, 15, Decimal("0.01"), None, None, Decimal("0.02"), Decimal("0.03"), None)


def _good() -> dict:
    ledger = {DAY: DateTotals(rows=3, sums=SUMS, tag_rows=4)}
    return {
        "dates": [DAY],
        "before": {DAY: 1},
        "written": {DAY: 2},
        "after": ledger,
        "daily": {DAY: DateTotals(rows=3, sums=SUMS)},
        "tags": {DAY: 4},
    }


def test_consistent_dates_pass() -> None:
    assert check_dates(**_good()) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"before": {DAY: 2}}, "expected 2 before + 2 written = 4"),
        ({"written": {}}, "expected 1 before + 0 written = 1"),
        ({"daily": {DAY: DateTotals(rows=2, sums=SUMS)}}, "daily_costs counts 2 requests, invocations 3"),
        ({"daily": {DAY: DateTotals(rows=3, sums=(11, *SUMS[1:]))}}, "daily_costs input_tokens is 11"),
        ({"daily": {DAY: DateTotals(rows=3, sums=(*SUMS[:10], Decimal("0.04"), None))}}, "total_cost"),
        ({"daily": {}}, "daily_costs counts 0 requests"),
        ({"tags": {DAY: 3}}, "invocation_tags holds 3 rows, requestMetadata has 4 keys"),
    ],
)
def test_each_mismatch_is_reported(change: dict, message: str) -> None:
    problems = check_dates(**(_good() | change))
    assert problems and message in problems[0]


def test_a_rewrite_must_keep_rows_and_tokens() -> None:
    before = {DAY: DateTotals(3, SUMS)}
    repriced = {DAY: DateTotals(3, (*SUMS[:6], Decimal("9"), *SUMS[7:]))}  # costs may change
    assert check_unchanged([DAY], before, repriced) == []
    assert check_unchanged([DAY], before, {DAY: DateTotals(2, SUMS)})
    assert check_unchanged([DAY], before, {DAY: DateTotals(3, (9, *SUMS[1:]))})
    assert check_unchanged([DAY], before, {})


def test_totals_are_summed_per_date_from_each_table(spark) -> None:
    def row(schema, **values):
        return tuple(values.get(f.name) for f in schema.fields)

    at = datetime(2026, 11, 20, 9, tzinfo=UTC)
    metadata = {"k": "v", "j": "w"}
    inv = spark.createDataFrame(
        [
            row(INVOCATIONS, request_id="a", event_time=at, input_tokens=5, total_cost=Decimal("0.5"), usage_date=DAY),
            row(INVOCATIONS, request_id="b", event_time=at, input_tokens=7, usage_date=DAY, request_metadata=metadata),
        ],
        INVOCATIONS,
    )
    totals = ledger_totals(inv)[DAY]
    assert (totals.rows, totals.sums[0], totals.sums[10], totals.tag_rows) == (2, 12, Decimal("0.5"), 2)
    daily = spark.createDataFrame([row(DAILY_COSTS, request_count=2, input_tokens=12, usage_date=DAY)], DAILY_COSTS)
    tags = spark.createDataFrame(
        [row(INVOCATION_TAGS, request_id="b", tag_key=k, usage_date=DAY) for k in "kj"], INVOCATION_TAGS
    )
    ledger, rolled, tag_rows = published_totals(inv, daily, tags)
    assert ledger == {DAY: totals}
    assert (rolled[DAY].rows, rolled[DAY].sums[0], tag_rows) == (2, 12, {DAY: 2})
