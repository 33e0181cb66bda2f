"""End to end: input that is odd but valid is read whole, and input that is wrong never becomes a wrong number.

Every case writes hand-made records (``records.py``, shaped per the log-format reference) into the S3
delivery layout, runs ``bcr etl`` and checks the exit code and the tables; expected values are worked out
here from the records, not by the code under test.
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
import json
import sys
import types
from decimal import Decimal as D
from pathlib import Path

import boto3
import pytest
import records as r
from moto.server import ThreadedMotoServer
from pyspark.sql import functions as F

from bcr.cli import main
from bcr.commands.demo import MARKER, claim_folder
from bcr.errors import UsageError
from bedrock_costs.catalog import DEFAULT_CATALOG, CatalogError
from bedrock_costs.schemas import DAILY_COSTS, INVOCATION_TAGS, INVOCATIONS, PIPELINE_RUNS, REJECTED_RECORDS

HOUR = "2025/08/22/09"
ENTRY_SCRIPT = Path(__file__).resolve().parents[2] / "glue" / "bedrock_cost_etl.py"


def write_object(logs: Path, name: str, data: bytes, hour: str = HOUR) -> str:
    """Write one log object; returns its raw key (what every table must call it)."""
    key = r.log_key(hour, name)
    r.write_raw(logs / key, data)
    return key


def gz_lines(*records: dict) -> bytes:
    return gzip.compress("".join(r.to_line(rec) + "\n" for rec in records).encode(), mtime=0)


def etl(logs: Path, out: Path, *extra: str) -> int:
    return main(["etl", "--logs", str(logs), "--out", str(out), *extra])


def table(spark, out: Path, name: str, schema) -> list:
    return spark.read.schema(schema).parquet(str(out / name)).collect()


def test_multi_member_gzip_bom_and_odd_key_names_are_read_whole(tmp_path: Path, spark) -> None:
    logs, out = tmp_path / "logs", tmp_path / "out"
    # `cat a.gz b.gz`: the trailer gives only the second member's size.
    multi = write_object(
        logs, "multi.json.gz", gz_lines(r.counts_only("m-1", 10, 1)) + gz_lines(r.counts_only("m-2", 20, 2))
    )
    bom = write_object(
        logs,
        "bom.json.gz",
        gzip.compress(b"\xef\xbb\xbf" + (r.to_line(r.counts_only("b-1", 30, 3)) + "\n").encode(), mtime=0),
    )
    spaced = write_object(logs, "20250822T094200000Z_0 %41+b.json.gz", gz_lines(r.counts_only("s-1", 40, 4)))
    # Really damaged, with an odd name: quarantined and its kept lines ledgered under the same raw key.
    whole = gz_lines(*(r.counts_only(f"c-{n:03d}", n + 1, 1) for n in range(400)))
    cut = write_object(logs, "20250822T094300000Z_cut %20 here.json.gz", whole[: len(whole) // 2])

    assert etl(logs, out) == 0

    rows = {row.request_id: row for row in table(spark, out, "invocations", INVOCATIONS)}
    kept = {rid: row for rid, row in rows.items() if rid.startswith("c-")}
    assert {rid: (row.source_file, row.line_number) for rid, row in rows.items() if rid not in kept} == {
        "m-1": (multi, 1),
        "m-2": (multi, 2),
        "b-1": (bom, 1),
        "s-1": (spaced, 1),
    }
    assert rows["b-1"].input_tokens == 30
    assert 0 < len(kept) < 400 and {row.source_file for row in kept.values()} == {cut}
    rejected = {(row.source_file, row.reason_code) for row in table(spark, out, "rejected_records", REJECTED_RECORDS)}
    # A line cut in half at the damage may be quarantined too; nothing else is.
    assert rejected - {(cut, "malformed_json")} == {(cut, "corrupt_gzip")}
    run = table(spark, out, "pipeline_runs", PIPELINE_RUNS)[0]
    assert (run.files_corrupt, run.rows_written, run.reconciled) == (1, 4 + len(kept), True)
    # The processed state names the same raw keys: a second run finds nothing new.
    assert etl(logs, out) == 0
    runs = spark.read.schema(PIPELINE_RUNS).parquet(str(out / "pipeline_runs")).orderBy("started_at", "run_id")
    assert runs.select(F.col("files_new")).collect()[-1][0] == 0


# --- the catalog a run loads is checked, and every user error is one line ----------------------------------


def catalog_with(tmp_path: Path, fault: str) -> tuple[Path, int, str]:
    """The shipped catalog with one fault injected; returns (path, CSV line of the fault, expected problem)."""
    lines = DEFAULT_CATALOG.read_text(encoding="utf-8").splitlines()
    index = next(i for i, text in enumerate(lines) if text.startswith("anthropic.claude-sonnet-4-5-20250929-v1:0,*,"))
    fields = next(csv.reader([lines[index]]))
    assert fields[13] == "", "the row must be open-ended for the overlap case"
    line_number = index + 1
    if fault == "negative":
        fields[5] = "-3"
        problem = "usd_per_1m_input is negative (-3)"
    elif fault == "typo-5000":
        fields[6] = "5000"
        problem = "usd_per_1m_output 5000 is implausible"
    else:  # a second, overlapping period right after the open-ended one (the winner would be line order)
        later = list(fields)
        later[12] = "2026-01-01"
        lines.insert(index + 1, ",".join(later))
        line_number += 1
        problem = f"period from 2026-01-01 overlaps line {index + 1} (until open)"
    lines[index] = ",".join(fields)
    path = tmp_path / f"prices-{fault}.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, line_number, problem


def one_line_usage_error(capsys: pytest.CaptureFixture[str], code: int) -> str:
    captured = capsys.readouterr()
    assert code == 2, captured.err
    assert "Traceback" not in captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


@pytest.fixture(scope="module")
def small_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    logs = tmp_path_factory.mktemp("small-logs")
    write_object(logs, "small.json.gz", gz_lines(r.counts_only("small-1", 100, 10)))
    return logs


@pytest.mark.parametrize("fault", ["negative", "typo-5000", "overlap"])
@pytest.mark.parametrize("command", ["etl", "demo"])
def test_a_faulty_catalog_is_refused_with_file_line_and_problem(
    fault: str, command: str, small_logs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog, line_number, problem = catalog_with(tmp_path, fault)
    out = tmp_path / "out"
    if command == "etl":
        code = main(["etl", "--logs", str(small_logs), "--out", str(out), "--pricing", str(catalog)])
    else:
        code = main(["demo", "--dir", str(tmp_path / "demo"), "--records", "50", "--pricing", str(catalog)])
    message = one_line_usage_error(capsys, code)
    assert f"{catalog}: " in message
    assert f"line {line_number}: {problem}" in message
    assert not out.exists()
    assert not (tmp_path / "demo" / "tables").exists()


def test_a_catalog_that_is_not_utf8_is_one_line(
    small_logs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = DEFAULT_CATALOG.read_bytes()
    second_line = text.index(b"\n") + 1
    catalog = tmp_path / "latin1.csv"
    catalog.write_bytes(text[:second_line] + "\u00e9".encode("latin-1") + text[second_line:])
    code = main(["etl", "--logs", str(small_logs), "--out", str(tmp_path / "out"), "--pricing", str(catalog)])
    assert "line 2: not UTF-8 text (byte 0xe9)" in one_line_usage_error(capsys, code)
    assert main(["pricing", "check", "--catalog", str(catalog)]) == 1
    assert "line 2: not UTF-8 text" in capsys.readouterr().out


def test_logs_must_be_a_folder_or_an_s3_prefix(
    small_logs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = next(small_logs.rglob("*.json.gz"))
    code = main(["etl", "--logs", str(a_file), "--out", str(tmp_path / "out")])
    assert "is a file" in one_line_usage_error(capsys, code)
    code = main(["pricing", "coverage", "--logs", str(a_file)])
    assert "is a file" in one_line_usage_error(capsys, code)


def test_a_key_that_is_not_a_delivery_hour_is_skipped_and_reported(
    tmp_path: Path, spark, capsys: pytest.CaptureFixture[str]
) -> None:
    logs, out = tmp_path / "logs", tmp_path / "out"
    good = write_object(logs, "good.json.gz", gz_lines(r.counts_only("ok-1", 5, 5)))
    stray = write_object(logs, "x.json.gz", gz_lines(r.counts_only("stray-1", 5, 5)), hour="2026/13/01/00")
    assert etl(logs, out) == 0
    assert (
        f"skipped {logs / stray}: delivery folder 2026/13/01/00 is not a UTC date and hour" in capsys.readouterr().err
    )
    rows = table(spark, out, "invocations", INVOCATIONS)
    assert [(row.request_id, row.source_file) for row in rows] == [("ok-1", good)]


def load_glue_entry(monkeypatch: pytest.MonkeyPatch, spark) -> types.ModuleType:
    """The Glue entry script with stand-ins for the ``awsglue`` modules only Glue has."""
    names = ("awsglue", "awsglue.context", "awsglue.job", "awsglue.utils", "awsglue.dynamicframe", "awsgluedq")
    fakes = {name: types.ModuleType(name) for name in (*names, "awsgluedq.transforms")}
    # The data-quality step is never reached here: the catalog is refused first.
    fakes["awsglue.dynamicframe"].DynamicFrame = object
    fakes["awsgluedq.transforms"].EvaluateDataQuality = object
    fakes["awsglue.context"].GlueContext = lambda _sc: types.SimpleNamespace(spark_session=spark)
    fakes["awsglue.job"].Job = lambda _ctx: types.SimpleNamespace(init=lambda *_: None, commit=lambda: None)

    def resolved(argv: list[str], names: list[str]) -> dict[str, str]:
        pairs = dict(zip(argv[1::2], argv[2::2], strict=False))
        return {name: pairs[f"--{name}"] for name in names}

    fakes["awsglue.utils"].getResolvedOptions = resolved
    for name, module in fakes.items():
        monkeypatch.setitem(sys.modules, name, module)
    spec = importlib.util.spec_from_file_location("bedrock_cost_etl", ENTRY_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_glue_job_refuses_a_faulty_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spark) -> None:
    catalog, line_number, problem = catalog_with(tmp_path, "typo-5000")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="bcr-job")
        s3.put_object(Bucket="bcr-job", Key="pricing/prices.csv", Body=catalog.read_bytes())
        entry = load_glue_entry(monkeypatch, spark)
        argv = ["job", "--JOB_NAME", "bcr", "--logs_uri", "s3://bcr-job/logs/", "--tables_uri", "s3://bcr-job/t/"]
        with pytest.raises(CatalogError) as error:
            entry.main([*argv, "--pricing_uri", "s3://bcr-job/pricing/prices.csv"])
        assert str(error.value).startswith("s3://bcr-job/pricing/prices.csv: ")
        assert f"line {line_number}: {problem}" in str(error.value)
        assert s3.list_objects_v2(Bucket="bcr-job", Prefix="t/")["KeyCount"] == 0
    finally:
        server.stop()


# --- never a wrong number marked priced ------------------------------------------------------------------------

SONNET_45 = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
PRICED_HOUR = "2025/11/20/10"
AT = "2025-11-20T10:00:00Z"
# pricing/bedrock_prices.csv, Claude Sonnet 4.5 through a us. profile from us-east-1 (geo, standard), USD per 1M
# tokens: input, output, cache read, cache write 5m, cache write 1h.
SONNET_45_ROW = (
    "anthropic.claude-sonnet-4-5-20250929-v1:0,us-east-1,geo,standard,0,3.3,16.5,0.33,4.125,6.6,token,,2025-09-29,,"
)
RATE = {"input": D("3.3"), "output": D("16.5"), "write_5m": D("4.125"), "write_1h": D("6.6")}


def usd(tokens: int, per_million: D) -> D:
    return tokens * per_million / 1_000_000


def body_uri(request_id: str) -> str:
    return f"s3://central-logs/{r.log_key(PRICED_HOUR, f'data/{request_id}_output.json.gz')}"


def sonnet(request_id: str, rec: dict | None = None, **fields) -> dict:
    base = rec if rec is not None else r.counts_only(request_id, 100, 50)
    return base | {"modelId": SONNET_45, "timestamp": AT} | fields


def offloaded_cache_write(request_id: str) -> dict:
    """Cache writes with the response body (the only place of the TTL split) offloaded to data/."""
    return sonnet(
        request_id,
        r.record(
            request_id,
            input=r.log_input(100, cache_read=0, cache_write=1000),
            output=r.log_output(50, s3_path=body_uri(request_id)),
        ),
    )


def duplicate_keys(line: str) -> str:
    return line.replace('"team": "first"', '"team": "first", "team": "last"')


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory, spark) -> dict:
    """One run over hand-made records that each carry one fault; the tables it leaves, by table name."""
    logs = tmp_path_factory.mktemp("faults")
    latency_float = r.converse("r-latency-float", 200, 20)
    latency_float["output"]["outputBodyJson"]["metrics"]["latencyMs"] = 812.5
    records = [
        offloaded_cache_write("r-offloaded-body"),
        offloaded_cache_write("r-offloaded-body-missing"),
        sonnet("r-latency-float", latency_float),
        sonnet("r-metadata-string", r.counts_only("r-metadata-string", 300, 30, requestMetadata="team=a")),
        sonnet(
            "r-text-off-cache-write",
            r.record("r-text-off-cache-write", input=r.log_input(100, cache_write=500), output=r.log_output(9)),
        ),
        sonnet("r-no-output-count", r.record("r-no-output-count", input=r.log_input(100))),
        sonnet("r-token-string", r.counts_only("r-token-string", "many", 5)),
        sonnet("r-5e18", r.counts_only("r-5e18", 5 * 10**18, 5)),
        sonnet("r-1e12-output", r.counts_only("r-1e12-output", 5, 10**12)),
        sonnet("r-negative", r.counts_only("r-negative", -5, 5)),
        sonnet("r-year-only", timestamp="2026"),
    ]
    lines = [r.to_line(rec) for rec in records]
    dup = sonnet("r-duplicate-key", r.counts_only("r-duplicate-key", 10, 10, requestMetadata={"team": "first"}))
    lines.append(duplicate_keys(r.to_line(dup)))
    data = gzip.compress("\n".join(lines).encode(), mtime=0)
    write_object(logs, "20251120T100100000Z_faults.json.gz", data, hour=PRICED_HOUR)
    # The offloaded body of the first request only: Converse usage with the TTL split.
    body = r.converse_response(100, 50, cache_read=0, cache_write=1000, cache_details=[(400, "5m"), (600, "1h")])
    r.write_gz(logs / r.log_key(PRICED_HOUR, "data/r-offloaded-body_output.json.gz"), json.dumps(body).encode())

    out = tmp_path_factory.mktemp("fault-tables")
    assert etl(logs, out) == 0
    return {
        "invocations": {row.request_id: row for row in table(spark, out, "invocations", INVOCATIONS)},
        "daily_costs": table(spark, out, "daily_costs", DAILY_COSTS),
        "invocation_tags": table(spark, out, "invocation_tags", INVOCATION_TAGS),
        "rejected_records": table(spark, out, "rejected_records", REJECTED_RECORDS),
        "pipeline_runs": table(spark, out, "pipeline_runs", PIPELINE_RUNS),
    }


def test_the_rates_the_expectations_use_are_the_catalogs() -> None:
    assert SONNET_45_ROW in DEFAULT_CATALOG.read_text(encoding="utf-8")


PRICED = {
    # 100 × 3.3 + 400 × 4.125 + 600 × 6.6 + 50 × 16.5 per 1M
    "r-offloaded-body": usd(100, RATE["input"])
    + usd(400, RATE["write_5m"])
    + usd(600, RATE["write_1h"])
    + usd(50, RATE["output"]),
    "r-latency-float": usd(200, RATE["input"]) + usd(20, RATE["output"]),
    "r-metadata-string": usd(300, RATE["input"]) + usd(30, RATE["output"]),
    "r-duplicate-key": usd(10, RATE["input"]) + usd(10, RATE["output"]),
}
UNPRICED = {
    "r-offloaded-body-missing": ("cache_ttl_unknown", ["output.outputBodyS3Path:unreachable"]),
    "r-text-off-cache-write": ("cache_ttl_unknown", None),
    "r-no-output-count": ("missing_tokens", None),
    "r-token-string": ("missing_tokens", ["input.inputTokenCount:wrong_type"]),
    "r-5e18": ("invalid_tokens", ["input.inputTokenCount:out_of_range"]),
    "r-1e12-output": ("invalid_tokens", ["output.outputTokenCount:out_of_range"]),
    "r-negative": ("invalid_tokens", ["input.inputTokenCount:out_of_range"]),
}


@pytest.mark.parametrize("request_id", list(PRICED))
def test_priced_rows_carry_the_hand_computed_cost(ledger: dict, request_id: str) -> None:
    row = ledger["invocations"][request_id]
    assert (row.pricing_status, row.total_cost) == ("priced", PRICED[request_id])


def test_the_offloaded_body_gives_the_1h_split(ledger: dict) -> None:
    row = ledger["invocations"]["r-offloaded-body"]
    assert (row.cache_write_tokens, row.cache_write_1h_tokens, row.parse_warnings) == (1000, 600, None)


@pytest.mark.parametrize("request_id", list(UNPRICED))
def test_a_count_that_cannot_be_trusted_is_flagged_never_priced(ledger: dict, request_id: str) -> None:
    row = ledger["invocations"][request_id]
    status, warnings = UNPRICED[request_id]
    assert (row.pricing_status, row.parse_warnings) == (status, warnings)
    assert (row.total_cost, row.input_cost, row.output_cost, row.price_key) == (None, None, None, None)


def test_no_count_wraps_and_every_sum_stays_exact(ledger: dict) -> None:
    rows = ledger["invocations"].values()
    assert all(row.total_tokens is None or 0 <= row.total_tokens <= 10**11 for row in rows)
    assert ledger["invocations"]["r-5e18"].total_tokens is None
    daily = ledger["daily_costs"]
    assert sum(row.total_cost for row in daily if row.total_cost is not None) == sum(PRICED.values())
    assert all(row.total_tokens is None or row.total_tokens >= 0 for row in daily)
    run = ledger["pipeline_runs"][0]
    assert (run.lines_read, run.rows_written, run.rejected_lines, run.unpriced_rows) == (12, 11, 1, len(UNPRICED))


def test_an_unexpected_type_keeps_the_request(ledger: dict) -> None:
    row = ledger["invocations"]["r-latency-float"]
    assert (row.latency_ms, row.parse_warnings) == (None, ["output.outputBodyJson.metrics.latencyMs:wrong_type"])
    row = ledger["invocations"]["r-metadata-string"]
    assert (row.request_metadata, row.parse_warnings) == (None, ["requestMetadata:wrong_type"])
    assert [(row.request_id, row.reason_code) for row in ledger["rejected_records"]] == [
        ("r-year-only", "bad_timestamp")
    ]


def test_a_repeated_metadata_key_is_one_tag(ledger: dict) -> None:
    row = ledger["invocations"]["r-duplicate-key"]
    assert (row.request_metadata, row.team, row.parse_warnings) == (
        {"team": "last"},
        "last",
        ["requestMetadata:duplicate_key"],
    )
    tags = [(t.tag_key, t.tag_value, t.total_cost) for t in ledger["invocation_tags"] if t.request_id == row.request_id]
    assert tags == [("team", "last", PRICED["r-duplicate-key"])]


# --- the input side through the ledger's machinery: dedupe and repricing ------------------------------------


def _offloaded_logs(logs: Path) -> None:
    """The faults object's priced and flagged Sonnet requests, with the one offloaded body that exists."""
    records = [
        offloaded_cache_write("r-offloaded-body"),
        offloaded_cache_write("r-offloaded-body-missing"),
        sonnet("r-token-string", r.counts_only("r-token-string", "many", 5)),
        sonnet("r-5e18", r.counts_only("r-5e18", 5 * 10**18, 5)),
    ]
    write_object(logs, "20251120T100100000Z_offloaded.json.gz", gz_lines(*records), hour=PRICED_HOUR)
    body = r.converse_response(100, 50, cache_read=0, cache_write=1000, cache_details=[(400, "5m"), (600, "1h")])
    r.write_gz(logs / r.log_key(PRICED_HOUR, "data/r-offloaded-body_output.json.gz"), json.dumps(body).encode())


