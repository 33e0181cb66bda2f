"""The committed definitions as the preview renders them: read by ``bcr.quicksight.documents`` (the same
loader as ``bcr dashboard``), placeholders filled in with example values (a preview has no account), and
each dataset identifier the dashboard declares paired with its file ``datasets/<identifier>.json``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bcr.quicksight.documents import DASHBOARD_FILE, DefinitionError, dataset_file, load_definitions
from bcr.quicksight.placeholders import EXAMPLE, PlaceholderError, resolve


@dataclass(frozen=True)
class DatasetDocument:
    """A dataset the dashboard declares: its identifier there, its file and its resolved document."""

    identifier: str
    body: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.identifier} ({dataset_file(self.identifier)})"


@dataclass(frozen=True)
class Dashboard:
    id: str
    name: str
    definition: dict[str, Any]
    datasets: dict[str, DatasetDocument]  # DataSetIdentifier -> dataset


def _resolved(document: dict[str, Any], relative: str) -> dict[str, Any]:
    try:
        return resolve(document, EXAMPLE.values())
    except PlaceholderError as exc:
        raise DefinitionError(f"{relative} {exc}") from exc


def load_dashboard(root: Path) -> Dashboard:
    """The dashboard of a definitions folder with its declared datasets; a missing file is a DefinitionError."""
    definitions = load_definitions(root)
    dashboard = _resolved(definitions.dashboard, DASHBOARD_FILE)
    definition = dashboard.get("Definition") or {}
    declarations = definition.get("DataSetIdentifierDeclarations") or []
    if not declarations:
        raise DefinitionError(f"{root / DASHBOARD_FILE}: the definition declares no DataSetIdentifierDeclarations")
    datasets = {}
    for declaration in declarations:
        identifier = str(declaration.get("Identifier"))
        if identifier not in definitions.datasets:
            raise DefinitionError(
                f"{root / DASHBOARD_FILE}: DataSetIdentifier {identifier!r} has no file {dataset_file(identifier)}"
            )
        body = _resolved(definitions.datasets[identifier], dataset_file(identifier))
        datasets[identifier] = DatasetDocument(identifier, body)
    dashboard_id = str(dashboard.get("DashboardId") or "dashboard")
    return Dashboard(dashboard_id, str(dashboard.get("Name") or dashboard_id), definition, datasets)
