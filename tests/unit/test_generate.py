"""The sample log generator: deterministic, laid out like an S3 delivery, and reconcilable with its manifest.

The ETL's end-to-end tests trust the manifest as ground truth, so these tests recompute every number in it
from the files on disk the way a reader would (top-level counts first, body usage as the fallback).
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bcr.cli import main
from bcr.generate import (
    APP_PROFILE_UNKNOWN_ID,
    MANIFEST_NAME,
    PERMISSION_MARKER,
    PROFILES_NAME,
    GenerateResult,
    generate_logs,
)

LOG_KEY = re.compile(
    r"^AWSLogs/(?P<account>\d{12})/BedrockModelInvocationLogs/(?P<region>us-east-1|us-west-2|eu-central-1)/"
    r"(?P<folder>\d{4}/\d{2}/\d{2}/\d{2})/(?P<stamp>\d{8}T\d{6})(?P<ms>\d{3})Z_[0-9a-f]{16}\.json\.gz$"
)
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
OPERATIONS = {"Converse", "ConverseStream", "InvokeModel", "InvokeModelWithResponseStream"}
SHAPES = {
    "foundation_model",
    "geo_profile",
    "global_profile",
    "inference_profile_arn",
    "application_inference_profile_arn",
    "provisioned_model_arn",
}
TEXT_KEYS = {"text", "inputText", "prompt", "generation"}
REQUIRED = {"schemaType", "schemaVersion", "timestamp", "accountId", "identity", "region", "requestId"}
REQUIRED |= {"operation", "modelId", "input", "output"}
ORDER_2024 = ["schemaType", "schemaVersion", "timestamp", "accountId", "identity", "region", "requestId"]
ORDER_2025 = ["timestamp", "accountId", "identity", "region", "requestId", "operation", "modelId", "input", "output"]


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> GenerateResult:
    return generate_logs(tmp_path_factory.mktemp("clean"), records=2000, seed=7)


@pytest.fixture(scope="module")
def corrupt(tmp_path_factory: pytest.TempPathFactory) -> GenerateResult:
    return generate_logs(tmp_path_factory.mktemp("corrupt"), records=2000, seed=11, corrupt=True)


def log_objects(out: Path) -> list[Path]:
    return sorted(p for p in (out / "AWSLogs").rglob("*.json.gz") if "data" not in p.relative_to(out).parts)


def read_lines(path: Path) -> list[str]:
    return gzip.decompress(path.read_bytes()).decode().split("\n")[:-1]


def records_by_file(result: GenerateResult) -> dict[Path, list[dict[str, Any]]]:
    """Every parsed record line of the clean (uncorrupted) objects."""
    return {path: [json.loads(line) for line in read_lines(path)] for path in log_objects(result.out)}


def all_records(result: GenerateResult) -> list[dict[str, Any]]:
    return [record for records in records_by_file(result).values() for record in records]


def unique_records(result: GenerateResult) -> list[dict[str, Any]]:
    return list({record["requestId"]: record for record in all_records(result)}.values())


def event_time(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def shape(model_id: str) -> str:
    if model_id.startswith("arn:"):
        kind = model_id.split(":", 5)[5].split("/")[0]
        return {
            "inference-profile": "inference_profile_arn",
            "application-inference-profile": "application_inference_profile_arn",
            "provisioned-model": "provisioned_model_arn",
        }[kind]
    prefix = model_id.split(".")[0]
    return {"global": "global_profile", "us": "geo_profile", "eu": "geo_profile"}.get(prefix, "foundation_model")


def texts(value: Any) -> list[str]:
    """Every prompt or response string inside a body."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in TEXT_KEYS and isinstance(item, str):
                found.append(item)
            else:
                found += texts(item)
    elif isinstance(value, list):
        for item in value:
            found += texts(item)
    return found


def response(record: dict[str, Any]) -> dict[str, Any]:
    """The response body when it is one object (not a stream chunk array, not offloaded)."""
    body = record["output"].get("outputBodyJson")
    return body if isinstance(body, dict) else {}


