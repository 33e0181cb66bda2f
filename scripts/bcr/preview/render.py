"""Write the preview: one self-contained HTML file (page description, script and styles inlined)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bcr.preview.definitions import load_definitions
from bcr.preview.page import build_page

_ASSETS = Path(__file__).parent / "assets"
_TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>Dashboard preview</title>
<style>{css}</style>
</head>
<body>
<header>
<h1 id="title"></h1>
<div id="meta"></div>
<details id="warnings" hidden><summary></summary><ul></ul></details>
<nav id="tabs" role="tablist"></nav>
</header>
<main id="sheets"></main>
<script type="application/json" id="report-data">{data}</script>
<script>{js}</script>
</body>
</html>
"""


@dataclass(frozen=True)
class ReportResult:
    path: Path
    bytes: int
    sheets: int
    visuals: int
    placeholders: list[str]
    warnings: list[str]
    as_of: datetime


def embed_json(page: dict[str, Any]) -> str:
    """JSON that cannot end the script element it sits in, whatever text the data holds."""
    text = json.dumps(page, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("\u2028", "\\u2028")


def latest_usage_date(tables: Path) -> str | None:
    """The newest ``usage_date=`` partition under any table: the end of the data."""
    dates = [p.name.split("=", 1)[1] for p in tables.glob("*/usage_date=*") if p.is_dir()]
    return max(dates) if dates else None


def resolve_as_of(as_of: str, tables: Path) -> datetime:
    """``latest`` (default): the end of the newest usage date in the tables, so a preview of older data
    still shows its last 30 days; ``now``: the clock, as QuickSight does; or an ISO date or time."""
    if as_of == "now":
        return datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    if as_of == "latest":
        latest = latest_usage_date(tables)
        if latest is None:
            return datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        return datetime.fromisoformat(latest).replace(hour=23, minute=59, second=59)
    parsed = datetime.fromisoformat(as_of)
    if len(as_of) == 10:
        parsed = parsed.replace(hour=23, minute=59, second=59)
    return parsed.replace(tzinfo=None)


def write_report(
    tables: Path, definitions: Path, out: Path, as_of: str = "latest", dashboard: str | None = None
) -> ReportResult:
    """Render the dashboard definition in ``definitions`` over ``tables`` into ``out``."""
    loaded = load_definitions(definitions, dashboard)
    anchor = resolve_as_of(as_of, tables)
    page = build_page(loaded, tables, anchor)
    document = _TEMPLATE.format(
        css=(_ASSETS / "report.css").read_text(encoding="utf-8"),
        data=embed_json(page),
        js=(_ASSETS / "report.js").read_text(encoding="utf-8"),
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(document, encoding="utf-8")
    placeholders = [v["id"] for v in page["visuals"].values() if v["type"] == "placeholder"]
    return ReportResult(
        path=out,
        bytes=out.stat().st_size,
        sheets=len(page["sheets"]),
        visuals=len(page["visuals"]),
        placeholders=placeholders,
        warnings=page["warnings"],
        as_of=anchor,
    )
