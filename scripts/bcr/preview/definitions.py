"""Find the dashboard and dataset definitions in a folder, whatever its layout, and pair each dataset
identifier the dashboard declares with its dataset file.

Files are recognised by their shape, not their names: a dashboard has a ``Definition`` with ``Sheets`` (or is
a bare definition), a dataset has a ``PhysicalTableMap``, a data source has ``DataSourceParameters``. ARNs and
ids may hold placeholders (``${AccountId}``, ``{{region}}``, ``<account>``); matching ignores them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_PLACEHOLDER = re.compile(r"\$\{[^}]*\}|\{\{[^}]*\}\}|<[^<>]*>")


class DefinitionError(ValueError):
    """The definition cannot be rendered as written: names the file, visual or field and the problem."""


@dataclass(frozen=True)
class DatasetFile:
    path: Path
    body: dict[str, Any]

    @property
    def dataset_id(self) -> str:
        return str(self.body.get("DataSetId", ""))

    @property
    def label(self) -> str:
        return str(self.body.get("Name") or self.dataset_id or self.path.stem)


@dataclass(frozen=True)
class DashboardFile:
    path: Path
    dashboard_id: str
    name: str
    definition: dict[str, Any]


@dataclass
class Definitions:
    dashboard: DashboardFile
    datasets: dict[str, DatasetFile]  # DataSetIdentifier → dataset
    skipped: list[str] = field(default_factory=list)  # JSON files that are neither


def _bare(text: str) -> str:
    return _PLACEHOLDER.sub("", text).strip().lower()


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DefinitionError(f"{path}: not readable JSON ({exc})") from exc


def _as_dashboard(path: Path, body: Any) -> DashboardFile | None:
    if not isinstance(body, dict):
        return None
    definition = body.get("Definition", body)
    if not isinstance(definition, dict) or "Sheets" not in definition:
        return None
    return DashboardFile(
        path=path,
        dashboard_id=str(body.get("DashboardId") or path.stem),
        name=str(body.get("Name") or body.get("DashboardId") or path.stem),
        definition=definition,
    )


def load_definitions(folder: Path, dashboard_id: str | None = None) -> Definitions:
    """Read every ``*.json`` under ``folder`` and pair the dashboard's dataset identifiers with datasets."""
    if not folder.is_dir():
        raise DefinitionError(f"no definitions folder at {folder} (pass --definitions DIR)")
    dashboards: list[DashboardFile] = []
    datasets: list[DatasetFile] = []
    skipped: list[str] = []
    for path in sorted(folder.rglob("*.json")):
        body = _read(path)
        dashboard = _as_dashboard(path, body)
        if dashboard is not None:
            dashboards.append(dashboard)
        elif isinstance(body, dict) and "PhysicalTableMap" in body:
            datasets.append(DatasetFile(path, body))
        else:
            skipped.append(str(path.relative_to(folder)))
    if dashboard_id is not None:
        dashboards = [d for d in dashboards if dashboard_id in (d.dashboard_id, d.name, d.path.stem)]
    if not dashboards:
        which = f" with id {dashboard_id!r}" if dashboard_id else ""
        raise DefinitionError(f"no dashboard definition{which} in {folder} (a JSON file with Definition.Sheets)")
    if len(dashboards) > 1:
        ids = ", ".join(d.dashboard_id for d in dashboards)
        raise DefinitionError(f"several dashboards in {folder} ({ids}): choose one with --dashboard ID")
    dashboard = dashboards[0]
    declarations = dashboard.definition.get("DataSetIdentifierDeclarations") or []
    if not declarations:
        raise DefinitionError(f"{dashboard.path}: the definition declares no DataSetIdentifierDeclarations")
    paired = {
        str(declaration.get("Identifier")): _match_dataset(declaration, datasets, dashboard.path)
        for declaration in declarations
    }
    return Definitions(dashboard, paired, skipped)


def _match_dataset(declaration: dict[str, Any], datasets: list[DatasetFile], where: Path) -> DatasetFile:
    """The dataset a declaration points at: its ARN's ``dataset/<id>`` tail, else its identifier, compared
    with each dataset's id, name and file name, placeholders ignored."""
    identifier = str(declaration.get("Identifier", ""))
    arn = str(declaration.get("DataSetArn", ""))
    tail = _bare(arn.rsplit("dataset/", 1)[-1]) if "dataset/" in arn else ""
    for wanted in (tail, _bare(identifier)):
        if not wanted:
            continue
        found = [d for d in datasets if wanted in {_bare(d.dataset_id), _bare(d.label), _bare(d.path.stem)} - {""}]
        if len(found) == 1:
            return found[0]
    known = ", ".join(sorted(d.label for d in datasets)) or "none"
    raise DefinitionError(
        f"{where}: DataSetIdentifier {identifier!r} ({arn or 'no ARN'}) matches no single dataset file "
        f"(datasets found: {known})"
    )
