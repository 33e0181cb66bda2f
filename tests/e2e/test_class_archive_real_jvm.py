"""The JVM class archive with a real JVM: the first local session writes it, the next one maps it (with
either JIT), and a damaged one neither breaks a run nor shows on its output, and is written again.

``SPARK_SUBMIT_OPTS=-Xshare:on`` makes the JVM refuse to start when it cannot map the archive, so a run that
succeeds with it has used the archive.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bedrock_costs.class_archive import SWITCH, is_archive

# A Python function in a Spark task, as the ETL's createDataFrame calls have: its results reach PySpark's
# accumulator server over a connection that stays open until Spark stops.
# It prints the JIT flags its JVM was started with: an archive written by one JIT is mapped by the other.
SESSION = (
    "import sys; from bedrock_costs.spark import local_session; "
    "spark = local_session(quick_jit=sys.argv[1:] == ['quick']); "
    "print(spark.sparkContext.parallelize(range(5), 2).map(lambda x: x + 1).count()); "
    "jvm = spark.sparkContext._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean(); "
    "print([flag for flag in jvm.getInputArguments() if 'Tiered' in flag])"
)
FULL_JIT, QUICK_JIT = "5\n[]\n", "5\n['-XX:TieredStopAtLevel=1']\n"


def session(cache: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in {SWITCH, "SPARK_SUBMIT_OPTS"}}
    return subprocess.run(
        [sys.executable, "-c", SESSION, *args],
        env={**environment, "XDG_CACHE_HOME": str(cache), **env},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_first_session_writes_the_archive_the_next_maps_it_and_a_damaged_one_is_written_again(
    tmp_path: Path,
) -> None:
    first = session(tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    assert first.stdout == FULL_JIT
    assert "Traceback" not in first.stderr  # Spark is stopped before its JVM exits to write the archive
    written = list((tmp_path / "bcr" / "jvm").iterdir())
    assert len(written) == 1 and written[0].suffix == ".jsa" and is_archive(written[0])  # no lock, no dump left

    mapped = session(tmp_path, "quick", SPARK_SUBMIT_OPTS="-Xshare:on")
    assert mapped.returncode == 0, mapped.stderr[-2000:]
    assert mapped.stdout == QUICK_JIT

    archive = written[0]
    archive.chmod(0o600)
    archive.write_bytes(b"\0" * 65536)  # a disk error, a copy cut short
    damaged = session(tmp_path)
    assert damaged.returncode == 0, damaged.stderr[-2000:]
    assert damaged.stdout == FULL_JIT  # the JVM's notes on the archive stay off the run's output
    assert is_archive(archive)
    assert session(tmp_path, SPARK_SUBMIT_OPTS="-Xshare:on").returncode == 0
