"""A stand-in for the parts of ``awsglue`` the entry script uses, over the local SparkSession.

``getResolvedOptions`` is the real one from the ``awsgluedataplanepython`` wheel (it is plain argparse) where
that wheel installs (Python 3.11, Glue 5.1's version). ``GlueContext`` and ``Job`` need Glue's Scala jars,
which are not on PyPI, so they are replaced: the context hands out the local session, and the job records
``init`` and ``commit``. ``awsgluedq``'s ``EvaluateDataQuality`` is replaced by one that checks it is given
exactly the deployed ruleset text, then evaluates it with the local DQDL evaluator and answers in Glue's
``ruleOutcomes`` shape (Rule, Outcome Passed/Failed/Error, FailureReason, EvaluatedMetrics).
Local Spark has no S3 connector either; the context's session reads ``s3://`` log
objects from local mirrors of the buckets (``mounts``), which is what Glue's connector does for real.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import types
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession


class JobRecord:
    """What the entry script told ``awsglue.job.Job``."""

    def __init__(self) -> None:
        self.inits: list[tuple[str, dict]] = []
        self.commits = 0
        self.asked: list[str] = []  # regions whose inference profiles were listed
        # EvaluateDataQuality calls: (evaluation context, ruleset text, additional aliases, publishing options)
        self.dq_calls: list[tuple[str, str, list[str], dict]] = []


class _Reader:
    def __init__(self, reader: Any, local: Any) -> None:
        self._reader, self._local = reader, local

    def option(self, key: str, value: Any) -> _Reader:
        return _Reader(self._reader.option(key, value), self._local)

    def text(self, paths: str | Sequence[str], *args: Any, **kwargs: Any) -> Any:
        paths = [paths] if isinstance(paths, str) else paths
        return self._reader.text([self._local(path) for path in paths], *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)


class MountedSession:
    """The local session, with ``read.text`` of ``s3://`` paths served from local mirrors."""

    def __init__(self, session: SparkSession, mounts: Mapping[str, Path]) -> None:
        self._session, self._mounts = session, mounts

    def _local(self, path: str) -> str:
        for uri, folder in self._mounts.items():
            if path.startswith(uri):
                return str(folder / path.removeprefix(uri))
        if path.startswith("s3://"):
            raise FileNotFoundError(f"no local mirror for {path} (local Spark has no S3 connector)")
        return path

    @property
    def read(self) -> _Reader:
        return _Reader(self._session.read, self._local)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


def resolved_options(args: Sequence[str], options: Sequence[str]) -> dict[str, Any]:
    """Faithful to awsglue.utils.getResolvedOptions for what the job uses, for Pythons its wheel refuses."""
    parser = argparse.ArgumentParser(exit_on_error=False)
    parser.add_argument("--job-bookmark-option", required=False)
    for name in ("--JOB_ID", "--JOB_RUN_ID", "--SECURITY_CONFIGURATION", "--TempDir"):
        parser.add_argument(name, required=False)
    for option in options:
        parser.add_argument(f"--{option}", required=True)
    parsed, _unknown = parser.parse_known_args(list(args[1:]))
    return vars(parsed)


_OUTCOMES = {"PASS": "Passed", "FAIL": "Failed", "ERROR": "Error"}


