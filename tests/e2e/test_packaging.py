"""What a user installs and runs: the wheel carries the price catalog, and ``scripts/dev`` keeps a healthy .venv."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def uv() -> str:
    """The uv that runs this suite (``uv run`` exports it as UV), else one on PATH or in .uv/."""
    found = os.environ.get("UV") or shutil.which("uv") or str(ROOT / ".uv" / "bin" / "uv")
    assert Path(found).is_file(), "uv is needed to build the wheel (scripts/dev installs it into .uv/)"
    return found


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_the_wheel_carries_the_catalog(tmp_path: Path) -> None:
    """Build the wheel, install it into a fresh venv and check the catalog from outside the checkout.

    The heavy dependencies (pyspark, boto3) are lent from this suite's environment through a path entry
    instead of being installed again; the package itself, and its data, come from the wheel only.
    """
    built = run(uv(), "build", "--wheel", "--out-dir", tmp_path / "dist", ROOT, cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    venv = tmp_path / "venv"
    made = run(uv(), "venv", "--quiet", "--python", sys.executable, venv, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    installed = run(uv(), "pip", "install", "--quiet", "--no-deps", "--python", python, wheel, cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr
    site = Path(
        run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path).stdout.strip()
    )
    (site / "_lent_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")

    checked = run(venv / "bin" / "bcr", "pricing", "check", cwd=tmp_path)

    assert checked.returncode == 0, checked.stdout + checked.stderr
    catalog = site / "bedrock_costs" / "data" / "bedrock_prices.csv"
    assert checked.stdout.startswith(f"{catalog}: ok, ")
    assert catalog.read_bytes() == (ROOT / "pricing" / "bedrock_prices.csv").read_bytes()
    names = run(
        python, "-c", "from bcr.pricing_update import NAMES_FILE; print(NAMES_FILE.is_file(), NAMES_FILE)", cwd=tmp_path
    )
    assert names.stdout.split() == ["True", str(site / "bedrock_costs" / "data" / "price_list_names.csv")]


TINY_PROJECT = """\
[project]
name = "tiny"
version = "0"
requires-python = ">=3.11"
dependencies = []

[tool.uv]
package = false
"""


def test_dev_script_keeps_a_healthy_venv_behind_a_pyenv_shim(tmp_path: Path) -> None:
    """``python3`` as a pyenv shim (a launcher script): calls must reuse .venv, also two at once."""
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "scripts" / "dev", project / "scripts" / "dev")
    (project / "pyproject.toml").write_text(TINY_PROJECT, encoding="utf-8")
    locked = run(uv(), "lock", "--offline", "--quiet", cwd=project)
    assert locked.returncode == 0, locked.stderr
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "python3"
    shim.write_text(f'#!/usr/bin/env bash\nexec "{sys.executable}" "$@"\n', encoding="utf-8")
    shim.chmod(0o755)
    (bin_dir / "uv").symlink_to(uv())
    env = {
        "HOME": str(tmp_path),
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "JAVA_HOME": "/nonexistent-java-is-not-needed-here",
        "UV_CACHE_DIR": os.environ.get("UV_CACHE_DIR", str(Path.home() / ".cache" / "uv")),
    }

    def dev() -> subprocess.CompletedProcess[str]:
        return run("bash", project / "scripts" / "dev", "help", cwd=project, env=env)

    first = dev()
    assert "scripts/dev demo" in first.stdout, first.stderr
    sentinel = project / ".venv" / "sentinel"
    sentinel.write_text("made by the test", encoding="utf-8")
    config = (project / ".venv" / "pyvenv.cfg").stat()

    with ThreadPoolExecutor(2) as pool:
        calls = list(pool.map(lambda _: dev(), range(2)))

    assert all("scripts/dev demo" in call.stdout for call in calls), [call.stderr for call in calls]
    assert sentinel.is_file(), ".venv was rebuilt"
    assert (project / ".venv" / "pyvenv.cfg").stat().st_ino == config.st_ino


@pytest.mark.parametrize("name", ["bedrock_prices.csv", "price_list_names.csv"])
def test_the_checkout_resolves_the_same_data(name: str) -> None:
    from bedrock_costs.catalog import PRICING_DIR

    assert PRICING_DIR / name == ROOT / "pricing" / name
