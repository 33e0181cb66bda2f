"""The data-quality gate of a run: the template's rulesets on the tables as the run would publish them.

A run stages its files (``commit.py``); before its manifest is written, the gate reads every table the
rulesets use as it will be after publishing (kept files plus staged ones, ``Publication.read_final``), with
the run's own ``pipeline_runs`` row added as succeeded, and evaluates the rulesets on that. The dated tables
are read for the dates the run writes and the newest date only, the run history for its newest 101 run
dates (``final_tables``), so an hourly run checks its own day, not a year of history; ``bcr quality``
audits whole tables. The policy decides what a failed rule does:

- ``fail``: the run fails and publishes nothing; its ``failed`` pipeline_runs row names the rules;
- ``warn``: the run publishes, and the failure is recorded (``dq_outcome = warned``) and alerted.

Either way each rule's result becomes a ``dq_results`` row of the run. Which engine evaluates is injected:
the local DQDL evaluator in ``bcr etl``, awsgluedq's ``EvaluateDataQuality`` in the Glue job (the entry
script), so both runs apply the same policy to the same rules.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pyspark.sql import DataFrame

from bedrock_costs import storage
from bedrock_costs.catalog import PriceRow
from bedrock_costs.commit import Publication
from bedrock_costs.history import RUN_DATE, stage_rows
from bedrock_costs.quality.results import PASS, RuleResult, RulesetResult
from bedrock_costs.quality.rulesets import RulesetDefinition
from bedrock_costs.quality.tables import PRICING, catalog_frame, evaluate_rulesets
from bedrock_costs.schemas import DQ_RESULTS, PUBLISHED_TABLES

FAIL, WARN = "fail", "warn"
POLICIES = (FAIL, WARN)
# Publish and alert: see README "Data quality" for why this is the default.
DEFAULT_POLICY = WARN
# pipeline_runs.dq_outcome
PASSED, WARNED, FAILED, SKIPPED = "passed", "warned", "failed", "skipped"
LOCAL, GLUE = "local", "glue"
# Tables partitioned by this are gated on the dates a run writes (and the newest one), not whole.
SCOPED_PARTITION = "usage_date"
# The run history the gate reads: the newest 101 run dates. Each holds at least one run, so even a daily
# schedule keeps in view the run and the 100 before it that DqRowCountHistoryRuns may compare it with (its
# maximum), and the read stops growing with the history (a closed day is one file, history.py).
RUN_HISTORY_DATES = 101
# A failed run's error names at most this many rules (dq_results holds all of them).
_NAMED_RULES = 5

# (rulesets, datasets by alias, evaluation time) -> one result per ruleset.
Evaluator = Callable[[Sequence[RulesetDefinition], Mapping[str, DataFrame], datetime], list[RulesetResult]]


class DataQualityFailed(RuntimeError):
    """Rules failed under policy ``fail``: the run publishes nothing. The message names the rules."""


def local_evaluator(
    definitions: Sequence[RulesetDefinition], datasets: Mapping[str, DataFrame], now: datetime
) -> list[RulesetResult]:
    """The DQDL evaluator of this package (``bcr quality`` uses the same)."""
    return evaluate_rulesets(definitions, datasets, now=now)


@dataclass(frozen=True)
class GateOutcome:
    """What the gate found in one run, and what the policy makes of it."""

    policy: str
    engine: str
    results: Sequence[RulesetResult]
    evaluated_at: datetime

    @property
    def failures(self) -> list[tuple[str, RuleResult]]:
        return [(r.ruleset, rule) for r in self.results for rule in r.results if not rule.passed]

    @property
    def rules_evaluated(self) -> int:
        return sum(len(r.results) for r in self.results)

    @property
    def outcome(self) -> str:
        if not self.failures:
            return PASSED
        return FAILED if self.policy == FAIL else WARNED

    def describe(self) -> str:
        """One line naming the rules that did not pass, with why (the run's error, or the warning)."""
        if not self.failures:
            return f"data quality: all {self.rules_evaluated} rules passed"
        named = [
            f"{ruleset} {rule.name} {rule.outcome} [{_squeeze(rule.rule)}]{f': {rule.message}' if rule.message else ''}"
            for ruleset, rule in self.failures[:_NAMED_RULES]
        ]
        more = len(self.failures) - len(named)
        tail = f"; and {more} more (see dq_results)" if more else ""
        return (
            f"data quality {self.outcome} (policy {self.policy}): {len(self.failures)} of {self.rules_evaluated} "
            f"rules did not pass: {'; '.join(named)}{tail}"
        )

    def enforce(self) -> None:
        """Raise ``DataQualityFailed`` when the policy is ``fail`` and a rule did not pass."""
        if self.outcome == FAILED:
            raise DataQualityFailed(self.describe())

    def rows(self, run_id: str, run_date: str) -> list[tuple]:
        """The ``dq_results`` rows: one per rule of every ruleset, in ``DQ_RESULTS`` order."""
        return [
            (
                run_id,
                result.ruleset,
                rule.name,
                rule.rule,
                rule.outcome,
                None if rule.outcome == PASS else rule.message,
                _finite(rule.measured),
                rule.expected,
                json.dumps({k: _finite(v) for k, v in rule.metrics.items()}, sort_keys=True),  # NaN is no JSON
                self.policy,
                self.engine,
                self.evaluated_at,
                run_date,
            )
            for result in self.results
            for rule in result.results
        ]

    def stage(self, publication: Publication, run_id: str, run_date: str) -> None:
        """Stage this evaluation's ``dq_results`` rows with the run's other output."""
        frame = publication.spark.createDataFrame(self.rows(run_id, run_date), DQ_RESULTS)
        stage_rows(publication, "dq_results", frame)


def _squeeze(text: str, width: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _finite(value: float | None) -> float | None:
    """A metric as a number, or None where it could not be measured (NaN)."""
    return None if value is None or value != value else float(value)


@dataclass(frozen=True)
class QualityGate:
    """The rulesets, the policy and the engine of a run's data-quality check."""

    definitions: Sequence[RulesetDefinition]
    catalog: Sequence[PriceRow]
    policy: str = DEFAULT_POLICY
    evaluate: Evaluator = local_evaluator
    engine: str = LOCAL

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ValueError(f"data-quality policy {self.policy!r}: use one of {', '.join(POLICIES)}")

    def check(self, publication: Publication, run_row: DataFrame) -> GateOutcome:
        """Evaluate the rulesets on the tables as ``publication`` would leave them, plus ``run_row``."""
        moment = datetime.now(UTC).replace(microsecond=0)
        datasets = final_tables(publication, self.tables())
        if "pipeline_runs" in datasets:
            datasets["pipeline_runs"] = datasets["pipeline_runs"].unionByName(run_row)
        datasets[PRICING] = catalog_frame(publication.spark, self.catalog)
        return GateOutcome(self.policy, self.engine, self.evaluate(self.definitions, datasets, moment), moment)

    def tables(self) -> list[str]:
        """The published tables the rulesets read: their targets and every table a rule names."""
        text = " ".join(d.dqdl for d in self.definitions)
        targets = {d.table for d in self.definitions}
        return [t.name for t in PUBLISHED_TABLES if t.name in targets or re.search(rf"\b{t.name}\b", text)]


def final_tables(publication: Publication, names: Sequence[str]) -> dict[str, DataFrame]:
    """The named tables as they will be after ``publication`` publishes, as far as the run can change them.

    A table partitioned by usage date is read for the dates the run stages into plus the newest date
    (which holds the newest event, so a freshness rule sees what it would see on the whole table): the
    gate's cost follows the run's data, not the length of the history. The run history is read for its
    newest ``RUN_HISTORY_DATES`` run dates, other tables whole; ``bcr quality`` checks whole tables.
    Lazy DataFrames; nothing is read until a rule runs.
    """
    staged: dict[str, set[str]] = {}
    for _source, target in publication.manifest()["move"]:
        table, folder = target.split("/")[:2]
        staged.setdefault(table, set()).add(folder.partition("=")[2])
    by_name = {t.name: t for t in PUBLISHED_TABLES}
    frames = {}
    for name in names:
        table = by_name[name]
        root = storage.table_path(publication.out, name)
        values = set(storage.partition_folders(publication.spark, root, table.partition))
        written = staged.get(name, set())
        if table.partition == SCOPED_PARTITION:
            values = written | set(sorted(values | written)[-1:])
        elif table.partition == RUN_DATE:
            values = set(sorted(values | written)[-RUN_HISTORY_DATES:])
        else:
            values |= written
        frames[name] = publication.read_final(name, table.schema, table.partition, sorted(values))
    return frames