def test_a_redelivered_request_whose_split_is_in_an_offloaded_body_is_no_conflict(tmp_path: Path, spark) -> None:
    """The stored copy holds the 1-hour split read from the body; the re-delivered record alone does not. The
    body is read before the copies are compared, so the ledger sees two equal copies, not a conflict."""
    logs, out = tmp_path / "logs", tmp_path / "tables"
    _offloaded_logs(logs)
    assert etl(logs, out) == 0
    again = [offloaded_cache_write("r-offloaded-body")]
    write_object(logs, "20251120T110500000Z_redelivery.json.gz", gz_lines(*again), hour="2025/11/20/11")
    assert etl(logs, out) == 0
    run = sorted(table(spark, out, "pipeline_runs", PIPELINE_RUNS), key=lambda row: row.started_at)[-1]
    assert (run.lines_read, run.rows_written, run.already_stored, run.conflicts) == (1, 0, 1, 0)
    assert not (out / "request_conflicts").exists()
    stored = {row.request_id: row for row in table(spark, out, "invocations", INVOCATIONS)}
    assert stored["r-offloaded-body"].cache_write_1h_tokens == 600


def test_repricing_keeps_parse_warnings_and_decides_the_new_statuses(tmp_path: Path, spark) -> None:
    """Stored without the model in the catalog (all unpriced_model), then repriced with it: each request gets the
    status and cost a fresh run gives it, from the tokens and warnings stored with it."""
    logs, out = tmp_path / "logs", tmp_path / "tables"
    _offloaded_logs(logs)
    without = tmp_path / "prices.csv"
    with DEFAULT_CATALOG.open(newline="") as source, without.open("w", newline="") as target:
        rows = csv.DictReader(source)
        writer = csv.DictWriter(target, rows.fieldnames or [])
        writer.writeheader()
        writer.writerows(row for row in rows if row["model_id"] != "anthropic.claude-sonnet-4-5-20250929-v1:0")
    assert etl(logs, out, "--pricing", str(without)) == 0
    before = {row.request_id: row for row in table(spark, out, "invocations", INVOCATIONS)}
    assert {row.pricing_status for row in before.values()} == {"unpriced_model"}

    assert main(["etl", "--reprice", "--out", str(out)]) == 0
    after = {row.request_id: row for row in table(spark, out, "invocations", INVOCATIONS)}
    assert after["r-offloaded-body"].pricing_status == "priced"
    assert after["r-offloaded-body"].total_cost == PRICED["r-offloaded-body"]
    for request_id in ("r-offloaded-body-missing", "r-token-string", "r-5e18"):
        assert (after[request_id].pricing_status, after[request_id].parse_warnings) == UNPRICED[request_id]
        assert after[request_id].total_cost is None
    for request_id, row in after.items():
        kept = ("parse_warnings", "cache_write_1h_tokens", "input_tokens", "total_tokens", "source_file")
        assert [getattr(row, c) for c in kept] == [getattr(before[request_id], c) for c in kept], request_id
    run = sorted(table(spark, out, "pipeline_runs", PIPELINE_RUNS), key=lambda row: row.started_at)[-1]
    assert (run.mode, run.status, run.rows_repriced, run.window_cost_change) == (
        "reprice",
        "succeeded",
        4,
        PRICED["r-offloaded-body"],
    )