def modules(
    session: SparkSession, mounts: Mapping[str, Path], rulesets: Mapping[str, str] | None = None
) -> tuple[dict[str, types.ModuleType], JobRecord]:
    """``sys.modules`` entries for ``awsglue`` and ``awsgluedq``, and what the stand-in job records.

    ``rulesets``: the deployed ruleset text by ruleset name, which EvaluateDataQuality must receive.
    """
    record = JobRecord()
    deployed = dict(rulesets or {})

    class DynamicFrame:
        def __init__(self, frame: Any, name: str) -> None:
            self._frame, self.name = frame, name

        @classmethod
        def fromDF(cls, frame: Any, glue_context: Any, name: str) -> DynamicFrame:
            assert isinstance(glue_context, GlueContext)
            return cls(frame, name)

        def toDF(self) -> Any:
            return self._frame

    class DynamicFrameCollection:
        def __init__(self, frames: Mapping[str, DynamicFrame]) -> None:
            self._frames = dict(frames)

        def select(self, key: str) -> DynamicFrame:
            return self._frames[key]

    class EvaluateDataQuality:
        def process_rows(
            self,
            frame: DynamicFrame,
            ruleset: str,
            publishing_options: Mapping[str, Any],
            additional_data_sources: Mapping[str, DynamicFrame] | None = None,
            additional_options: Mapping[str, Any] | None = None,
        ) -> DynamicFrameCollection:
            from bedrock_costs.quality.evaluate import evaluate_ruleset

            context = publishing_options["dataQualityEvaluationContext"]
            assert context in deployed, f"{context} is not a deployed ruleset ({sorted(deployed)})"
            assert ruleset == deployed[context], f"{context}: the job passed a ruleset other than the deployed one"
            sources = {alias: f.toDF() for alias, f in (additional_data_sources or {}).items()}
            record.dq_calls.append((context, ruleset, sorted(sources), dict(publishing_options)))
            result = evaluate_ruleset(frame.toDF(), ruleset, name=context, sources=sources)
            rows = [(rule.rule, _OUTCOMES[rule.outcome], rule.message, dict(rule.metrics)) for rule in result.results]
            schema = "Rule string, Outcome string, FailureReason string, EvaluatedMetrics map<string,double>"
            outcomes = DynamicFrame(session.createDataFrame(rows, schema), "ruleOutcomes")
            return DynamicFrameCollection({"ruleOutcomes": outcomes, "rowLevelOutcomes": frame})

    class GlueContext:
        def __init__(self, spark_context: Any) -> None:
            assert spark_context is session.sparkContext, "the job must run on the process's SparkContext"
            self.spark_session = MountedSession(session, mounts)

    class Job:
        def __init__(self, glue_context: GlueContext) -> None:
            assert isinstance(glue_context, GlueContext)

        def init(self, name: str, args: Mapping[str, Any]) -> None:
            record.inits.append((name, dict(args)))

        def commit(self) -> None:
            assert record.inits, "Job.commit before Job.init"
            record.commits += 1

    context = types.ModuleType("awsglue.context")
    context.GlueContext = GlueContext  # type: ignore[attr-defined]
    job = types.ModuleType("awsglue.job")
    job.Job = Job  # type: ignore[attr-defined]
    dynamicframe = types.ModuleType("awsglue.dynamicframe")
    dynamicframe.DynamicFrame = DynamicFrame  # type: ignore[attr-defined]
    dynamicframe.DynamicFrameCollection = DynamicFrameCollection  # type: ignore[attr-defined]
    transforms = types.ModuleType("awsgluedq.transforms")
    transforms.EvaluateDataQuality = EvaluateDataQuality  # type: ignore[attr-defined]
    stand_ins = {
        "awsglue.context": context,
        "awsglue.job": job,
        "awsglue.dynamicframe": dynamicframe,
        "awsgluedq": types.ModuleType("awsgluedq"),
        "awsgluedq.transforms": transforms,
    }
    if importlib.util.find_spec("awsglue") is not None:
        import awsglue.utils  # the real parser; it keeps its reference to the real awsglue.job.Job

        stand_ins["awsglue.utils"] = awsglue.utils
    else:
        utils = types.ModuleType("awsglue.utils")
        utils.getResolvedOptions = resolved_options  # type: ignore[attr-defined]
        stand_ins |= {"awsglue": types.ModuleType("awsglue"), "awsglue.utils": utils}
    return stand_ins, record


def load_entry_script(path: Path, name: str = "bedrock_cost_etl_under_test") -> types.ModuleType:
    """Import the entry script as a module (``awsglue`` must already be stood in)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
