"""The JVM class archive: when a launch writes it, reads it or goes without, and that only a whole archive
written by a JVM that exited cleanly is ever published. A stand-in process plays the JVM (it writes the dump
when its standard input closes, as the real one does at exit); tests/e2e/test_class_archive_real_jvm.py runs
the real one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from subprocess import Popen

import pytest

from bedrock_costs import class_archive
from bedrock_costs.class_archive import ClassArchive, archive_path, plan

DYNAMIC_ARCHIVE_MAGIC = bytes([0xA8, 0xAB, 0x0B, 0xF0])  # 0xf00baba8, as HotSpot writes it on x86 and ARM


def runtime(tmp_path: Path, version: str) -> Path:
    home = tmp_path / f"jdk-{version}"
    home.mkdir()
    (home / "release").write_text(f'IMPLEMENTOR="Test"\nJAVA_VERSION="{version}"\n', encoding="utf-8")
    return home


def launch(cache: Path, java: Path, jars: Path, flags: str = "") -> ClassArchive | None:
    where = archive_path(cache, java, jars, flags)
    assert where is not None
    return plan(where)


@pytest.fixture
def jars(tmp_path: Path) -> Path:
    folder = tmp_path / "jars"
    folder.mkdir()
    (folder / "spark-core_2.12-3.5.6.jar").write_bytes(b"x" * 10)
    return folder


def stand_in_jvm(dump: Path, exit_code: int = 0, content: bytes = DYNAMIC_ARCHIVE_MAGIC + b"classes") -> Popen:
    """A process that, like the JVM, writes its archive when its standard input reaches its end."""
    script = (
        "import sys, pathlib; sys.stdin.read(); "
        f"pathlib.Path({str(dump)!r}).write_bytes({content!r}); sys.exit({exit_code})"
    )
    return subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE)


def test_the_first_launch_writes_the_archive_and_later_ones_read_it(tmp_path: Path, jars: Path) -> None:
    cache, java = tmp_path / "cache", runtime(tmp_path, "17.0.15")
    writer = launch(cache, java, jars, "-XX:+UseParallelGC")
    assert writer is not None and writer.dump is not None
    assert f"-XX:ArchiveClassesAtExit={writer.dump}" in writer.options
    assert writer.dump.parent == cache and not writer.archive.exists()
    # While it runs, another launch neither writes nor waits: it starts without an archive.
    assert launch(cache, java, jars, "-XX:+UseParallelGC") is None

    writer.publish(stand_in_jvm(writer.dump))

    assert writer.archive.read_bytes() == DYNAMIC_ARCHIVE_MAGIC + b"classes"
    assert sorted(p.name for p in cache.iterdir()) == [writer.archive.name]  # no lock, no unfinished dump
    reader = launch(cache, java, jars, "-XX:+UseParallelGC")
    assert reader is not None and reader.dump is None
    assert f"-XX:SharedArchiveFile={writer.archive}" in reader.options


def test_a_launch_that_must_not_write_maps_the_archive_or_goes_without(tmp_path: Path, jars: Path) -> None:
    where = archive_path(tmp_path / "cache", runtime(tmp_path, "17.0.15"), jars, "")
    assert where is not None
    assert plan(where, write=False) is None
    assert not (tmp_path / "cache").exists()  # no lock taken: a writer can still come
    writer = plan(where)
    assert writer is not None and writer.dump is not None
    writer.publish(stand_in_jvm(writer.dump))
    reader = plan(where, write=False)
    assert reader is not None and reader.dump is None and f"-XX:SharedArchiveFile={where}" in reader.options


@pytest.mark.parametrize(
    ("exit_code", "content"),
    [(1, DYNAMIC_ARCHIVE_MAGIC + b"classes"), (0, b"not an archive"), (0, b"")],
    ids=["jvm-failed", "not-an-archive", "empty"],
)
def test_only_a_whole_archive_from_a_clean_exit_is_published(
    tmp_path: Path, jars: Path, exit_code: int, content: bytes
) -> None:
    cache, java = tmp_path / "cache", runtime(tmp_path, "21.0.2")
    writer = launch(cache, java, jars, "")
    assert writer is not None and writer.dump is not None

    writer.publish(stand_in_jvm(writer.dump, exit_code, content))

    assert list(cache.iterdir()) == []
    again = launch(cache, java, jars, "")
    assert again is not None and again.dump is not None  # the next launch tries again


def test_a_file_that_is_not_an_archive_is_written_again(tmp_path: Path, jars: Path) -> None:
    cache, java = tmp_path / "cache", runtime(tmp_path, "17.0.15")
    first = launch(cache, java, jars, "")
    assert first is not None and first.dump is not None
    first.publish(stand_in_jvm(first.dump))
    first.archive.write_bytes(b"\0" * 64)  # cut short or damaged after it was published

    again = launch(cache, java, jars, "")

    assert again is not None and again.dump is not None and again.archive == first.archive


def test_a_dead_writer_does_not_keep_others_from_writing(tmp_path: Path, jars: Path) -> None:
    cache, java = tmp_path / "cache", runtime(tmp_path, "17.0.15")
    killed = launch(cache, java, jars, "")
    assert killed is not None and killed.dump is not None
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    Path(f"{killed.archive}.lock").write_text(dead.stdout.strip())
    # Its dump, half written when its process died.
    killed.dump.with_name(f"{killed.archive.name}.{dead.stdout.strip()}.tmp").write_bytes(DYNAMIC_ARCHIVE_MAGIC)

    writer = launch(cache, java, jars, "")
    assert writer is not None and writer.dump is not None
    # Meanwhile the writer of another archive (a 1 GB driver) is writing its own.
    other = launch(cache, java, jars, "-Xmx1g")
    assert other is not None and other.dump is not None
    other.dump.write_bytes(DYNAMIC_ARCHIVE_MAGIC)
    writer.publish(stand_in_jvm(writer.dump))

    # The dead writer's dump is gone; the other writer's is left to it.
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        [writer.archive.name, other.dump.name, f"{other.archive.name}.lock"]
    )


def test_archives_nobody_has_written_for_a_month_are_removed(tmp_path: Path, jars: Path) -> None:
    cache, java = tmp_path / "cache", runtime(tmp_path, "17.0.15")
    cache.mkdir()
    stale, recent = cache / "spark-classes-0000000000000000.jsa", cache / "spark-classes-1111111111111111.jsa"
    for archive in (stale, recent):
        archive.write_bytes(DYNAMIC_ARCHIVE_MAGIC)
    forty_days_ago = time.time() - 40 * 86_400
    os.utime(stale, (forty_days_ago, forty_days_ago))
    writer = launch(cache, java, jars, "")
    assert writer is not None and writer.dump is not None

    writer.publish(stand_in_jvm(writer.dump))

    assert sorted(p.name for p in cache.iterdir()) == sorted([recent.name, writer.archive.name])


def test_each_runtime_spark_and_flags_have_their_own_archive(tmp_path: Path, jars: Path) -> None:
    cache = tmp_path / "cache"
    java_17, java_21 = runtime(tmp_path, "17.0.15"), runtime(tmp_path, "21.0.2")
    places = {archive_path(cache, java, jars, flags) for java, flags in [(java_17, "-Xmx4g"), (java_21, "-Xmx4g")]}
    places.add(archive_path(cache, java_17, jars, "-Xmx8g"))
    (jars / "spark-core_2.12-3.5.6.jar").write_bytes(b"x" * 11)
    places.add(archive_path(cache, java_17, jars, "-Xmx4g"))
    assert len(places) == 4 and None not in places


@pytest.mark.parametrize("release", ['JAVA_VERSION="11.0.22"', 'JAVA_VERSION="1.8.0_402"', "", None])
def test_a_runtime_without_dynamic_archives_runs_without_one(tmp_path: Path, jars: Path, release: str | None) -> None:
    home = tmp_path / "jdk"
    home.mkdir()
    if release is not None:
        (home / "release").write_text(release, encoding="utf-8")
    assert archive_path(tmp_path / "cache", home, jars, "") is None


def test_the_switch_turns_it_off(tmp_path: Path, jars: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(class_archive.SWITCH, "off")
    assert archive_path(tmp_path / "cache", runtime(tmp_path, "17.0.15"), jars, "") is None
