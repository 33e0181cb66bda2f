"""Write the preview: one self-contained HTML file (page description, script and styles inlined)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bcr.preview.datasets import EARLIEST, build_views, connect, newest_moment
from bcr.preview.definitions import load_dashboard
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


def resolve_as_of(as_of: str, newest: Callable[[], datetime | None]) -> datetime:
    """The moment ``now()`` stands for (naive UTC).

    ``latest`` (the default): the newest date or time in any dataset the dashboard reads, which for tables
    written by ``bcr etl`` is the end of the last run, as if the dashboard were opened right after the job
    wrote them: relative dates then cover the runs as well as the usage they recorded, and tables written
    some time ago still show the days up to their last run. ``now``: the clock, as QuickSight does. Or an
    ISO date or time.
    """
    if as_of == "latest":
        moment = newest()
        if moment is not None:
            return moment.replace(microsecond=0) + timedelta(seconds=1 if moment.microsecond else 0)
    if as_of in ("now", "latest"):
        return datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    parsed = datetime.fromisoformat(as_of)
    if len(as_of) == 10:
        parsed = parsed.replace(hour=23, minute=59, second=59)
    return parsed.replace(tzinfo=None)


def write_report(tables: Path, definitions: Path, out: Path, as_of: str = "latest") -> ReportResult:
    """Render the dashboard definition in ``definitions`` over ``tables`` into ``out``."""
    dashboard = load_dashboard(definitions)
    con, found = connect(tables)
    try:
        # The probe evaluates the datasets with now() at the earliest time, so nothing derived from now()
        # can pass for the newest moment in the data.
        anchor = resolve_as_of(as_of, lambda: newest_moment(con, build_views(con, found, dashboard.datasets, EARLIEST)))
        page = build_page(dashboard, con, found, anchor)
    finally:
        con.close()
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
