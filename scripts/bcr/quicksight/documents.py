"""The committed QuickSight definitions: which file holds what, and the one canonical text of each.

``quicksight_definitions/`` holds one JSON document per QuickSight resource, each shaped like the properties
of its CloudFormation resource (which are also the create request of the API, minus ``AwsAccountId`` and
``Permissions``): ``data_source.json``, ``datasets/<identifier>.json`` and ``dashboard.json``. The template
includes these files with ``AWS::Include`` and ``bcr dashboard deploy`` sends them through the API, so both
deploy paths read the same bytes. Account, region and stack-specific values are CloudFormation placeholders
(see ``placeholders.py``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

DEFAULT_ROOT = Path(__file__).resolve().parents[3] / "quicksight_definitions"
DATA_SOURCE_FILE = "data_source.json"
DATASETS_DIR = "datasets"
DASHBOARD_FILE = "dashboard.json"


class DefinitionError(ValueError):
    """A definitions folder that cannot be read, told in one line that names the file."""


@dataclass(frozen=True)
class Definitions:
    """Every document of one definitions folder; datasets keyed by their identifier in the dashboard."""

    data_source: dict[str, Any]
    datasets: dict[str, dict[str, Any]]
    dashboard: dict[str, Any]

    def files(self) -> dict[str, dict[str, Any]]:
        """Relative path -> document, in a stable order."""
        return {
            DATA_SOURCE_FILE: self.data_source,
            **{dataset_file(name): doc for name, doc in sorted(self.datasets.items())},
            DASHBOARD_FILE: self.dashboard,
        }


def dataset_file(identifier: str) -> str:
    """The file, relative to the definitions folder, of the dataset the dashboard declares as ``identifier``."""
    return f"{DATASETS_DIR}/{identifier}.json"


def kind_of(relative: str) -> str:
    """Which resource a definitions file describes: ``data_source``, ``dataset`` or ``dashboard``."""
    if relative.startswith(f"{DATASETS_DIR}/"):
        return "dataset"
    return "dashboard" if relative == DASHBOARD_FILE else "data_source"


def variant(union: Any) -> tuple[str, dict[str, Any]]:
    """The one member of a union structure (``{"KPIVisual": {...}}``) as (name, body); empty if malformed."""
    if isinstance(union, dict) and len(union) == 1:
        (name, body), *_ = union.items()
        if isinstance(body, dict):
            return name, body
    return "", {}


def canonical(document: Any) -> Any:
    """The JSON value of a document: datetimes as ISO 8601 UTC strings, tuples as lists, nothing else changed.

    Lists keep their order (sheets, visuals and layout elements are ordered); key order is settled by
    :func:`dumps`.
    """
    if isinstance(document, dict):
        return {str(key): canonical(value) for key, value in document.items()}
    if isinstance(document, list | tuple):
        return [canonical(value) for value in document]
    if isinstance(document, datetime):
        moment = document if document.tzinfo else document.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(document, date):
        return document.isoformat()
    return document


def dumps(document: Any) -> str:
    """The committed text: sorted keys, 2-space indent, UTF-8 kept readable, one trailing newline."""
    return json.dumps(canonical(document), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def load_document(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DefinitionError(f"{path} does not exist") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DefinitionError(f"{path} is not valid JSON: {exc}") from exc
    except OSError as exc:
        raise DefinitionError(f"cannot read {path}: {exc.strerror}") from exc
    if not isinstance(document, dict):
        raise DefinitionError(f"{path} must hold a JSON object")
    return document


def load_definitions(root: Path = DEFAULT_ROOT) -> Definitions:
    if not root.is_dir():
        raise DefinitionError(f"{root} is not a folder of QuickSight definitions")
    dataset_files = sorted((root / DATASETS_DIR).glob("*.json"))
    if not dataset_files:
        raise DefinitionError(f"{root / DATASETS_DIR} holds no dataset definitions")
    return Definitions(
        data_source=load_document(root / DATA_SOURCE_FILE),
        datasets={path.stem: load_document(path) for path in dataset_files},
        dashboard=load_document(root / DASHBOARD_FILE),
    )


def noncanonical_files(root: Path) -> list[str]:
    """Files whose text is not the canonical dump of their own content (hand edits, other formatters)."""
    paths = [root / DATA_SOURCE_FILE, *sorted((root / DATASETS_DIR).glob("*.json")), root / DASHBOARD_FILE]
    return [
        path.relative_to(root).as_posix()
        for path in paths
        if path.is_file() and path.read_text(encoding="utf-8") != dumps(load_document(path))
    ]


def write_definitions(definitions: Definitions, root: Path) -> list[str]:
    """Write every document canonically; drop dataset files the dashboard no longer uses. Returns changed paths."""
    changed: list[str] = []
    files = definitions.files()
    for stale in sorted((root / DATASETS_DIR).glob("*.json")):
        relative = f"{DATASETS_DIR}/{stale.name}"
        if relative not in files:
            stale.unlink()
            changed.append(relative)
    for relative, document in files.items():
        path = root / relative
        text = dumps(document)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            changed.append(relative)
    return changed
