"""Write realistic, deterministic sample Amazon Bedrock model invocation logs, offline.

The ETL, its tests and the benchmark need logs that look like a real S3 delivery (layout, key-order drift,
every ``modelId`` shape, cache token classes, stream chunk arrays, guardrails, failures, offloaded bodies,
duplicates, corrupt input) and whose totals are known exactly. Everything comes from one seeded
``random.Random`` and gzip runs with ``mtime=0``, so the same arguments always give the same bytes; the
ground truth lands in ``_generator_manifest.json`` next to the logs so a run can be reconciled against it.

Every prompt or response text fragment carries ``PRIVATE-<8 hex>``: a test can grep any output for leaked
prompt text. Such text never goes into ``requestMetadata`` or the manifest.
"""

from __future__ import annotations

import bisect
import contextlib
import gzip
import json
import math
import os
import random
import shutil
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from itertools import accumulate
from pathlib import Path
from typing import Any, NamedTuple

MANIFEST_NAME = "_generator_manifest.json"
PROFILES_NAME = "inference_profiles.json"
PERMISSION_MARKER = "amazon-bedrock-logs-permission-check"
PRIVATE_PREFIX = "PRIVATE-"
BUCKET = "bcr-sample-invocation-logs"
ACCOUNTS = ("111122223333", "444455556666")
REGIONS = ("us-east-1", "us-west-2", "eu-central-1")
CONVERSE_OPS = ("Converse", "ConverseStream")
CORRUPT_LINE_KINDS = ("not_json", "truncated_json", "blank", "not_object", "missing_request_id", "bad_timestamp")

_ACCT1, _ACCT2 = ACCOUNTS
# Below this many records the run is a smoke test: no forced coverage of rare cases.
_FORCE_MIN_RECORDS = 200
_INLINE_LIMIT = 100_000  # Bedrock offloads JSON bodies above 100 KB to the data/ prefix
_GZIP_LEVEL = 1  # level 6 compresses ~4x slower for ~20% smaller objects
_PARALLEL_MIN_RECORDS = 20_000  # below this, starting worker processes costs more than it saves
_CHUNK_RECORDS = 2000  # records per worker task
_CALIBRATION_RECORDS = 2000  # at most; small runs need less precision and start faster
_DUPLICATE_RATE = 0.005
_FAILED_RATE = 0.02
_GUARDRAIL_RATE = 0.012  # of Converse/ConverseStream calls
_TEXT_OFF_RATE = 0.04
_OFFLOAD_RATE = 0.004
_LONG_CONTEXT_RATE = 0.005  # of Claude Sonnet 4.5 calls
_MS_TIMESTAMP_RATE = 0.01
_REROUTE_RATE = 0.35
_DONE_RATE = 0.10
_TOP_CACHE_RATE = 0.6  # top-level cache counts present (possibly 0)

_SONNET45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
_HAIKU45 = "anthropic.claude-haiku-4-5-20251001-v1:0"
_NOVA_LITE = "amazon.nova-lite-v1:0"
# Fixed so that profile ARNs are the same for every seed; other tests may name them.
APP_PROFILE_SONNET_ID = "4tgm1x9wz2pk"
APP_PROFILE_NOVA_ID = "n7cq3v0hd8ra"
APP_PROFILE_UNKNOWN_ID = "u5ej2b6yk1ws"
PROVISIONED_ID = "pt0hq4ma7c3e"
_GUARDRAIL_ID = "gr7x2k9q1m0d"

_US = ("us-east-1", "us-east-2", "us-west-2")
_EU = ("eu-central-1", "eu-west-1", "eu-west-3", "eu-north-1", "eu-south-1")
_GLOBAL = (*_US, "ca-central-1", "eu-west-1", "eu-central-1", "ap-northeast-1", "ap-southeast-2", "sa-east-1")

_OPS_BY_FAMILY: dict[str, tuple[tuple[str, float], ...]] = {
    "claude": (("Converse", 30), ("ConverseStream", 25), ("InvokeModel", 15), ("InvokeModelWithResponseStream", 30)),
    "claude3": (("Converse", 45), ("ConverseStream", 15), ("InvokeModel", 25), ("InvokeModelWithResponseStream", 15)),
    "nova": (("Converse", 60), ("ConverseStream", 40)),
    "llama": (("InvokeModel", 60), ("Converse", 30), ("ConverseStream", 10)),
    "mistral": (("Converse", 70), ("ConverseStream", 30)),
    "titan_embed": (("InvokeModel", 1),),
    "generic": (("Converse", 1),),
}
_CACHE_RATE = {"claude": 0.35, "nova": 0.2}
_ERROR_CODES = (
    ("ThrottlingException", 55),
    ("ValidationException", 20),
    ("ModelTimeoutException", 8),
    ("ServiceUnavailableException", 7),
    ("AccessDeniedException", 5),
    ("ModelErrorException", 3),
    ("ResourceNotFoundException", 2),
)
# The same words in Converse ``stopReason`` and Anthropic ``stop_reason``.
_STOP_REASONS = (("end_turn", 88), ("max_tokens", 9), ("stop_sequence", 3))
_STREAM_WEIGHTS = (
    ((_ACCT1, "us-east-1"), 40),
    ((_ACCT1, "us-west-2"), 17),
    ((_ACCT1, "eu-central-1"), 13),
    ((_ACCT2, "us-east-1"), 15),
    ((_ACCT2, "us-west-2"), 8),
    ((_ACCT2, "eu-central-1"), 7),
)
_HOUR_WEIGHTS = tuple(3 if 7 <= hour <= 19 else 1 for hour in range(24))

_VOCABULARY = """
the a an and or but if then when while because so that this these those it its we you they our your their
customer order invoice refund shipment account password reset billing plan upgrade contract renewal policy
summarize explain translate draft review classify extract compare rewrite answer list describe outline check
document report email ticket chat transcript meeting notes paragraph section table chart dataset query
error warning latency timeout retry cache token model prompt response context window budget cost usage
please thanks quickly carefully briefly clearly in on at for with from about into over under between after
before during without within across per each every all some many few more most less least first last next
service region cluster pipeline job task step stage deploy release version build test feature bug fix patch
is are was were be been has have had do does did can could should would will may might must not no yes
"""

# Semantic concept -> the key spelling one team uses; each principal sticks to one scheme.
_TAG_SCHEMES: tuple[dict[str, str], ...] = (
    {"tenant": "TenantID", "application": "ApplicationID", "cost_center": "CostCenter", "team": "team",
     "environment": "Environment", "end_user": "UserId"},
    {"tenant": "tenant_id", "application": "app", "cost_center": "cost_center", "team": "Department",
     "environment": "env", "end_user": "user_id"},
    {"tenant": "tenant", "application": "application", "team": "Department", "environment": "env"},
    {"tenant": "Tenant-Id", "application": "ApplicationID", "cost_center": "CostCenter", "environment": "Environment",
     "end_user": "user_id"},
)  # fmt: skip
_TAG_PRESENCE = {"tenant": 0.9, "application": 0.95, "cost_center": 0.6, "team": 0.6, "environment": 0.9,
                 "end_user": 0.5}  # fmt: skip
_TENANTS = ("tenant-alpha", "tenant-bravo", "tenant-charlie", "tenant-delta", "tenant-echo", "tenant-foxtrot",
            "tenant-golf", "tenant-hotel", "internal")  # fmt: skip
_COST_CENTERS = ("CC-1001", "CC-1002", "CC-2040", "CC-3300")
_TEAMS = ("platform", "data-science", "customer-success", "growth")
_ENVIRONMENTS = (("prod", 80), ("dev", 15), ("staging", 5))
_USE_CASES = ("summarization", "qa", "classification", "code-review", "translation", "extraction")
_FEATURES = ("smart-reply", "ticket-triage", "doc-search", "auto-tagging", "weekly-digest")


