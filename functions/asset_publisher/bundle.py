"""Build AssetPublisherFunction: its handler plus every asset the Glue job needs, in one folder.

Runs at `sam build` time (see the Makefile) with any Python 3, so it uses the standard library only. The
package zip is byte-for-byte reproducible (sorted entries, fixed timestamps and modes): the same code always
hashes to the same asset prefix, so a redeploy without code changes publishes nothing new.
"""

from __future__ import annotations

import shutil
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HANDLER = Path(__file__).with_name("app.py")
ENTRY_SCRIPT = ROOT / "glue" / "bedrock_cost_etl.py"
PACKAGE = ROOT / "glue" / "bedrock_costs"
PRICE_CATALOG = ROOT / "pricing" / "bedrock_prices.csv"
_EPOCH = (1980, 1, 1, 0, 0, 0)


def zip_package(package: Path, target: Path) -> None:
    """``package`` as a zip whose root holds the package folder, ready for ``--extra-py-files``."""
    files = sorted(
        path
        for path in package.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo")
    )
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            entry = zipfile.ZipInfo(path.relative_to(package.parent).as_posix(), _EPOCH)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, path.read_bytes())


def build(artifacts: Path) -> None:
    assets = artifacts / "assets"
    assets.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(HANDLER, artifacts / HANDLER.name)
    shutil.copyfile(ENTRY_SCRIPT, assets / ENTRY_SCRIPT.name)
    shutil.copyfile(PRICE_CATALOG, assets / PRICE_CATALOG.name)
    zip_package(PACKAGE, assets / f"{PACKAGE.name}.zip")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: bundle.py ARTIFACTS_DIR")
    build(Path(sys.argv[1]))
