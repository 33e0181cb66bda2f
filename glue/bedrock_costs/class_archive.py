"""A class-data-sharing archive of the classes a local Spark driver loads, so that every later local process
starts and runs its first queries faster.

A local `bcr` process starts a JVM that loads and verifies tens of thousands of Spark, Hadoop and Parquet
classes, at start and again while its first queries run. From JDK 13 the JVM can write the classes it
loaded to an archive when it exits (``-XX:ArchiveClassesAtExit``) and map that archive at the next start
(``-XX:SharedArchiveFile``). The first local process of a Java and Spark combination writes it (its exit
waits about 10 s for that, once); every later one maps it.

The archive lives in the user's cache (``~/.cache/bcr/jvm``, about 130 MB), named after what it depends on
(the Java runtime, Spark's jars, the JVM's flags), and is published whole: the JVM writes a file of its own,
which is renamed once the JVM has exited cleanly. One process writes at a time. A file that is not an archive
is written again, and a JVM that cannot use an archive (another Java build, say) runs without it, silently.
``BCR_CLASS_ARCHIVE=off`` turns it off. Glue starts its own JVM, so only local sessions use it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

SWITCH = "BCR_CLASS_ARCHIVE"
# The first bytes of a dynamic archive (its magic number 0xf00baba8, little-endian).
_MAGIC = bytes.fromhex("a8ab0bf0")
# Silence the JVM's notes on archives (on standard output otherwise): a stale archive is only a slower start.
_QUIET = "-Xlog:cds*=off"
_DUMP_WAIT_SECONDS = 180
_ARCHIVE_DAYS = 30


@dataclass(frozen=True)
class ClassArchive:
    """The JVM options of one launch, and what its exit must publish (``dump`` is None when it only reads)."""

    options: str
    archive: Path
    dump: Path | None = None

    def publish(self, jvm: subprocess.Popen) -> None:
        """After Python is done: end the JVM (it exits when its standard input closes), wait for it to write
        its archive, and publish the archive whole. Nothing here may fail the run that has just finished.
        """
        if self.dump is None:
            return
        print("[bcr] writing the JVM's class archive, once: later runs start faster", file=sys.stderr, flush=True)
        try:
            with suppress(OSError):
                if jvm.stdin:
                    jvm.stdin.close()
            try:
                exited = jvm.wait(_DUMP_WAIT_SECONDS)
            except subprocess.TimeoutExpired:
                return
            if exited == 0 and is_archive(self.dump):
                self.dump.replace(self.archive)
            _remove_leftovers(self.archive.parent, keep=self.archive)
        except OSError:
            pass
        finally:
            self.dump.unlink(missing_ok=True)
            _lock(self.archive).unlink(missing_ok=True)


def is_archive(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            return file.read(len(_MAGIC)) == _MAGIC
    except OSError:
        return False


def java_version(java_home: Path) -> tuple[int, ...] | None:
    """The runtime's version from its ``release`` file (every JDK and JRE since 9 has one)."""
    try:
        release = (java_home / "release").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    found = re.search(r'^JAVA_VERSION="(\d+)(?:\.(\d+))?(?:\.(\d+))?', release, re.MULTILINE)
    return tuple(int(part) for part in found.groups() if part is not None) if found else None


def java_home() -> Path | None:
    """The runtime Spark's launcher starts: ``JAVA_HOME``, else the ``java`` on the PATH."""
    if os.environ.get("JAVA_HOME"):
        return Path(os.environ["JAVA_HOME"])
    java = shutil.which("java")
    return Path(java).resolve().parent.parent if java else None


def archive_path(cache: Path, java: Path | None, spark_jars: Path, jvm_flags: str) -> Path | None:
    """Where the archive of this runtime, Spark and JVM flags is kept, or None when there can be none (the
    switch off, Java before 13, an unknown runtime).
    """
    if os.environ.get(SWITCH, "").lower() in {"off", "0", "false", "no"} or java is None:
        return None
    version = java_version(java)
    if version is None or version[0] < 13:
        return None
    return cache / f"spark-classes-{_fingerprint(java, version, spark_jars, jvm_flags)}.jsa"


def local_driver_archive(jvm_flags: str) -> Path | None:
    """``archive_path`` of the JVM PySpark launches here, in the user's cache."""
    from pyspark.find_spark_home import _find_spark_home

    try:
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "bcr" / "jvm"
    except RuntimeError:  # no home directory to keep a cache in
        return None
    return archive_path(cache, java_home(), Path(_find_spark_home()) / "jars", jvm_flags)


def plan(archive: Path, write: bool = True) -> ClassArchive | None:
    """The options of a JVM about to start: map the archive, or write it at exit (unless ``write`` is off);
    None when there is none to map and this JVM is not to write it, or another process is writing it now.
    """
    if is_archive(archive):
        return ClassArchive(f"-XX:SharedArchiveFile={archive} {_QUIET}", archive)
    if not write:
        return None
    try:
        archive.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not _take(_lock(archive)):
            return None
    except OSError:
        return None
    dump = archive.with_name(f"{archive.name}.{os.getpid()}.tmp")
    return ClassArchive(f"-XX:ArchiveClassesAtExit={dump} {_QUIET}", archive, dump)


def _fingerprint(java: Path, version: tuple[int, ...], spark_jars: Path, jvm_flags: str) -> str:
    """What the archive is only valid with: the runtime, Spark's jars (names and sizes), the JVM's flags."""
    digest = hashlib.sha256(f"{java.resolve()}|{version}|{jvm_flags}".encode())
    with suppress(OSError):
        for jar in sorted(os.scandir(spark_jars), key=lambda entry: entry.name):
            digest.update(f"|{jar.name}:{jar.stat().st_size}".encode())
    return digest.hexdigest()[:16]


def _remove_leftovers(cache: Path, keep: Path) -> None:
    """Dumps of this archive's writers that died, and archives nobody has written for a month (another Java or
    Spark since). Another archive's dump may be in the writing: its own writer removes it.
    """
    month_ago = time.time() - _ARCHIVE_DAYS * 86_400
    with suppress(OSError):
        for path in cache.glob(f"{keep.name}.*.tmp"):
            path.unlink(missing_ok=True)
    for path in cache.glob("spark-classes-*.jsa"):
        with suppress(OSError):
            if path != keep and path.stat().st_mtime < month_ago:
                path.unlink()


def _lock(archive: Path) -> Path:
    return archive.with_name(f"{archive.name}.lock")


def _take(lock: Path) -> bool:
    """Whether this process now writes the archive: the lock names the writer, and a dead writer's is taken over."""
    for _ in range(2):
        try:
            handle = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            if _alive(lock):
                return False
            lock.unlink(missing_ok=True)
            continue
        with os.fdopen(handle, "w") as file:
            file.write(str(os.getpid()))
        return True
    return False


def _alive(lock: Path) -> bool:
    try:
        pid = int(lock.read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return pid > 0