@dataclass(frozen=True)
class _Model:
    """One raw ``modelId`` the sample callers use, and where they can call it from."""

    key: str
    raw: str  # may hold {account} and {region}
    shape: str
    family: str
    weight: float
    regions: tuple[str, ...]
    accounts: tuple[str, ...] = ACCOUNTS
    reroute: tuple[str, ...] = ()  # regions a cross-Region profile may send the request to
    anthropic_name: str = ""
    sonnet45: bool = False


_MODELS = (
    _Model("sonnet45-us", f"us.{_SONNET45}", "geo_profile", "claude", 22, ("us-east-1", "us-west-2"), reroute=_US,
           anthropic_name="claude-sonnet-4-5-20250929", sonnet45=True),
    _Model("sonnet45-eu", f"eu.{_SONNET45}", "geo_profile", "claude", 30, ("eu-central-1",), reroute=_EU,
           anthropic_name="claude-sonnet-4-5-20250929", sonnet45=True),
    _Model("sonnet45-global", f"global.{_SONNET45}", "global_profile", "claude", 6, REGIONS, reroute=_GLOBAL,
           anthropic_name="claude-sonnet-4-5-20250929", sonnet45=True),
    _Model("sonnet45-us-arn", f"arn:aws:bedrock:us-east-1:{{account}}:inference-profile/us.{_SONNET45}",
           "inference_profile_arn", "claude", 3, ("us-east-1",), reroute=_US,
           anthropic_name="claude-sonnet-4-5-20250929", sonnet45=True),
    _Model("sonnet45-global-arn", f"arn:aws:bedrock:{{region}}:{{account}}:inference-profile/global.{_SONNET45}",
           "inference_profile_arn", "claude", 2, REGIONS, reroute=_GLOBAL,
           anthropic_name="claude-sonnet-4-5-20250929", sonnet45=True),
    _Model("haiku45-us", f"us.{_HAIKU45}", "geo_profile", "claude", 12, ("us-east-1", "us-west-2"), reroute=_US,
           anthropic_name="claude-haiku-4-5-20251001"),
    _Model("claude3-haiku", "anthropic.claude-3-haiku-20240307-v1:0", "foundation_model", "claude3", 5, REGIONS,
           anthropic_name="claude-3-haiku-20240307"),
    _Model("nova-micro", "amazon.nova-micro-v1:0", "foundation_model", "nova", 8, ("us-east-1",)),
    _Model("nova-lite", _NOVA_LITE, "foundation_model", "nova", 8, ("us-east-1",)),
    _Model("nova-pro", "amazon.nova-pro-v1:0", "foundation_model", "nova", 3, ("us-east-1",)),
    _Model("nova-pro-us", "us.amazon.nova-pro-v1:0", "geo_profile", "nova", 4, ("us-east-1", "us-west-2"),
           reroute=_US),
    _Model("llama31-70b", "meta.llama3-1-70b-instruct-v1:0", "foundation_model", "llama", 6, ("us-west-2",)),
    _Model("mistral-large", "mistral.mistral-large-2407-v1:0", "foundation_model", "mistral", 3, ("us-west-2",)),
    _Model("titan-embed-v2", "amazon.titan-embed-text-v2:0", "foundation_model", "titan_embed", 6, REGIONS),
    _Model("app-sonnet45", f"arn:aws:bedrock:us-east-1:{_ACCT1}:application-inference-profile/{APP_PROFILE_SONNET_ID}",
           "application_inference_profile_arn", "claude", 5, ("us-east-1",), accounts=(_ACCT1,), reroute=_US,
           anthropic_name="claude-sonnet-4-5-20250929", sonnet45=True),
    _Model("app-nova-lite", f"arn:aws:bedrock:us-east-1:{_ACCT1}:application-inference-profile/{APP_PROFILE_NOVA_ID}",
           "application_inference_profile_arn", "nova", 3, ("us-east-1",), accounts=(_ACCT1,)),
    _Model("app-unknown", f"arn:aws:bedrock:us-east-1:{_ACCT2}:application-inference-profile/{APP_PROFILE_UNKNOWN_ID}",
           "application_inference_profile_arn", "claude", 0.6, ("us-east-1",), accounts=(_ACCT2,),
           anthropic_name="claude-haiku-4-5-20251001"),
    _Model("provisioned", f"arn:aws:bedrock:us-east-1:{_ACCT1}:provisioned-model/{PROVISIONED_ID}",
           "provisioned_model_arn", "claude3", 2, ("us-east-1",), accounts=(_ACCT1,),
           anthropic_name="claude-3-haiku-20240307"),
    _Model("unlisted", "acme.unlisted-model-v1:0", "foundation_model", "generic", 0.5, REGIONS),
)  # fmt: skip
_MODEL_BY_KEY = {model.key: model for model in _MODELS}


@dataclass(frozen=True)
class _Principal:
    arn: str
    scheme: int
    application: str
    tag_rate: float
    weight: float


def _principals(account: str) -> tuple[_Principal, ...]:
    """The callers of one account: service roles, SSO users, IAM users (one with a path)."""
    sts, iam = f"arn:aws:sts::{account}:assumed-role", f"arn:aws:iam::{account}:user"
    return (
        _Principal(f"{sts}/SupportChatService/support-chat-ecs-7f3a", 0, "support-chat", 0.97, 30),
        _Principal(f"{sts}/DocSummarizerLambdaRole/doc-summarizer-prod", 1, "doc-summarizer", 0.95, 20),
        _Principal(f"{sts}/AWSReservedSSO_DataScientist_3f9c2a1b7d4e8f60/maria.garcia@example.com", 2, "notebook",
                   0.6, 8),
        _Principal(f"{sts}/AWSReservedSSO_Developer_0a1b2c3d4e5f6a7b/li.wei@example.com", 2, "ide-helper", 0.6, 6),
        _Principal(f"{sts}/CodeAssistantRole/botocore-session-1763554210", 3, "code-assistant", 0.9, 18),
        _Principal(f"{sts}/AgentOrchestratorRole/agent-run-42", 3, "agent-orchestrator", 0.9, 8),
        _Principal(f"{iam}/ci-bot", 1, "ci-evals", 0.4, 5),
        _Principal(f"{iam}/engineering/alice", 0, "rag-search", 0.8, 5),
    )  # fmt: skip


# What the manifest sums over successful requests, and what it breaks the request count down by.
_SUM_FIELDS = ("input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens", "output_tokens",
               "guardrail_intervened", "long_context", "rerouted", "text_delivery_off", "offloaded",
               "with_request_metadata")  # fmt: skip
_GROUP_FIELDS = ("operation", "model_id_shape", "model_id", "usage_date")


@dataclass
class _Made:
    """One generated request: its record, what the manifest counts of it, and bodies to offload."""

    record: dict[str, Any]
    error_code: str | None
    sums: tuple[int, ...]  # in the order of _SUM_FIELDS
    group: tuple[str, ...]  # in the order of _GROUP_FIELDS
    offloads: list[tuple[str, Any]]