# --- the demo never deletes what it did not create ---------------------------------------------------------


@pytest.mark.parametrize("content", ["tables/invocations/keep.parquet", "notes.txt"])
def test_demo_refuses_a_folder_it_did_not_make_and_deletes_nothing(
    content: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "mine"
    precious = folder / content
    precious.parent.mkdir(parents=True)
    precious.write_text("not the demo's", encoding="utf-8")
    code = main(["demo", "--dir", str(folder), "--records", "50"])
    assert "holds files an earlier `bcr demo` did not make" in one_line_usage_error(capsys, code)
    assert precious.read_text(encoding="utf-8") == "not the demo's"
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [content]


def test_demo_claims_new_empty_and_its_own_folders_only(tmp_path: Path) -> None:
    claim_folder(tmp_path / "new")
    (tmp_path / "empty").mkdir()
    claim_folder(tmp_path / "empty")
    (tmp_path / "new" / "tables").mkdir()
    claim_folder(tmp_path / "new")  # marked by the first claim: the demo may replace its own tables
    assert (tmp_path / "new" / MARKER).is_file() and (tmp_path / "empty" / MARKER).is_file()
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    with pytest.raises(UsageError, match="exists and is not a folder"):
        claim_folder(tmp_path / "a-file")


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--out", "{file}/tables", "--out {file}/tables: cannot write there (Not a directory)"),
        ("--pricing", "{tmp}", "--pricing: {tmp} does not exist"),
        ("--profiles", "{tmp}", "--profiles: cannot read profile file {tmp}"),
        ("--tag-aliases", "[1]", "--tag-aliases: tag aliases must be a JSON object"),
    ],
)
def test_other_user_errors_are_one_line(
    flag: str, value: str, message: str, small_logs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "plain-file"
    a_file.write_text("x", encoding="utf-8")
    argv = {"--logs": str(small_logs), "--out": str(tmp_path / "out")}
    argv[flag] = value.format(file=a_file, tmp=tmp_path)
    code = main(["etl", *(part for pair in argv.items() for part in pair)])
    assert message.format(file=a_file, tmp=tmp_path) in one_line_usage_error(capsys, code)