def usage_counts(record: dict[str, Any]) -> dict[str, int]:
    """Token classes as a reader must take them: top-level counts first, the body's usage as the fallback."""
    top_in, top_out = record["input"], record["output"]
    body = top_out.get("outputBodyJson")
    if isinstance(body, list):  # InvokeModelWithResponseStream chunks
        usage = next(chunk["message"]["usage"] for chunk in body if isinstance(chunk, dict) and "message" in chunk)
    else:
        usage = (body or {}).get("usage", {})
    read = usage.get("cacheReadInputTokens", usage.get("cache_read_input_tokens", 0))
    write = usage.get("cacheWriteInputTokens", usage.get("cache_creation_input_tokens", 0))
    one_hour = sum(d["inputTokens"] for d in usage.get("cacheDetails", []) if d["ttl"] == "1h")
    one_hour += usage.get("cache_creation", {}).get("ephemeral_1h_input_tokens", 0)
    return {
        "input_tokens": top_in["inputTokenCount"],
        "cache_read_tokens": top_in.get("cacheReadInputTokenCount", read),
        "cache_write_tokens": top_in.get("cacheWriteInputTokenCount", write),
        "cache_write_1h_tokens": one_hour,
        "output_tokens": top_out.get("outputTokenCount", 0),
    }


# ---------------------------------------------------------------- determinism


