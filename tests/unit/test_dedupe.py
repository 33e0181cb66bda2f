"""One id, one row: a batch split against itself and every stored date, with conflicts recorded."""

from __future__ import annotations

from datetime import UTC, datetime

from bedrock_costs.dedupe import dedupe

SCHEMA = (
    "request_id string, source_file string, line_number long, usage_date string, event_time timestamp, "
    "account_id string, region string, inference_region string, operation string, status string, "
    "error_code string, model_id_raw string, service_tier string, principal_arn string, input_tokens long, "
    "cache_read_tokens long, cache_write_tokens long, cache_write_1h_tokens long, output_tokens long, "
    "request_metadata map<string,string>"
)


def _row(request_id: str, source: str, line: int, day: int = 20, tokens: int = 100, metadata=None) -> tuple:
    when = datetime(2026, 11, day, 12, tzinfo=UTC)
    return (
        request_id,
        source,
        line,
        f"2026-11-{day}",
        when,
        "111122223333",
        "us-east-1",
        "us-east-1",
        "Converse",
        "success",
        None,
        "anthropic.claude-sonnet-4-20250514-v1:0",
        "standard",
        "arn:aws:sts::111122223333:assumed-role/App/s",
        tokens,
        0,
        0,
        0,
        50,
        metadata if metadata is not None else {"tenant": "a", "app": "b"},
    )


def test_the_stored_copy_wins_on_any_date_and_the_first_copy_within_a_batch(spark) -> None:
    stored = spark.createDataFrame(
        [_row("stored-1", "A/old.json.gz", 1, day=19), _row("stored-2", "A/old.json.gz", 2, day=19)], SCHEMA
    )
    batch = spark.createDataFrame(
        [
            _row("stored-1", "B/new.json.gz", 1, day=21),  # re-delivered, dated two days later
            _row("stored-2", "B/new.json.gz", 2, day=19, metadata={"app": "b", "tenant": "a"}),  # identical
            _row("new-1", "B/new.json.gz", 3),
            _row("new-1", "C/newer.json.gz", 1, tokens=999),  # conflicting copy of a new id
            _row("new-1", "B/new.json.gz", 4),  # identical later copy
            _row("new-2", "C/newer.json.gz", 2),
        ],
        SCHEMA,
    )
    result = dedupe(batch, stored)
    assert sorted((r.request_id, r.source_file, r.line_number) for r in result.rows.collect()) == [
        ("new-1", "B/new.json.gz", 3),
        ("new-2", "C/newer.json.gz", 2),
    ]
    assert (result.redelivered, result.already_stored) == (2, 2)
    assert result.rows.count() + result.redelivered + result.already_stored == batch.count()
    conflicts = sorted(
        (c.request_id, c.resolution, c.differing_fields, c.kept_source_file, c.dropped_source_file, c.usage_date)
        for c in result.conflicts.collect()
    )
    assert conflicts == [
        ("new-1", "first_delivery_kept", ["input_tokens"], "B/new.json.gz", "C/newer.json.gz", "2026-11-20"),
        ("stored-1", "stored_copy_kept", ["event_time"], "A/old.json.gz", "B/new.json.gz", "2026-11-19"),
    ]
    result.release()


def test_a_first_run_has_nothing_stored_and_no_copies(spark) -> None:
    batch = spark.createDataFrame([_row("a", "A", 1), _row("b", "A", 2)], SCHEMA)
    result = dedupe(batch, None)
    assert (result.rows.count(), result.redelivered, result.already_stored, result.conflicts) == (2, 0, 0, None)