@dataclass(frozen=True)
class GenerateResult:
    """What a run wrote; ``to_json()`` is the manifest stored next to the logs."""

    out: Path
    params: dict[str, Any]
    files: tuple[Path, ...]
    lines: int
    unique_requests: int
    duplicate_lines: int
    corrupt_lines: dict[str, int]
    corrupt_files: tuple[Path, ...]
    truncated_file: Path | None
    truncated_lines_kept: int
    truncated_lines_lost: int
    data_objects: int
    bytes_uncompressed: int
    truth: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form with paths relative to ``out``, so the manifest does not depend on where it lives."""
        return {
            "generator": "bcr generate",
            "params": self.params,
            "files": len(self.files),
            "lines": self.lines,
            "unique_requests": self.unique_requests,
            "duplicate_lines": self.duplicate_lines,
            "corrupt_lines": self.corrupt_lines,
            "corrupt_line_total": sum(self.corrupt_lines.values()),
            "corrupt_files": [path.relative_to(self.out).as_posix() for path in self.corrupt_files],
            "truncated_file": {
                "path": self.truncated_file.relative_to(self.out).as_posix(),
                "lines_kept": self.truncated_lines_kept,
                "lines_lost": self.truncated_lines_lost,
            }
            if self.truncated_file
            else None,
            "data_objects": self.data_objects,
            "bytes_uncompressed": self.bytes_uncompressed,
            "truth": self.truth,
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, sort_keys=True) + "\n"


class OutputNotEmptyError(ValueError):
    """The output folder holds something other than an earlier generator run."""


def check_folder(folder: Path, marker: str, refusal: str) -> None:
    """Refuse (``OutputNotEmptyError``) a ``folder`` a tool would overwrite unless it is missing, empty, or
    holds the ``marker`` that tool leaves: it must never replace files it did not make.
    """
    if folder.exists() and not folder.is_dir():
        raise OutputNotEmptyError(f"{folder} exists and is not a folder")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / marker).is_file():
        raise OutputNotEmptyError(f"{folder} {refusal}")


def check_arguments(out: Path, records: int, days: int, mean_record_bytes: int) -> None:
    """Reject arguments that cannot give a sensible run, before anything is written."""
    if records < 1:
        raise ValueError(f"records must be at least 1 (got {records})")
    if not 1 <= days <= 366:
        raise ValueError(f"days must be between 1 and 366 (got {days})")
    if not 1000 <= mean_record_bytes <= _INLINE_LIMIT:
        raise ValueError(f"mean_record_bytes must be between 1000 and {_INLINE_LIMIT} (got {mean_record_bytes})")
    check_folder(
        out,
        MANIFEST_NAME,
        f"is not empty and holds no {MANIFEST_NAME}; refusing to mix sample logs with other files "
        "(choose a new or empty folder)",
    )


def generate_logs(
    out: Path,
    records: int = 2000,
    seed: int = 7,
    start: date = date(2026, 11, 20),
    days: int = 3,
    corrupt: bool = False,
    mean_record_bytes: int = 4500,
    *,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> GenerateResult:
    """Write ``records`` requests of sample logs under ``out`` and return (and store) the manifest.

    An earlier generator output in ``out`` is replaced; any other non-empty folder is refused. ``workers``
    processes share the work (default: one per CPU for large runs); the bytes written do not depend on it.
    ``progress(done, total)`` is called as records are written.
    """
    out = Path(out)
    check_arguments(out, records, days, mean_record_bytes)
    _clear_previous(out)
    out.mkdir(parents=True, exist_ok=True)
    params = {
        "records": records,
        "seed": seed,
        "start": start.isoformat(),
        "days": days,
        "corrupt": corrupt,
        "mean_record_bytes": mean_record_bytes,
    }
    start_s = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp())
    plan = _plan(seed, records, days, corrupt, start_s)
    scale = _calibrate(params, start_s)
    if workers is None:
        workers = 1 if records < _PARALLEL_MIN_RECORDS else min(_cpu_count(), 8)
    tally = _write_all(plan.bursts, params, scale, out, workers, progress)
    files = [out / key for key in tally.files]
    corrupt_files = [out / tally.truncated[0]] if tally.truncated else []
    if plan.not_gzip_key:
        files.append(out / plan.not_gzip_key)
        corrupt_files.append(files[-1])
        _write(files[-1], _NOT_GZIP)
    _write_markers_and_profiles(out)
    result = GenerateResult(
        out=out,
        params=params,
        files=tuple(files),
        lines=tally.lines,
        unique_requests=tally.lines - tally.duplicates - sum(tally.corrupt.values()),
        duplicate_lines=tally.duplicates,
        corrupt_lines=dict(sorted(tally.corrupt.items())),
        corrupt_files=tuple(corrupt_files),
        truncated_file=out / tally.truncated[0] if tally.truncated else None,
        truncated_lines_kept=tally.truncated[1] if tally.truncated else 0,
        truncated_lines_lost=tally.truncated[2] if tally.truncated else 0,
        data_objects=tally.data_objects,
        bytes_uncompressed=tally.bytes,
        truth=tally.truth(),
    )
    (out / MANIFEST_NAME).write_text(result.to_json(), encoding="utf-8")
    return result


def _clear_previous(out: Path) -> None:
    """Remove what an earlier run wrote, so a new run never mixes with stale objects."""
    if not (out / MANIFEST_NAME).is_file():
        return
    shutil.rmtree(out / "AWSLogs", ignore_errors=True)
    for name in (MANIFEST_NAME, PROFILES_NAME, PERMISSION_MARKER):
        (out / name).unlink(missing_ok=True)


class _Weighted:
    """A weighted choice that costs one ``random()`` call: ``Random.choices`` is several times slower."""

    def __init__(self, items: Iterable[Any], weights: Iterable[float]) -> None:
        self.items = tuple(items)
        self.cum = tuple(accumulate(weights))
        self.total = self.cum[-1]
        self.hi = len(self.items) - 1

    @classmethod
    def of(cls, pairs: Iterable[tuple[Any, float]]) -> _Weighted:
        items, weights = zip(*pairs, strict=True)
        return cls(items, weights)

    def pick(self, rng: random.Random) -> Any:
        return self.items[bisect.bisect(self.cum, rng.random() * self.total, 0, self.hi)]


# An error page stored under a log key: a ``.json.gz`` object that is not gzip at all.
_NOT_GZIP = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code>'
    b"<Message>We encountered an internal error.</Message></Error>\n"
)


def _write_markers_and_profiles(out: Path) -> None:
    _write(out / PERMISSION_MARKER, b"")
    for account in ACCOUNTS:
        _write(out / "AWSLogs" / account / "BedrockModelInvocationLogs" / PERMISSION_MARKER, b"")
    text = json.dumps({"inferenceProfileSummaries": inference_profile_summaries()}, indent=2, sort_keys=True)
    (out / PROFILES_NAME).write_text(text + "\n", encoding="utf-8")


def _cpu_count() -> int:
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity else os.cpu_count() or 1


def _calibrate(params: dict[str, Any], start_s: int) -> float:
    """The text scale that makes the mean record size meet the target, measured on a sample of records.

    Record size is a fixed overhead plus text, and text grows linearly with the scale, so one sample at
    scale 1 is enough. Records with offloaded bodies are left out: their text is not in the record.
    """
    records = _Records(params)
    rng = random.Random(_seed(params["seed"], _CALIBRATION, 0))
    streams = _Weighted.of(_STREAM_WEIGHTS)
    total = text = sampled = 0
    for number in range(1, min(_CALIBRATION_RECORDS, max(500, params["records"])) + 1):
        stream = streams.pick(rng)
        before = records.text_chars
        slot = _Slot(_seed(params["seed"], _CALIBRATION, number), stream, start_s * 1000, _folder(stream, 0), {})
        made = records.make(slot)
        if not made.offloads:
            total += len(records.encode(made.record))
            text += records.text_chars - before
            sampled += 1
    overhead = total - text
    return max(0.05, (params["mean_record_bytes"] * sampled - overhead) / max(1, text))


_WORKER: tuple[_Records, Path] | None = None


def _start_worker(params: dict[str, Any], scale: float, out: Path) -> None:
    global _WORKER
    _WORKER = (_Records(params, scale), out)


def _work(bursts: list[_Burst]) -> _Tally:
    if _WORKER is None:
        raise RuntimeError("worker process was not initialised")
    records, out = _WORKER
    return records.write(bursts, out)


def _write_all(
    bursts: list[_Burst],
    params: dict[str, Any],
    scale: float,
    out: Path,
    workers: int,
    progress: Callable[[int, int], None] | None,
) -> _Tally:
    """Write every delivery object, in chunks of about ``_CHUNK_RECORDS`` records, on ``workers`` processes."""
    chunks: list[list[_Burst]] = [[]]
    size = 0
    for burst in bursts:
        if size >= _CHUNK_RECORDS:
            chunks.append([])
            size = 0
        chunks[-1].append(burst)
        size += len(burst.events)
    total = _Tally()
    with contextlib.ExitStack() as stack:
        if workers > 1:
            pool = stack.enter_context(
                ProcessPoolExecutor(max_workers=workers, initializer=_start_worker, initargs=(params, scale, out))
            )
            results: Iterable[_Tally] = pool.map(_work, chunks)
        else:
            records = _Records(params, scale)
            results = (records.write(chunk, out) for chunk in chunks)
        for tally in results:
            total.add(tally)
            if progress is not None:
                progress(total.records_done, params["records"])
    return total


# Every record, delivery object and helper draws from its own seeded stream: a record is a pure function of
# (seed, slot), so worker processes can make records in any order and a duplicate can be made again verbatim.
_PLAN, _RECORD, _BURST, _CALIBRATION, _CORPUS, _CORRUPT = range(6)


def _seed(seed: int, purpose: int, number: int) -> int:
    return (seed * 8 + purpose) * 2**40 + number


def _folder(stream: tuple[str, str], file_ms: int) -> str:
    """The delivery-hour prefix of an object delivered at ``file_ms``."""
    account, region = stream
    hour = time.strftime("%Y/%m/%d/%H", time.gmtime(file_ms // 1000))
    return f"AWSLogs/{account}/BedrockModelInvocationLogs/{region}/{hour}"


def _object_key(stream: tuple[str, str], file_ms: int, name_hex: str) -> str:
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(file_ms // 1000))
    return f"{_folder(stream, file_ms)}/{stamp}{file_ms % 1000:03d}Z_{name_hex}.json.gz"


class _Slot(NamedTuple):
    """Where and when one record happens; everything else about it follows from ``seed``."""

    seed: int
    stream: tuple[str, str]
    event_ms: int
    folder: str
    force: dict[str, Any]


@dataclass
class _Burst:
    """One delivered log object: records of one account and region from about one minute."""

    index: int
    stream: tuple[str, str]
    file_ms: int
    name_hex: str
    events: list[int]
    first: int = 0  # plan-wide number of the first record
    truncated: bool = False
    dup_target: int | None = None
    forced: dict[int, dict[str, Any]] = field(default_factory=dict)
    incoming: list[_Slot] = field(default_factory=list)  # records delivered again in this object
    corrupt: list[tuple[str, int]] = field(default_factory=list)  # (kind, seed) of bad lines to add

    @cached_property
    def folder(self) -> str:
        return _folder(self.stream, self.file_ms)

    @cached_property
    def key(self) -> str:
        return _object_key(self.stream, self.file_ms, self.name_hex)

    def slot(self, seed: int, position: int) -> _Slot:
        number = _seed(seed, _RECORD, self.first + position)
        return _Slot(number, self.stream, self.events[position], self.folder, self.forced.get(position, {}))


@dataclass
class _Plan:
    bursts: list[_Burst]
    not_gzip_key: str | None


def _plan(seed: int, records: int, days: int, corrupt: bool, start_s: int) -> _Plan:
    """Decide every delivery object, which records go where, and every rare or bad case, before writing."""
    rng = random.Random(_seed(seed, _PLAN, 0))
    streams = _Weighted.of(_STREAM_WEIGHTS)
    hours = _Weighted(range(24), _HOUR_WEIGHTS)
    sizes: list[int] = []
    left = records
    while left > 0:
        sizes.append(min(left, max(10, min(200, int(rng.lognormvariate(math.log(45), 0.7))))))
        left -= sizes[-1]
    order = list(streams.items)
    rng.shuffle(order)  # every stream gets a delivery as soon as there are enough of them
    chosen = order[: len(sizes)] + [streams.pick(rng) for _ in range(len(sizes) - len(order))]
    bursts = []
    for index, (size, stream) in enumerate(zip(sizes, chosen, strict=True)):
        end_s = start_s + rng.randrange(days) * 86400 + hours.pick(rng) * 3600 + rng.randrange(3600)
        if records >= _FORCE_MIN_RECORDS and index < 2:
            # one delivery crosses midnight and one an hour: the folder date or hour differs from the event's
            end_s = start_s + (23 if index == 0 else 10) * 3600 + 3596 + rng.randrange(4)
        span = rng.randint(min(60, 5 + size // 4), 60)
        offsets = sorted((rng.randint(0, span) for _ in range(size - 1)), reverse=True)
        end_ms = end_s * 1000
        events = [end_ms - offset * 1000 for offset in offsets] + [end_ms]
        # delivered 6-29 s after the last record, so every record is 5-90 s old when its object lands
        bursts.append(_Burst(index, stream, end_ms + rng.randint(6000, 29000), f"{rng.getrandbits(64):016x}", events))
    bursts.sort(key=lambda burst: (burst.file_ms, burst.index))
    first = 0
    for index, burst in enumerate(bursts):
        burst.index, burst.first = index, first
        first += len(burst.events)
    if corrupt and len(bursts) > 1:  # a lone object stays whole: the bad lines need somewhere to go
        per_stream = Counter(burst.stream for burst in bursts)
        candidates = [b for b in bursts if len(b.events) >= 4 and per_stream[b.stream] > 1] or bursts
        rng.choice(candidates).truncated = True
    previous: dict[tuple[str, str], _Burst] = {}
    for burst in bursts:
        if not burst.truncated:
            if burst.stream in previous:
                previous[burst.stream].dup_target = burst.index
            previous[burst.stream] = burst
    if records >= _FORCE_MIN_RECORDS:
        _place_forced(rng, bursts)
    for burst in bursts:
        if burst.dup_target is not None:
            for position in range(len(burst.events)):
                if burst.forced.get(position, {}).get("dup") or rng.random() < _DUPLICATE_RATE:
                    bursts[burst.dup_target].incoming.append(burst.slot(seed, position))
    not_gzip_key = None
    if corrupt:
        normal = [burst for burst in bursts if not burst.truncated]
        for number, kind in enumerate(CORRUPT_LINE_KINDS):
            rng.choice(normal).corrupt.append((kind, _seed(seed, _CORRUPT, number)))
        host = rng.choice(bursts)
        not_gzip_key = _object_key(host.stream, host.file_ms + rng.randint(1, 5000), f"{rng.getrandbits(64):016x}")
    return _Plan(bursts, not_gzip_key)


def _place_forced(rng: random.Random, bursts: list[_Burst]) -> None:
    """Put one record of every rare case somewhere, so coverage does not depend on the seed."""
    for scenario in _FORCED:
        model = _MODEL_BY_KEY.get(scenario.get("model", ""))
        streams = {(a, r) for a in model.accounts for r in model.regions} if model else None
        fits = [
            burst
            for burst in bursts
            if not burst.truncated
            and (streams is None or burst.stream in streams)
            and (not scenario.get("dup") or burst.dup_target is not None)
        ]
        for _ in range(50 if fits else 0):
            burst = rng.choice(fits)
            position = rng.randrange(len(burst.events))
            if position not in burst.forced:
                burst.forced[position] = scenario
                break


_FORCED: tuple[dict[str, Any], ...] = (
    {"op": "Converse"},
    {"op": "ConverseStream"},
    {"op": "InvokeModel", "model": "sonnet45-us"},
    {"op": "InvokeModelWithResponseStream"},
    {"op": "InvokeModelWithResponseStream", "done": True},
    {"model": "titan-embed-v2"},
    {"model": "llama31-70b", "op": "InvokeModel"},
    {"model": "claude3-haiku"},
    {"model": "nova-micro"},
    {"model": "sonnet45-us"},
    {"model": "sonnet45-eu"},
    {"model": "haiku45-us"},
    {"model": "sonnet45-global"},
    {"model": "sonnet45-us-arn"},
    {"model": "sonnet45-global-arn"},
    {"model": "app-sonnet45"},
    {"model": "app-nova-lite"},
    {"model": "app-unknown"},
    {"model": "app-unknown"},
    {"model": "provisioned"},
    {"model": "unlisted"},
    {"model": "mistral-large"},
    {"op": "Converse", "outcome": "guardrail_input"},
    {"op": "ConverseStream", "outcome": "guardrail_output"},
    {"outcome": "failed_empty"},
    {"outcome": "failed_content_type"},
    {"delivery": "text_off"},
    {"delivery": "offload_input"},
    {"delivery": "offload_output"},
    {"long": True},
    {"ms": True},
    {"op": "Converse", "model": "sonnet45-us", "cache": "1h"},
    {"op": "InvokeModel", "model": "haiku45-us", "cache": "1h"},
    {"op": "Converse", "model": "sonnet45-us", "cache": "body_only"},
    {"op": "InvokeModel", "model": "sonnet45-us", "cache": "body_only"},
    {"dup": True},
)


@dataclass
class _Tally:
    """What written log objects add up to; workers return one each and the run merges them."""

    files: list[str] = field(default_factory=list)
    lines: int = 0
    duplicates: int = 0
    bytes: int = 0
    data_objects: int = 0
    records_done: int = 0
    sums: list[int] = field(default_factory=lambda: [0] * len(_SUM_FIELDS))
    groups: Counter[tuple[str, ...]] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    corrupt: Counter[str] = field(default_factory=Counter)
    truncated: tuple[str, int, int] | None = None  # (key, lines kept, lines lost)

    def count(self, made: _Made) -> None:
        """Add one readable, unique request to the ground truth."""
        if made.error_code:
            self.failed[made.error_code] += 1
        else:
            self.sums = [total + value for total, value in zip(self.sums, made.sums, strict=True)]
            self.groups[made.group] += 1

    def add(self, other: _Tally) -> None:
        self.files += other.files
        self.lines += other.lines
        self.duplicates += other.duplicates
        self.bytes += other.bytes
        self.data_objects += other.data_objects
        self.records_done += other.records_done
        self.sums = [a + b for a, b in zip(self.sums, other.sums, strict=True)]
        self.groups.update(other.groups)
        self.failed.update(other.failed)
        self.corrupt.update(other.corrupt)
        self.truncated = self.truncated or other.truncated

    def truth(self) -> dict[str, Any]:
        truth: dict[str, Any] = {
            "scope": "unique readable requests; token sums and breakdowns exclude failed calls",
            "requests": sum(self.groups.values()),
            "failed_requests": sum(self.failed.values()),
            "failed_by_error_code": dict(sorted(self.failed.items())),
        }
        truth.update(zip(_SUM_FIELDS, self.sums, strict=True))
        for position, name in enumerate(_GROUP_FIELDS):
            counts: Counter[str] = Counter()
            for group, count in self.groups.items():
                counts[group[position]] += count
            truth[f"requests_by_{name}"] = dict(sorted(counts.items()))
        return truth


def _gzip(payload: bytes) -> bytes:
    return gzip.compress(payload, compresslevel=_GZIP_LEVEL, mtime=0)


def _write(path: Path, payload: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)


def _truncated_gzip(kept: bytes) -> bytes:
    """A gzip stream cut right after ``kept``: no final block and no trailer.

    The cut sits on a deflate sync point, so every gunzip yields exactly the kept lines and then reports an
    unexpected end of stream; the trailer's size field is missing, which a size check also catches.
    """
    deflate = zlib.compressobj(_GZIP_LEVEL, zlib.DEFLATED, -15)
    return _gzip(b"")[:10] + deflate.compress(kept) + deflate.flush(zlib.Z_SYNC_FLUSH)


class _Records:
    """Turns slots into records and writes delivery objects; one per process, reseeded for every record."""

    def __init__(self, params: dict[str, Any], scale: float = 1.0) -> None:
        self.seed: int = params["seed"]
        self.rng = random.Random()
        self.encode = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode
        words = random.Random(_seed(self.seed, _CORPUS, 0)).choices(_VOCABULARY.split(), k=60_000)
        for index in range(0, len(words), 14):
            words[index] = words[index].capitalize()
            words[index - 1] += "."
        self.corpus = " ".join(words)
        self.models: dict[tuple[str, str], _Weighted] = {}
        for stream, _ in _STREAM_WEIGHTS:
            models = [m for m in _MODELS if stream[1] in m.regions and stream[0] in m.accounts]
            self.models[stream] = _Weighted(models, (m.weight for m in models))
        self.ops = {family: _Weighted.of(weights) for family, weights in _OPS_BY_FAMILY.items()}
        self.principals: dict[str, _Weighted] = {}
        for account in ACCOUNTS:
            principals = _principals(account)
            self.principals[account] = _Weighted(principals, (p.weight for p in principals))
        self.error_codes = _Weighted.of(_ERROR_CODES)
        self.stop_reasons = _Weighted.of(_STOP_REASONS)
        self.environments = _Weighted.of(_ENVIRONMENTS)
        self.offload_kinds = _Weighted.of((("offload_input", 75), ("offload_output", 10), ("offload_both", 15)))
        self.tenants = _Weighted(_TENANTS, (1 / (rank + 1) for rank in range(len(_TENANTS))))
        # text budget per record: lognormal (sigma 1) with this mean, times the calibrated scale
        self.text_mean = max(200.0, params["mean_record_bytes"] - 900.0) * scale
        self.text_chars = 0

    # ------------------------------------------------------------------ objects

    def write(self, bursts: list[_Burst], out: Path) -> _Tally:
        """Make and write the given delivery objects (and their offloaded bodies)."""
        tally = _Tally()
        for burst in bursts:
            size = len(burst.events)
            kept = size // 2 if burst.truncated else size
            lines = []
            for position in range(size):
                made = self.make(burst.slot(self.seed, position))
                lines.append(self.encode(made.record))
                for suffix, body in made.offloads:
                    name = f"{made.record['requestId']}_{suffix}.json.gz"
                    _write(out / burst.folder / "data" / name, _gzip(self.encode(body).encode()))
                    tally.data_objects += 1
                if position < kept:
                    tally.count(made)
            shuffle = random.Random(_seed(self.seed, _BURST, burst.index))
            for slot in burst.incoming:
                lines.insert(shuffle.randrange(len(lines) + 1), self.encode(self.make(slot).record))
            for kind, seed in burst.corrupt:
                slot = _Slot(seed, burst.stream, burst.events[0], burst.folder, {"outcome": "ok", "delivery": "inline"})
                lines.insert(shuffle.randrange(1, max(2, len(lines))), self.corrupt_line(kind, slot))
                tally.corrupt[kind] += 1
            if burst.truncated:
                payload = "".join(line + "\n" for line in lines[:kept]).encode()
                _write(out / burst.key, _truncated_gzip(payload))
                tally.truncated = (burst.key, kept, size - kept)
            else:
                payload = ("\n".join(lines) + "\n").encode()
                _write(out / burst.key, _gzip(payload))
            tally.files.append(burst.key)
            tally.lines += kept + len(burst.incoming) + len(burst.corrupt)
            tally.duplicates += len(burst.incoming)
            tally.bytes += len(payload)
            tally.records_done += size
        return tally

    def corrupt_line(self, kind: str, slot: _Slot) -> str:
        """One line of bad input of the given kind; record-like ones never count as requests."""
        if kind == "not_json":
            return f"Internal error while serializing record (ref {slot.seed % 2**32:08x})"
        if kind == "blank":
            return ""
        if kind == "not_object":
            return "[]"
        record = self.make(slot).record
        if kind == "missing_request_id":
            del record["requestId"]
        elif kind == "bad_timestamp":
            record["timestamp"] = "yesterday"
        line = self.encode(record)
        return line[: len(line) // 2] if kind == "truncated_json" else line

    # ------------------------------------------------------------------ records

    def _text(self, chars: int) -> str:
        """A prompt or response fragment of about ``chars`` characters, marked as private."""
        marker = f"{PRIVATE_PREFIX}{self.rng.getrandbits(32):08x}"
        chars = min(chars, len(self.corpus) - 1)
        if chars < 8:
            return marker
        self.text_chars += chars
        offset = int(self.rng.random() * (len(self.corpus) - chars))
        return f"{marker} {self.corpus[offset : offset + chars]}"

    def _request_id(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"

    def _pick_model(self, stream: tuple[str, str], force: dict[str, Any]) -> _Model:
        if "model" in force:
            return _MODEL_BY_KEY[force["model"]]
        models = self.models[stream].items
        if force.get("long"):
            return self.rng.choice([m for m in models if m.sonnet45])
        if "op" in force:
            fitting = [m for m in models if any(op == force["op"] for op, _ in _OPS_BY_FAMILY[m.family])]
            return _Weighted(fitting, (m.weight for m in fitting)).pick(self.rng)
        return self.models[stream].pick(self.rng)

    def make(self, slot: _Slot) -> _Made:
        """The record of one slot: the same slot always gives the same record."""
        rng = self.rng
        rng.seed(slot.seed)
        force = slot.force
        account, region = slot.stream
        model = self._pick_model(slot.stream, force)
        op = force.get("op") or self.ops[model.family].pick(rng)
        principal = self.principals[account].pick(rng)
        event_ms = slot.event_ms
        ms = force.get("ms") or rng.random() < _MS_TIMESTAMP_RATE
        if ms:
            event_ms += 1 + int(rng.random() * 999)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(event_ms // 1000))
        timestamp = f"{stamp}.{event_ms % 1000:03d}Z" if ms else f"{stamp}Z"
        request_id = self._request_id()
        model_id = model.raw.format(account=account, region=region)
        metadata = self._metadata(principal) if rng.random() < principal.tag_rate else None

        # A forced record shows exactly its case: it never fails or changes delivery by chance.
        outcome = force.get("outcome") or ("ok" if force else None)
        if outcome is None:
            roll = rng.random()
            if roll < _FAILED_RATE:
                outcome = "failed_empty" if rng.random() < 0.5 else "failed_content_type"
            elif op in CONVERSE_OPS and roll < _FAILED_RATE + _GUARDRAIL_RATE:
                outcome = "guardrail_input" if rng.random() < 0.7 else "guardrail_output"
            else:
                outcome = "ok"
        group = (op, model.shape, model_id, timestamp[:10])
        extra: dict[str, Any] = {}
        if outcome.startswith("failed"):
            code = self.error_codes.pick(rng)
            if outcome == "failed_empty":
                body_in: dict[str, Any] = {}
                body_out: dict[str, Any] = {}
            else:
                body_in, body_out = {"inputContentType": "application/json"}, {"outputContentType": "application/json"}
            extra["errorCode"] = code
            record = self._assemble(
                timestamp, account, principal, region, request_id, op, model_id, body_in, body_out, metadata, extra
            )
            return _Made(record, code, (), group, [])

        delivery = force.get("delivery") or ("inline" if force else None)
        if delivery is None:
            roll = rng.random()
            if roll < _TEXT_OFF_RATE:
                delivery = "text_off"
            elif roll < _TEXT_OFF_RATE + _OFFLOAD_RATE:
                delivery = self.offload_kinds.pick(rng)
            else:
                delivery = "inline"
        long_context = (
            outcome == "ok"
            and model.sonnet45
            and (force.get("long") or (not force and rng.random() < _LONG_CONTEXT_RATE))
        )
        if long_context and delivery != "text_off":
            delivery = "offload_both" if delivery in ("offload_output", "offload_both") else "offload_input"
        call = _Call(self, model, op, outcome, delivery, force, long_context)
        body_in, body_out, offloads = call.build(slot.folder, request_id)
        if model.reroute and rng.random() < _REROUTE_RATE:
            extra["inferenceRegion"] = rng.choice([r for r in model.reroute if r != region])
        sums = (
            call.input,
            call.read,
            call.write,
            call.write_1h,
            call.output,
            call.guardrail,
            call.input + call.read + call.write > 200_000,
            "inferenceRegion" in extra,
            delivery == "text_off",
            bool(offloads),
            metadata is not None,
        )
        record = self._assemble(
            timestamp, account, principal, region, request_id, op, model_id, body_in, body_out, metadata, extra
        )
        return _Made(record, None, sums, group, offloads)

    def _assemble(
        self,
        timestamp: str,
        account: str,
        principal: _Principal,
        region: str,
        request_id: str,
        op: str,
        model_id: str,
        body_in: dict[str, Any],
        body_out: dict[str, Any],
        metadata: dict[str, str] | None,
        extra: dict[str, Any],
    ) -> dict[str, Any]:
        """Lay the record out in the 2024 or the 2025 key order: readers must not rely on either."""
        old_style = self.rng.random() < 0.5
        record: dict[str, Any] = {"schemaType": "ModelInvocationLog", "schemaVersion": "1.0"} if old_style else {}
        record.update(
            timestamp=timestamp,
            accountId=account,
            identity={"arn": principal.arn},
            region=region,
            requestId=request_id,
            operation=op,
            modelId=model_id,
            input=body_in,
            output=body_out,
        )
        if "errorCode" in extra:
            record["errorCode"] = extra["errorCode"]
        if metadata is not None:
            record["requestMetadata"] = metadata
        if "inferenceRegion" in extra:
            record["inferenceRegion"] = extra["inferenceRegion"]
        if not old_style:
            record["schemaType"] = "ModelInvocationLog"
            record["schemaVersion"] = "1.0"
        return record

    def _metadata(self, principal: _Principal) -> dict[str, str]:
        rng = self.rng
        scheme = _TAG_SCHEMES[principal.scheme]
        tags: dict[str, str] = {}
        for concept, key in scheme.items():
            if rng.random() >= _TAG_PRESENCE[concept]:
                continue
            if concept == "tenant":
                tags[key] = self.tenants.pick(rng)
            elif concept == "application":
                tags[key] = principal.application
            elif concept == "cost_center":
                tags[key] = _COST_CENTERS[principal.scheme]
            elif concept == "team":
                tags[key] = _TEAMS[principal.scheme]
            elif concept == "environment":
                tags[key] = self.environments.pick(rng)
            else:
                tags[key] = f"user-{int(rng.random() * 5000):05d}"
        if rng.random() < 0.3:
            tags["UseCase"] = rng.choice(_USE_CASES)
        if rng.random() < 0.3:
            tags["feature"] = rng.choice(_FEATURES)
        if rng.random() < 0.1:
            tags["request_source"] = rng.choice(("web", "mobile", "batch", "api"))
        return tags


def inference_profile_summaries() -> list[dict[str, Any]]:
    """The application profiles in the logs, as ``ListInferenceProfiles`` returns them (the unknown one is absent)."""
    prefix = f"arn:aws:bedrock:us-east-1:{_ACCT1}:application-inference-profile"
    return [
        {
            "inferenceProfileName": "support-chat-sonnet",
            "description": "Copied from us.anthropic.claude-sonnet-4-5 for cost allocation of support chat",
            "inferenceProfileArn": f"{prefix}/{APP_PROFILE_SONNET_ID}",
            "inferenceProfileId": APP_PROFILE_SONNET_ID,
            "type": "APPLICATION",
            "status": "ACTIVE",
            "models": [{"modelArn": f"arn:aws:bedrock:{region}::foundation-model/{_SONNET45}"} for region in _US],
            "createdAt": "2026-06-03T14:22:05.120000+00:00",
            "updatedAt": "2026-06-03T14:22:05.120000+00:00",
        },
        {
            "inferenceProfileName": "doc-summarizer-nova-lite",
            "description": "Single-region Nova Lite profile for the summarizer",
            "inferenceProfileArn": f"{prefix}/{APP_PROFILE_NOVA_ID}",
            "inferenceProfileId": APP_PROFILE_NOVA_ID,
            "type": "APPLICATION",
            "status": "ACTIVE",
            "models": [{"modelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{_NOVA_LITE}"}],
            "createdAt": "2026-08-19T08:05:41.907000+00:00",
            "updatedAt": "2026-09-02T16:40:12.331000+00:00",
        },
    ]


class _Call:
    """Token counts and bodies of one successful (or guardrail-blocked) call, consistent across every place
    a count appears: top-level ``input``/``output``, Converse ``usage``, Anthropic ``usage``, stream chunks."""

    def __init__(
        self, run: _Records, model: _Model, op: str, outcome: str, delivery: str, force: dict[str, Any], long: bool
    ) -> None:
        rng = run.rng
        self.run, self.model, self.op, self.outcome, self.delivery = run, model, op, outcome, delivery
        family = model.family
        self.guardrail = outcome.startswith("guardrail")
        self.force_done = bool(force.get("done"))
        self.cached = False
        budget = rng.lognormvariate(math.log(run.text_mean) - 0.5, 1.0)
        if family == "titan_embed":
            self.system_chars, self.output_chars = 0, 0
            self.prompt_chars = int(min(30_000, max(40, budget * 0.6)))
        else:
            self.output_chars = int(max(20, min(60_000, budget * (0.15 + 0.35 * rng.random()))))
            input_chars = max(40, budget - self.output_chars)
            caching_family = family in _CACHE_RATE
            cache_forced = force.get("cache") is not None
            self.cached = (
                not self.guardrail
                and caching_family
                and (cache_forced or (long and rng.random() < 0.6) or rng.random() < _CACHE_RATE[family])
            )
            has_system = self.cached or rng.random() < 0.6
            self.system_chars = int(input_chars * (0.05 + 0.3 * rng.random())) if has_system else 0
            self.prompt_chars = int(input_chars - self.system_chars)
        self.turns = 3 if family not in ("titan_embed", "llama") and rng.random() < 0.25 else 1
        self.stop = run.stop_reasons.pick(rng)
        if self.guardrail:
            self.stop = "guardrail_intervened"
        self.read = self.write = self.write_1h = 0
        prompt_tokens = self.prompt_chars // 4 + 7 * self.turns
        system_tokens = self.system_chars // 4
        if self.guardrail:
            self.input = 0 if outcome == "guardrail_input" else prompt_tokens + system_tokens
            self.output = 0
        else:
            self.input = prompt_tokens + (0 if self.cached else system_tokens)
            self.output = max(1, self.output_chars // 4 + int(rng.random() * 8)) if family != "titan_embed" else 0
        if self.cached:
            cached = system_tokens + int(rng.lognormvariate(math.log(6000), 1.0))
            if long:
                cached = max(cached, rng.randint(200_500, 600_000) - self.input)
            if rng.random() < 0.7 and force.get("cache") != "1h":
                self.read = cached
                self.write = rng.randrange(50, 800) if rng.random() < 0.2 else 0
            else:
                self.write = cached
        elif long:
            self.input = rng.randint(200_500, 400_000)
        output_inline = delivery in ("inline", "offload_input")
        if family == "claude" and self.write and output_inline and (force.get("cache") == "1h" or rng.random() < 0.3):
            self.write_1h = self.write if rng.random() < 0.7 else self.write // 2
        # The top level may omit the cache counts only when an inline body still carries them.
        carries_cache = family in ("claude", "nova") and (family == "claude" or op in CONVERSE_OPS)
        if force.get("cache") == "body_only":
            self.top_cache = not (carries_cache and output_inline)
        elif force.get("cache") == "1h" or not (carries_cache and output_inline):
            self.top_cache = self.read > 0 or self.write > 0 or rng.random() < _TOP_CACHE_RATE
        else:
            self.top_cache = rng.random() < _TOP_CACHE_RATE
        if self.prompt_chars + self.system_chars > _INLINE_LIMIT:
            self.delivery = {"inline": "offload_input", "offload_output": "offload_both"}.get(delivery, delivery)
        self.latency = 300 + self.output * 12 + int(rng.random() * 400)

    def build(self, folder: str, request_id: str) -> tuple[dict[str, Any], dict[str, Any], list[tuple[str, Any]]]:
        """The ``input`` and ``output`` objects, and any bodies to write to ``data/``."""
        body_in: dict[str, Any] = {"inputContentType": "application/json"}
        body_out: dict[str, Any] = {"outputContentType": "application/json"}
        offloads: list[tuple[str, Any]] = []
        if self.delivery != "text_off":
            request, response = self._bodies()
            for suffix, holder, key, body in (
                ("input", body_in, "inputBody", request),
                ("output", body_out, "outputBody", response),
            ):
                if self.delivery in (f"offload_{suffix}", "offload_both"):
                    holder[f"{key}S3Path"] = f"s3://{BUCKET}/{folder}/data/{request_id}_{suffix}.json.gz"
                    offloads.append((suffix, body))
                else:
                    holder[f"{key}Json"] = body
        body_in["inputTokenCount"] = self.input
        if self.top_cache:
            body_in["cacheReadInputTokenCount"] = self.read
            body_in["cacheWriteInputTokenCount"] = self.write
        if self.model.family != "titan_embed":
            body_out["outputTokenCount"] = self.output
        return body_in, body_out, offloads

    def _bodies(self) -> tuple[Any, Any]:
        family, op = self.model.family, self.op
        if family == "titan_embed":
            return self._titan()
        if op in CONVERSE_OPS:
            return self._converse()
        if family == "llama":
            return self._llama()
        if op == "InvokeModel":
            return self._anthropic()
        return self._anthropic_stream()

    def _prompts(self) -> list[str]:
        """User (and earlier assistant) turns; the prompt budget is shared among them."""
        text = self.run._text
        if self.turns == 1:
            return [text(self.prompt_chars)]
        share = self.prompt_chars // 3
        return [text(share), text(share // 2), text(self.prompt_chars - share - share // 2)]

    def _output_text(self) -> str:
        if self.guardrail:
            return f"Sorry, I can't help with that request. {PRIVATE_PREFIX}{self.run.rng.getrandbits(32):08x}"
        return self.run._text(self.output_chars)

    # --- Converse / ConverseStream: the assembled Converse response object

    def _converse(self) -> tuple[dict[str, Any], dict[str, Any]]:
        prompts = self._prompts()
        messages = [
            {"role": "user" if index % 2 == 0 else "assistant", "content": [{"text": prompt}]}
            for index, prompt in enumerate(prompts)
        ]
        request: dict[str, Any] = {"messages": messages}
        if self.system_chars:
            system: list[dict[str, Any]] = [{"text": self.run._text(self.system_chars)}]
            if self.cached:
                system.append({"cachePoint": {"type": "default"}})
            request["system"] = system
        request["inferenceConfig"] = {"maxTokens": 4096, "temperature": 0.2}
        if self.guardrail:
            request["guardrailConfig"] = {
                "guardrailIdentifier": _GUARDRAIL_ID,
                "guardrailVersion": "3",
                "trace": "enabled",
            }
        usage: dict[str, Any] = {
            "inputTokens": self.input,
            "outputTokens": self.output,
            "totalTokens": self.input + self.output + self.read + self.write,
        }
        if self.model.family in _CACHE_RATE:
            usage["cacheReadInputTokens"] = self.read
            usage["cacheWriteInputTokens"] = self.write
            if self.write and self.model.family == "claude":
                details = []
                if self.write - self.write_1h:
                    details.append({"inputTokens": self.write - self.write_1h, "ttl": "5m"})
                if self.write_1h:
                    details.append({"inputTokens": self.write_1h, "ttl": "1h"})
                usage["cacheDetails"] = details
        response: dict[str, Any] = {
            "output": {"message": {"role": "assistant", "content": [{"text": self._output_text()}]}},
            "stopReason": self.stop,
            "metrics": {"latencyMs": self.latency},
            "usage": usage,
        }
        if self.guardrail:
            response["trace"] = {"guardrail": self._guardrail_trace()}
        return request, response

    def _guardrail_trace(self) -> dict[str, Any]:
        metrics = {
            "guardrailProcessingLatency": 150 + self.run.rng.randrange(300),
            "usage": {
                "topicPolicyUnits": 1,
                "contentPolicyUnits": 1,
                "wordPolicyUnits": 1,
                "sensitiveInformationPolicyUnits": 1,
                "sensitiveInformationPolicyFreeUnits": 0,
                "contextualGroundingPolicyUnits": 0,
            },
            "guardrailCoverage": {"textCharacters": {"guarded": self.prompt_chars, "total": self.prompt_chars}},
        }
        if self.outcome == "guardrail_input":
            topic = {"name": "Investment advice", "type": "DENY", "action": "BLOCKED", "detected": True}
            return {
                "inputAssessment": {_GUARDRAIL_ID: {"topicPolicy": {"topics": [topic]}, "invocationMetrics": metrics}}
            }
        content = {
            "filters": [
                {
                    "type": "VIOLENCE",
                    "confidence": "HIGH",
                    "filterStrength": "HIGH",
                    "action": "BLOCKED",
                    "detected": True,
                }
            ]
        }
        return {
            "inputAssessment": {_GUARDRAIL_ID: {"invocationMetrics": metrics}},
            "outputAssessments": {_GUARDRAIL_ID: [{"contentPolicy": content, "invocationMetrics": metrics}]},
        }

    # --- InvokeModel / InvokeModelWithResponseStream: model-native bodies

    def _anthropic_request(self) -> dict[str, Any]:
        prompts = self._prompts()
        request: dict[str, Any] = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 4096}
        if self.system_chars:
            block: dict[str, Any] = {"type": "text", "text": self.run._text(self.system_chars)}
            if self.cached:
                block["cache_control"] = {"type": "ephemeral", "ttl": "1h"} if self.write_1h else {"type": "ephemeral"}
            request["system"] = [block]
        request["messages"] = [
            {"role": "user" if index % 2 == 0 else "assistant", "content": [{"type": "text", "text": prompt}]}
            for index, prompt in enumerate(prompts)
        ]
        return request

    def _anthropic_usage(self, output_tokens: int) -> dict[str, Any]:
        usage: dict[str, Any] = {"input_tokens": self.input}
        if self.model.family == "claude":
            usage["cache_creation_input_tokens"] = self.write
            usage["cache_read_input_tokens"] = self.read
            usage["cache_creation"] = {
                "ephemeral_5m_input_tokens": self.write - self.write_1h,
                "ephemeral_1h_input_tokens": self.write_1h,
            }
        usage["output_tokens"] = output_tokens
        return usage

    def _message_id(self) -> str:
        return f"msg_bdrk_01{self.run.rng.getrandbits(88):022x}"

    def _anthropic(self) -> tuple[dict[str, Any], dict[str, Any]]:
        response = {
            "id": self._message_id(),
            "type": "message",
            "role": "assistant",
            "model": self.model.anthropic_name,
            "content": [{"type": "text", "text": self._output_text()}],
            "stop_reason": self.stop,
            "stop_sequence": None,
            "usage": self._anthropic_usage(self.output),
        }
        return self._anthropic_request(), response

    def _anthropic_stream(self) -> tuple[dict[str, Any], list[Any]]:
        rng = self.run.rng
        pieces = max(2, min(40, self.output_chars // 400))
        size = max(1, self.output_chars // pieces - 18)
        start = {
            "id": self._message_id(),
            "type": "message",
            "role": "assistant",
            "model": self.model.anthropic_name,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": self._anthropic_usage(min(self.output, 1)),
        }
        metrics: dict[str, Any] = {
            "inputTokenCount": self.input,
            "outputTokenCount": self.output,
            "invocationLatency": self.latency,
            "firstByteLatency": 200 + int(rng.random() * 600),
        }
        if self.top_cache:
            metrics["cacheReadInputTokenCount"] = self.read
            metrics["cacheWriteInputTokenCount"] = self.write
        chunks: list[Any] = [
            {"type": "message_start", "message": start},
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            *(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": self.run._text(size)},
                }
                for _ in range(pieces)
            ),
            {"type": "content_block_stop", "index": 0},
            {
                "type": "message_delta",
                "delta": {"stop_reason": self.stop, "stop_sequence": None},
                "usage": {"output_tokens": self.output},
            },
            {"type": "message_stop", "amazon-bedrock-invocationMetrics": metrics},
        ]
        if self.force_done or rng.random() < _DONE_RATE:
            chunks.append("[DONE]")
        return self._anthropic_request(), chunks

    def _llama(self) -> tuple[dict[str, Any], dict[str, Any]]:
        prompt = "<|begin_of_text|>"
        if self.system_chars:
            prompt += f"<|start_header_id|>system<|end_header_id|>\n\n{self.run._text(self.system_chars)}<|eot_id|>"
        prompt += (
            f"<|start_header_id|>user<|end_header_id|>\n\n{self._prompts()[0]}<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n"
        )
        response = {
            "generation": self._output_text(),
            "prompt_token_count": self.input,
            "generation_token_count": self.output,
            "stop_reason": "length" if self.stop == "max_tokens" else "stop",
        }
        return {"prompt": prompt, "max_gen_len": 2048, "temperature": 0.5, "top_p": 0.9}, response

    def _titan(self) -> tuple[dict[str, Any], dict[str, Any]]:
        rng = self.run.rng
        request = {"inputText": self.run._text(self.prompt_chars), "dimensions": 256, "normalize": True}
        embedding = [round(rng.uniform(-0.2, 0.2), 6) for _ in range(8)]
        return request, {"embedding": embedding, "inputTextTokenCount": self.input}
