"""Publish a run's files into plain Parquet tables so that a crash never leaves a half-merged ledger.

Parquet folders have no atomic multi-file commit (DESIGN.md §6), so a run never writes into a table folder
directly. It stages every file it will add under ``<out>/_staging/<run_id>/``, checks what it staged, and
only then writes its manifest: the list of staged files to move into the tables and of the table files
they replace. The manifest is the commit point:

- a run that dies before its manifest exists has changed no table; the next run deletes its staging folder
  and records it in ``pipeline_runs`` as ``interrupted`` (its log objects are read again, being unrecorded);
- a run that dies after it is finished by the next run from the manifest: every step (delete a replaced
  file, move a staged file whose target is missing) can be repeated until the manifest is gone.

Published files are named ``part-<run_id>-<n>…``, so a run's files are recognisable in any table folder.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from bedrock_costs import storage

STAGING = "_staging"
MANIFEST = "_manifest.json"
STARTED = "_started.json"


class PublishError(RuntimeError):
    """A committed run could not be published; the next run finishes it from the manifest."""


@dataclass(frozen=True)
class Recovery:
    """What the start of a run did about an earlier run's staging folder."""

    run_id: str
    action: str  # "completed" (published from its manifest) or "rolled_back" (nothing was published)


@dataclass
class Publication:
    """The files one run adds to and removes from the tables, staged until ``publish``."""

    spark: SparkSession
    out: str
    run_id: str
    # Per partition folder (relative to ``out``): files listed there at first touch, files to remove,
    # (staged file, target) moves. Relative paths keep the manifest valid for s3:// and s3a:// alike.
    _listed: dict[str, list[str]] = field(default_factory=dict)
    _removals: dict[str, list[str]] = field(default_factory=dict)
    _moves: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    _writes: int = 0

    @property
    def root(self) -> str:
        return f"{STAGING}/{self.run_id}"

    def _abs(self, relative: str) -> str:
        return f"{self.out}/{relative}"

    def begin(self, details: dict) -> None:
        """Mark the staging folder as this run's, so a crash leaves a record of who it was."""
        storage.write_text(self.spark, self._abs(f"{self.root}/{STARTED}"), json.dumps(details, sort_keys=True))

    def folder(self, table: str, column: str, value: str) -> str:
        return f"{table}/{column}={value}"

    def _relative(self, paths: Iterable[str]) -> list[str]:
        return [path[len(self.out) + 1 :] for path in paths]

    def committed(self, table: str, column: str, values: Iterable[str]) -> list[str]:
        """Files of the given partitions as they were when this run first looked (absolute paths)."""
        return [f for files in self.committed_by_value(table, column, values).values() for f in files]

    def committed_by_value(self, table: str, column: str, values: Iterable[str]) -> dict[str, list[str]]:
        """``committed`` of each given partition, keyed by its value; all listed in one call."""
        values = list(values)
        self._list_all(table, column, values)
        return {value: [self._abs(f) for f in self._list(self.folder(table, column, value))] for value in values}

    def _list_all(self, table: str, column: str, values: Iterable[str]) -> None:
        """List the given partitions of ``table`` not listed yet, in one file-system call."""
        names = [f"{column}={value}" for value in values if self.folder(table, column, value) not in self._listed]
        for name, paths in storage.list_files_of(self.spark, self._abs(table), names).items():
            self._listed[f"{table}/{name}"] = self._relative(paths)

    def _list(self, folder: str) -> list[str]:
        if folder not in self._listed:
            self._listed[folder] = self._relative(storage.list_files(self.spark, self._abs(folder)))
        return self._listed[folder]

    def stage(
        self, df: DataFrame, table: str, column: str, order: Sequence[str], replace: Iterable[str] = ()
    ) -> dict[str, list[str]]:
        """Write ``df`` as one sorted file per ``column`` value and plan to add it to ``table``.

        Partitions named in ``replace`` lose all their current files (and any file staged for them
        before, in this run), even when ``df`` has no rows for them. Returns staged files by value.
        """
        self._writes += 1
        staged_root = f"{self.root}/{self._writes:02d}-{table.replace('/', '-')}"
        replace = list(replace)
        self._list_all(table, column, replace)
        for value in replace:
            folder = self.folder(table, column, value)
            self._removals[folder] = list(self._list(folder))
            self._moves[folder] = []
        storage.write_partitioned(df, self._abs(staged_root), column, order)
        names = storage.list_folders(self.spark, self._abs(staged_root))
        values = [name.partition("=")[2] for name in names]
        written = storage.list_files_of(self.spark, self._abs(staged_root), names)
        self._list_all(table, column, values)
        staged: dict[str, list[str]] = {}
        for name, value in zip(names, values, strict=True):
            folder = self.folder(table, column, value)
            staged[value] = files = written[name]
            moves = self._moves.setdefault(folder, [])
            for source in self._relative(files):
                suffix = source.rsplit("/", 1)[1].partition(".")[2]
                moves.append((source, f"{folder}/part-{self.run_id}-{self._writes:02d}{len(moves):03d}.{suffix}"))
        return staged

    def read_staged(self, schema: T.StructType, staged: Mapping[str, list[str]]) -> DataFrame:
        """The rows of files ``stage`` returned, as they will be published."""
        files = sorted(path for paths in staged.values() for path in paths)
        return storage.read_files(self.spark, _write_root(files[0]) if files else "", schema, files)

    def read_final(self, table: str, schema: T.StructType, column: str, values: Iterable[str]) -> DataFrame:
        """The given partitions as they will be after ``publish``: kept files plus staged files."""
        values = list(values)
        self._list_all(table, column, values)
        kept, staged = [], []
        for value in values:
            folder = self.folder(table, column, value)
            removed = set(self._removals.get(folder, []))
            kept += [self._abs(f) for f in self._list(folder) if f not in removed]
            staged += [self._abs(source) for source, _ in self._moves.get(folder, [])]
        frames = [storage.read_files(self.spark, self._abs(table), schema, kept)] if kept else []
        by_base: dict[str, list[str]] = {}
        for path in staged:
            by_base.setdefault(_write_root(path), []).append(path)
        frames += [storage.read_files(self.spark, base, schema, paths) for base, paths in by_base.items()]
        if not frames:
            return self.spark.createDataFrame([], schema)
        return functools.reduce(DataFrame.unionByName, frames)

    def manifest(self) -> dict:
        return {
            "run_id": self.run_id,
            "remove": sorted(f for files in self._removals.values() for f in files),
            "move": sorted([s, t] for moves in self._moves.values() for s, t in moves),
        }

    def commit(self) -> None:
        """The commit point: from here on the run's output will be published, by this run or the next."""
        storage.write_text(self.spark, self._abs(f"{self.root}/{MANIFEST}"), json.dumps(self.manifest(), indent=1))

    def publish(self) -> None:
        """Apply the manifest (repeatable), check the table folders hold what it promised, clean up."""
        _apply(self.spark, self.out, self.manifest())
        by_table: dict[str, list[str]] = {}
        for folder in sorted(set(self._moves) | set(self._removals)):
            table, name = folder.rsplit("/", 1)
            by_table.setdefault(table, []).append(name)
        for table, names in by_table.items():
            for name, paths in storage.list_files_of(self.spark, self._abs(table), names).items():
                self._check_published(f"{table}/{name}", self._relative(paths))
        self.discard()

    def _check_published(self, folder: str, actual: list[str]) -> None:
        """Raise ``PublishError`` unless ``folder`` holds what this run found there, less its removals, plus
        its moves: anything else was written by another process meanwhile.
        """
        removed = set(self._removals.get(folder, []))
        expected = sorted(
            {f for f in self._listed.get(folder, []) if f not in removed}
            | {target for _, target in self._moves.get(folder, [])}
        )
        if actual != expected:
            raise PublishError(
                f"{folder} holds {len(actual)} file(s) after publishing, expected {len(expected)}: "
                "another process wrote to the tables during this run"
            )

    def discard(self) -> None:
        """Remove the staging folder: after publishing, or to abandon a run that did not commit."""
        storage.delete(self.spark, self._abs(f"{self.root}/{MANIFEST}"))
        storage.delete(self.spark, self._abs(self.root), recursive=True)