def tree(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_same_arguments_give_identical_bytes_with_any_worker_count(tmp_path: Path) -> None:
    first = tree(generate_logs(tmp_path / "a", records=400, seed=3, corrupt=True).out)
    again = tree(generate_logs(tmp_path / "b", records=400, seed=3, corrupt=True).out)
    parallel = tree(generate_logs(tmp_path / "c", records=400, seed=3, corrupt=True, workers=2).out)
    assert first == again == parallel
    assert any(key.startswith("AWSLogs/") for key in first)


def test_different_seed_gives_different_logs(tmp_path: Path) -> None:
    one = tree(generate_logs(tmp_path / "a", records=300, seed=1).out)
    two = tree(generate_logs(tmp_path / "b", records=300, seed=2).out)
    assert set(one) != set(two)
    assert one[MANIFEST_NAME] != two[MANIFEST_NAME]


def test_regenerating_replaces_an_earlier_output(tmp_path: Path) -> None:
    generate_logs(tmp_path, records=300, seed=1)
    second = generate_logs(tmp_path, records=300, seed=2)
    assert set(log_objects(tmp_path)) == set(second.files)


def test_refuses_a_folder_that_is_not_a_generator_output(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not empty"):
        generate_logs(tmp_path, records=10)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


# ---------------------------------------------------------------- layout


def test_every_log_object_sits_in_its_delivery_hour_folder(clean: GenerateResult) -> None:
    objects = log_objects(clean.out)
    assert objects == sorted(clean.files)
    for path in objects:
        match = LOG_KEY.match(path.relative_to(clean.out).as_posix())
        assert match, path
        delivered = datetime.strptime(match["stamp"], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        assert delivered.strftime("%Y/%m/%d/%H") == match["folder"]
    sizes = [len(read_lines(path)) for path in objects]
    assert max(sizes) <= 220 and sum(size < 10 for size in sizes) <= 1  # tens to a couple of hundred


def test_records_are_delivered_5_to_90_seconds_after_the_event(clean: GenerateResult) -> None:
    crossed = late = 0
    for path, records in records_by_file(clean).items():
        match = LOG_KEY.match(path.relative_to(clean.out).as_posix())
        assert match
        delivered = datetime.strptime(match["stamp"] + match["ms"], "%Y%m%dT%H%M%S%f").replace(tzinfo=UTC)
        delays = [(delivered - event_time(r["timestamp"])).total_seconds() for r in records]
        assert all(delay >= 5 for delay in delays)
        late += sum(delay > 90 for delay in delays)
        crossed += sum(event_time(r["timestamp"]).strftime("%Y/%m/%d/%H") != match["folder"] for r in records)
    assert late <= clean.duplicate_lines  # only re-deliveries arrive later than 90 s
    assert crossed > 0  # some records sit in the next hour's (or day's) folder


def test_offloaded_bodies_and_markers_exist(clean: GenerateResult) -> None:
    out = clean.out
    paths = [
        record[side][key]
        for record in all_records(clean)
        for side, key in (("input", "inputBodyS3Path"), ("output", "outputBodyS3Path"))
        if key in record[side]
    ]
    assert paths
    for uri in paths:
        key = uri.split("/", 3)[3]
        assert re.search(r"/\d{2}/data/[0-9a-f-]{36}_(input|output)\.json\.gz$", key)
        body = json.loads(gzip.decompress((out / key).read_bytes()))
        assert isinstance(body, dict | list)
    assert len(list((out / "AWSLogs").rglob("data/*.json.gz"))) == clean.data_objects
    markers = [out / PERMISSION_MARKER, *(out / "AWSLogs").glob(f"*/BedrockModelInvocationLogs/{PERMISSION_MARKER}")]
    assert len(markers) == 3
    assert all(marker.stat().st_size == 0 for marker in markers)


def test_profile_file_has_the_list_inference_profiles_shape(clean: GenerateResult) -> None:
    summaries = json.loads((clean.out / PROFILES_NAME).read_text())["inferenceProfileSummaries"]
    assert len(summaries) == 2
    for summary in summaries:
        assert summary["type"] == "APPLICATION" and summary["status"] == "ACTIVE"
        assert re.fullmatch(
            r"arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/[a-z0-9]{12}",
            summary["inferenceProfileArn"],
        )
        assert summary["inferenceProfileArn"].endswith(summary["inferenceProfileId"])
        assert all(model["modelArn"].startswith("arn:aws:bedrock:") for model in summary["models"])
        datetime.fromisoformat(summary["createdAt"])
    regions = sorted(model["modelArn"].split(":")[3] for model in summaries[0]["models"])
    assert regions == ["us-east-1", "us-east-2", "us-west-2"]
    used = {r["modelId"] for r in all_records(clean) if "application-inference-profile" in r["modelId"]}
    listed = {summary["inferenceProfileArn"] for summary in summaries}
    unresolved = used - listed
    assert len(unresolved) == 1 and next(iter(unresolved)).endswith(APP_PROFILE_UNKNOWN_ID)
    assert listed <= used


# ---------------------------------------------------------------- records


def test_every_line_is_a_complete_record(clean: GenerateResult) -> None:
    orders = Counter()
    for record in all_records(clean):
        assert set(record) >= REQUIRED, record.keys()
        assert record["schemaType"] == "ModelInvocationLog" and record["schemaVersion"] == "1.0"
        assert UUID.match(record["requestId"])
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z", record["timestamp"])
        assert record["accountId"] in ("111122223333", "444455556666")
        assert record["identity"]["arn"].split(":")[4] == record["accountId"]
        keys = list(record)
        orders["2024" if keys[:7] == ORDER_2024 else "2025" if keys[:9] == ORDER_2025 else "other"] += 1
        if "inferenceRegion" in record:
            assert record["inferenceRegion"] != record["region"]
            assert shape(record["modelId"]) not in ("foundation_model", "provisioned_model_arn")
        metadata = record.get("requestMetadata", {})
        assert len(metadata) <= 16 and all(isinstance(v, str) for v in metadata.values())
    assert orders["other"] == 0 and min(orders["2024"], orders["2025"]) > 800
    timestamps = [r["timestamp"] for r in all_records(clean)]
    assert 0 < sum("." in t for t in timestamps) < len(timestamps) * 0.05


def test_a_2000_record_run_covers_every_operation_and_model_id_shape(clean: GenerateResult) -> None:
    records = all_records(clean)
    assert {r["operation"] for r in records} == OPERATIONS
    assert {shape(r["modelId"]) for r in records} == SHAPES
    model_ids = {r["modelId"] for r in records}
    assert "acme.unlisted-model-v1:0" in model_ids
    assert "eu.anthropic.claude-sonnet-4-5-20250929-v1:0" in model_ids
    assert "global.anthropic.claude-sonnet-4-5-20250929-v1:0" in model_ids
    assert any(m.endswith(":inference-profile/global.anthropic.claude-sonnet-4-5-20250929-v1:0") for m in model_ids)
    for model_id in ("amazon.titan-embed-text-v2:0", "meta.llama3-1-70b-instruct-v1:0", "amazon.nova-lite-v1:0"):
        assert model_id in model_ids
    arns = {r["identity"]["arn"] for r in records}
    assert any(":assumed-role/AWSReservedSSO_" in arn and "@" in arn for arn in arns)
    assert any(re.search(r":user/[^/]+$", arn) for arn in arns)
    assert any(re.search(r":user/[^/]+/[^/]+$", arn) for arn in arns)


def test_edge_cases_are_present(clean: GenerateResult) -> None:
    records = all_records(clean)
    failed = [r for r in records if "errorCode" in r]
    assert failed and all(set(r["input"]) <= {"inputContentType"} for r in failed)
    assert {len(r["input"]) for r in failed} == {0, 1}
    guarded = [r for r in records if response(r).get("stopReason") == "guardrail_intervened"]
    assert guarded
    assert all(r["output"]["outputTokenCount"] == 0 and "guardrail" in response(r)["trace"] for r in guarded)
    assert any(r["input"]["inputTokenCount"] == 0 for r in guarded)
    ok = [r for r in records if "errorCode" not in r]
    assert any("inputBodyJson" not in r["input"] and "inputBodyS3Path" not in r["input"] for r in ok)  # text off
    assert any("inputBodyS3Path" in r["input"] for r in ok) and any("outputBodyS3Path" in r["output"] for r in ok)
    streams = [r["output"]["outputBodyJson"] for r in ok if isinstance(r["output"].get("outputBodyJson"), list)]
    assert streams and any("[DONE]" in chunks for chunks in streams)
    cache_present = [r for r in ok if "cacheReadInputTokenCount" in r["input"]]
    assert cache_present and any(r["input"]["cacheReadInputTokenCount"] == 0 for r in cache_present)
    body_only = [r for r in ok if "cacheReadInputTokenCount" not in r["input"]]
    assert any(usage_counts(r)["cache_write_tokens"] for r in body_only)  # only the body carries them
    assert any(usage_counts(r)["cache_write_1h_tokens"] for r in ok if r["operation"] == "Converse")
    assert any(usage_counts(r)["cache_write_1h_tokens"] for r in ok if r["operation"] == "InvokeModel")
    assert any(sum(list(usage_counts(r).values())[:3]) > 200_000 for r in ok)  # long context
    embeddings = [r for r in ok if r["modelId"] == "amazon.titan-embed-text-v2:0"]
    assert embeddings and all("outputTokenCount" not in r["output"] for r in embeddings)


def test_body_counts_agree_with_the_top_level(clean: GenerateResult) -> None:
    checked = Counter()
    for record in all_records(clean):
        top_in, top_out = record["input"], record["output"]
        body = top_out.get("outputBodyJson")
        if "errorCode" in record or body is None:
            continue
        counts = usage_counts(record)
        if isinstance(body, list):
            chunks = [chunk for chunk in body if isinstance(chunk, dict)]
            usage = chunks[0]["message"]["usage"]
            assert usage["input_tokens"] == top_in["inputTokenCount"]
            assert chunks[-2]["usage"]["output_tokens"] == top_out["outputTokenCount"]
            metrics = chunks[-1]["amazon-bedrock-invocationMetrics"]
            assert metrics["inputTokenCount"] == top_in["inputTokenCount"]
            assert metrics["outputTokenCount"] == top_out["outputTokenCount"]
            assert metrics.get("cacheReadInputTokenCount", counts["cache_read_tokens"]) == counts["cache_read_tokens"]
            if "cache_creation" in usage:
                creation = usage["cache_creation"]
                assert (
                    creation["ephemeral_5m_input_tokens"] + creation["ephemeral_1h_input_tokens"]
                    == counts["cache_write_tokens"]
                )
            assert [c["type"] for c in chunks][:2] == ["message_start", "content_block_start"]
            assert chunks[2]["delta"]["type"] == "text_delta"
        elif "usage" in body and "inputTokens" in body["usage"]:  # Converse / ConverseStream
            usage = body["usage"]
            assert usage["inputTokens"] == top_in["inputTokenCount"]
            assert usage["outputTokens"] == top_out["outputTokenCount"]
            assert usage.get("cacheReadInputTokens", 0) == counts["cache_read_tokens"]
            assert usage.get("cacheWriteInputTokens", 0) == counts["cache_write_tokens"]
            assert sum(d["inputTokens"] for d in usage.get("cacheDetails", [])) in (0, counts["cache_write_tokens"])
            assert usage["totalTokens"] == sum(counts[k] for k in counts if k != "cache_write_1h_tokens")
        elif "usage" in body:  # Anthropic InvokeModel
            usage = body["usage"]
            assert usage["input_tokens"] == top_in["inputTokenCount"]
            assert usage["output_tokens"] == top_out["outputTokenCount"]
            assert usage.get("cache_read_input_tokens", 0) == counts["cache_read_tokens"]
            assert usage.get("cache_creation_input_tokens", 0) == counts["cache_write_tokens"]
        elif "generation" in body:  # Llama
            assert body["prompt_token_count"] == top_in["inputTokenCount"]
            assert body["generation_token_count"] == top_out["outputTokenCount"]
        else:  # Titan embeddings
            assert body["inputTextTokenCount"] == top_in["inputTokenCount"] and len(body["embedding"]) == 8
        checked[record["operation"]] += 1
    assert set(checked) == OPERATIONS


def test_every_text_fragment_carries_the_private_marker(clean: GenerateResult) -> None:
    fragments = 0
    for record in all_records(clean):
        for side, key in (("input", "inputBodyJson"), ("output", "outputBodyJson")):
            for text in texts(record[side].get(key)):
                if text:
                    assert re.search(r"PRIVATE-[0-9a-f]{8}", text), text[:80]
                    fragments += 1
        assert "PRIVATE-" not in json.dumps(record.get("requestMetadata", {}))
    assert fragments > 2000
    assert "PRIVATE-" not in (clean.out / MANIFEST_NAME).read_text()
    assert "PRIVATE-" not in (clean.out / PROFILES_NAME).read_text()


def test_request_metadata_uses_many_spellings(clean: GenerateResult) -> None:
    records = unique_records(clean)
    tagged = [r["requestMetadata"] for r in records if "requestMetadata" in r]
    assert 0.75 < len(tagged) / len(records) < 0.95
    keys = {key for tags in tagged for key in tags}
    assert {"TenantID", "tenant_id", "tenant", "Tenant-Id"} <= keys
    assert {"ApplicationID", "app", "application", "CostCenter", "cost_center", "team", "Department"} <= keys
    assert {"Environment", "env", "user_id", "UserId", "UseCase", "feature"} <= keys


def test_mean_record_size_is_near_the_requested_mean(clean: GenerateResult, tmp_path: Path) -> None:
    lines = [line for path in log_objects(clean.out) for line in read_lines(path)]
    assert abs(sum(map(len, lines)) / len(lines) - 4500) < 4500 * 0.25
    small = generate_logs(tmp_path, records=500, mean_record_bytes=2000)
    assert abs(small.bytes_uncompressed / small.lines - 2000) < 2000 * 0.25


# ---------------------------------------------------------------- manifest


def test_manifest_reconciles_with_what_is_on_disk(clean: GenerateResult) -> None:
    manifest = json.loads((clean.out / MANIFEST_NAME).read_text())
    assert manifest == json.loads(clean.to_json())
    records = all_records(clean)
    ids = Counter(r["requestId"] for r in records)
    assert manifest["lines"] == len(records)
    assert manifest["unique_requests"] == len(ids) == 2000
    assert manifest["duplicate_lines"] == sum(n - 1 for n in ids.values()) > 0
    assert manifest["lines"] == manifest["unique_requests"] + manifest["duplicate_lines"]
    assert manifest["files"] == len(log_objects(clean.out))
    assert manifest["bytes_uncompressed"] == sum(len(gzip.decompress(p.read_bytes())) for p in clean.files)
    by_file = records_by_file(clean)
    first_seen: dict[str, Path] = {}
    for path in sorted(by_file, key=lambda p: p.name):  # object names start with the delivery time
        for record in by_file[path]:
            if record["requestId"] in first_seen:
                assert first_seen[record["requestId"]] != path  # a re-delivery lands in a later object
            first_seen.setdefault(record["requestId"], path)

    truth = manifest["truth"]
    succeeded = [r for r in unique_records(clean) if "errorCode" not in r]
    assert truth["requests"] == len(succeeded)
    assert truth["failed_requests"] == 2000 - len(succeeded)
    for name in ("input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens", "output_tokens"):
        assert truth[name] == sum(usage_counts(r)[name] for r in succeeded), name
    assert truth["requests_by_operation"] == dict(sorted(Counter(r["operation"] for r in succeeded).items()))
    assert truth["requests_by_model_id_shape"] == dict(sorted(Counter(shape(r["modelId"]) for r in succeeded).items()))
    assert truth["requests_by_usage_date"] == dict(sorted(Counter(r["timestamp"][:10] for r in succeeded).items()))
    assert truth["rerouted"] == sum("inferenceRegion" in r for r in succeeded)
    assert truth["cache_write_1h_tokens"] > 0 and truth["long_context"] > 0


# ---------------------------------------------------------------- corrupt input


def test_corrupt_mode_writes_and_counts_every_kind_of_bad_input(corrupt: GenerateResult) -> None:
    manifest = json.loads((corrupt.out / MANIFEST_NAME).read_text())
    assert manifest["corrupt_lines"] == dict.fromkeys(
        ["bad_timestamp", "blank", "missing_request_id", "not_json", "not_object", "truncated_json"], 1
    )
    truncated = corrupt.truncated_file
    assert truncated is not None and len(corrupt.corrupt_files) == 2
    not_gzip = next(path for path in corrupt.corrupt_files if path != truncated)
    with pytest.raises(gzip.BadGzipFile):
        gzip.decompress(not_gzip.read_bytes())

    inflate = zlib.decompressobj(31)
    kept = inflate.decompress(truncated.read_bytes()).decode()
    assert not inflate.eof  # the stream ends without its final block and trailer
    with pytest.raises(EOFError):
        gzip.decompress(truncated.read_bytes())
    assert kept.endswith("\n") and kept.count("\n") == corrupt.truncated_lines_kept > 0
    assert corrupt.truncated_lines_lost > 0

    kinds: Counter[str] = Counter()
    ids: Counter[str] = Counter()
    lines = kept.split("\n")[:-1]
    for path in log_objects(corrupt.out):
        if path not in corrupt.corrupt_files:
            lines += read_lines(path)
    for line in lines:
        if not line:
            kinds["blank"] += 1
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            kinds["truncated_json" if line.startswith("{") else "not_json"] += 1
            continue
        if not isinstance(record, dict):
            kinds["not_object"] += 1
        elif "requestId" not in record:
            kinds["missing_request_id"] += 1
        elif record["timestamp"] == "yesterday":
            kinds["bad_timestamp"] += 1
        else:
            ids[record["requestId"]] += 1
    assert dict(kinds) == manifest["corrupt_lines"]
    assert manifest["lines"] == len(lines)
    assert manifest["unique_requests"] == len(ids) == 2000 - corrupt.truncated_lines_lost
    assert manifest["duplicate_lines"] == sum(n - 1 for n in ids.values())
    assert manifest["lines"] == manifest["unique_requests"] + manifest["duplicate_lines"] + sum(kinds.values())


# ---------------------------------------------------------------- CLI


@pytest.mark.parametrize(
    "extra",
    [["--records", "0"], ["--days", "0"], ["--start", "yesterday"], ["--mean-record-bytes", "10"]],
)
def test_cli_rejects_wrong_arguments(tmp_path: Path, extra: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--out", str(tmp_path / "out"), *extra]) == 2
    assert "bcr generate:" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_cli_refuses_a_foreign_non_empty_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "keep.txt").write_text("x")
    assert main(["generate", "--out", str(tmp_path), "--records", "5"]) == 2
    assert "refusing" in capsys.readouterr().err


def test_cli_writes_logs_and_can_write_over_its_own_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for seed in ("1", "2"):
        assert main(["generate", "--out", str(tmp_path), "--records", "50", "--seed", seed, "--days", "1"]) == 0
    summary = capsys.readouterr().out
    assert "Wrote 50 requests" in summary and str(tmp_path) in summary
    assert json.loads((tmp_path / MANIFEST_NAME).read_text())["params"]["seed"] == 2