def _write_root(staged_file: str) -> str:
    """The folder one ``stage`` call wrote, which Spark needs to read a staged file's partition value."""
    return staged_file.rsplit("/", 2)[0]


def _apply(spark: SparkSession, out: str, manifest: dict) -> None:
    for relative in manifest["remove"]:
        storage.delete(spark, f"{out}/{relative}")
    for source, target in manifest["move"]:
        if storage.path_exists(spark, f"{out}/{target}"):
            # Moved already (on S3 a move is a copy, then a delete of the source).
            storage.delete(spark, f"{out}/{source}")
        elif storage.path_exists(spark, f"{out}/{source}"):
            storage.rename(spark, f"{out}/{source}", f"{out}/{target}")
        else:
            raise PublishError(
                f"run {manifest['run_id']}: neither {source} nor {target} exists; its manifest cannot be completed"
            )


def recover(spark: SparkSession, out: str, record_interrupted: Callable[[Publication, dict], None]) -> list[Recovery]:
    """Finish or roll back every run that left a staging folder (call it holding the lock, before reading).

    A rolled-back run is recorded through ``record_interrupted(publication, started)``, which stages its
    ``pipeline_runs`` row; that row is then committed and published like any run's output, so a crash
    during recovery is itself recovered.
    """
    done = []
    for run_id in storage.list_folders(spark, f"{out}/{STAGING}"):
        root = f"{out}/{STAGING}/{run_id}"
        manifest = storage.read_text(spark, f"{root}/{MANIFEST}")
        if manifest is not None:
            _apply(spark, out, json.loads(manifest))
            storage.delete(spark, f"{root}/{MANIFEST}")
            storage.delete(spark, root, recursive=True)
            done.append(Recovery(run_id, "completed"))
            continue
        started_text = storage.read_text(spark, f"{root}/{STARTED}")
        for name in storage.list_folders(spark, root):
            storage.delete(spark, f"{root}/{name}", recursive=True)
        if started_text is None:
            # Nothing says who it was: a cleanup that stopped midway. Nothing to record.
            storage.delete(spark, root, recursive=True)
            continue
        started = json.loads(started_text)
        publication = Publication(spark, out, run_id)
        record_interrupted(publication, started)
        publication.commit()
        publication.publish()
        done.append(Recovery(run_id, "rolled_back"))
    return done
