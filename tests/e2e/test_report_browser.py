"""The demo report in a real browser: headless Chromium opens it offline, logs no console error, draws
every visual with data on every sheet, matches the tables on independent queries, and reacts to its
controls. Screenshots of each sheet are written for review into the pytest temporary folder.

Chromium is Debian's package, installed here when missing (as root). Where it cannot be installed the
test module is skipped with a loud reason; nothing else in the suite depends on it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Flags for a closed network and a shared CI machine (no sandbox as root, no GPU, no background traffic).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OPEN_BUDGET_SECONDS = 2.0


def ensure_chromium() -> Path:
    """The system Chromium, installed with apt-get when missing and we are root; otherwise skip loudly."""
    if CHROMIUM.exists():
        return CHROMIUM
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        reason = f"BROWSER TEST SKIPPED: {CHROMIUM} is missing and cannot be installed (needs root and apt-get)"
        warnings.warn(reason, stacklevel=1)
        pytest.skip(reason)
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=900, check=False)
        if done.returncode != 0:
            pytest.fail(f"installing Chromium failed: {' '.join(command)}: {done.stderr[-2000:]}")
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    executable = ensure_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),  # a fresh --user-data-dir
            executable_path=str(executable),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1600, "height": 1100},
            offline=True,
        )
        yield context
        context.close()


class Opened:
    """A report open in a tab, with its console errors and how long it took to become ready."""

    def __init__(self, browser: Any, report: Path) -> None:
        self.page = browser.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: None if r.url.startswith(("file:", "data:")) else self.errors.append(r.url))
        started = time.perf_counter()
        self.page.goto(report.as_uri())
        self.page.wait_for_function("window.__bcrReport && window.__bcrReport.ready")
        self.seconds = time.perf_counter() - started
        self.render_ms = self.page.evaluate("window.__bcrReport.renderMs")

    def show(self, sheet: str) -> None:
        self.page.click(f".tab[data-sheet='{sheet}']")

    def result(self, visual: str) -> dict[str, Any]:
        return self.page.evaluate(f"window.__bcrReport.results[{json.dumps(visual)}]")

    def cards(self, sheet: str) -> list[dict[str, str]]:
        return self.page.evaluate(
            f"Array.from(document.querySelectorAll('#sheet-{sheet} .card.visual'))"
            ".map(c => ({id: c.dataset.visual, state: c.dataset.state, points: Number(c.dataset.points)}))"
        )

    def sheets(self) -> list[str]:
        return self.page.evaluate("Array.from(document.querySelectorAll('.tab')).map(t => t.dataset.sheet)")


@pytest.fixture
def opened(browser: Any, demo_run) -> Iterator[Opened]:
    report = Opened(browser, demo_run.report)
    yield report
    report.page.close()


def query(tables: Path, sql: str) -> Any:
    """An independent answer straight from the Parquet tables ({t} stands for a table's files)."""
    for table in ("daily_costs", "invocations", "invocation_tags", "pipeline_runs", "rejected_records"):
        sql = sql.replace(
            "{" + table + "}",
            f"read_parquet('{tables}/{table}/**/*.parquet', hive_partitioning = true, hive_types_autocast = false)",
        )
    value = duckdb.execute(sql).fetchall()[0][0]
    return float(value) if value is not None and not isinstance(value, str) else value


def test_every_sheet_opens_fast_offline_without_errors_and_every_visual_has_data(
    opened: Opened, demo_run, tmp_path_factory: pytest.TempPathFactory
) -> None:
    shots = tmp_path_factory.mktemp("report-screenshots")
    assert opened.seconds < OPEN_BUDGET_SECONDS, f"opened in {opened.seconds:.2f}s"
    sheets = opened.sheets()
    assert len(sheets) == 5
    for sheet in sheets:
        opened.show(sheet)
        cards = opened.cards(sheet)
        assert cards, sheet
        for card in cards:
            assert card["state"] == "rendered" and card["points"] > 0, (sheet, card)
        opened.page.screenshot(path=str(shots / f"{sheet}.png"), full_page=True)
    assert opened.errors == []
    size = demo_run.report.stat().st_size
    print(f"\ndemo report: {size / 1024:.0f} KB, ready in {opened.seconds:.2f}s ({opened.render_ms:.0f} ms drawing)")
    print(f"screenshots: {shots}")


def test_kpis_and_chart_totals_equal_independent_queries(opened: Opened, demo_run) -> None:
    t = demo_run.tables
    last_day = query(t, "SELECT max(usage_date) FROM {daily_costs}")
    approx = lambda x: pytest.approx(x, rel=1e-9, abs=1e-9)  # noqa: E731

    assert opened.result("kpi-requests")["value"] == query(t, "SELECT sum(request_count) FROM {daily_costs}")
    spend = opened.result("kpi-spend")
    assert spend["value"] == approx(
        query(t, f"SELECT sum(total_cost) FROM {{daily_costs}} WHERE usage_date = '{last_day}'")
    )
    assert [p[1] for p in spend["series"]] == [
        approx(query(t, f"SELECT sum(total_cost) FROM {{daily_costs}} WHERE usage_date = '{day}'"))
        for day in sorted(p.name.split("=")[1] for p in (t / "daily_costs").iterdir())
    ]
    assert opened.result("kpi-cost-per-1k")["value"] == approx(
        query(t, "SELECT sum(total_cost) / sum(request_count) * 1000 FROM {daily_costs}")
    )
    assert opened.result("kpi-unpriced")["value"] == query(
        t, "SELECT sum(request_count) FROM {daily_costs} WHERE pricing_status NOT IN ('priced', 'not_billed')"
    )
    total_spend = query(t, "SELECT sum(total_cost) FROM {daily_costs}")
    by_model = opened.result("bar-spend-by-model")
    assert sum(by_model["totals"]) == approx(total_spend)
    # ItemsLimit 8 with OtherCategories INCLUDE, sorted by spend descending: the top 8, then "Other".
    assert len(by_model["categories"]) == 9 and by_model["categories"][-1] == "Other"
    assert by_model["values"][0][:8] == sorted(by_model["values"][0][:8], reverse=True)
    assert by_model["values"][0][0] == approx(
        query(t, "SELECT max(s) FROM (SELECT sum(total_cost) AS s FROM {daily_costs} GROUP BY model_id)")
    )
    forecast = opened.result("line-daily-spend")["forecast"]
    assert len(forecast) == 7 and min(forecast) >= 0  # PeriodsForward and LowerBoundary of the definition
    table = opened.result("table-top-applications")
    assert table["totals"][2] == approx(total_spend)

    opened.show("allocation")
    assert opened.result("pivot-tenant-model")["total"] == approx(total_spend)
    assert sum(opened.result("donut-environment")["totals"]) == approx(total_spend)
    assert sum(opened.result("bar-any-tag")["totals"]) == approx(
        query(t, "SELECT sum(total_cost) FROM {invocation_tags} WHERE tag_key = 'UseCase'")
    )

    opened.show("models")
    latency = opened.result("bar-latency")
    model = latency["categories"][0]
    assert latency["values"][0][0] == approx(
        query(t, f"SELECT avg(latency_ms) FROM {{invocations}} WHERE status = 'success' AND model_id = '{model}'")
    )
    assert opened.result("kpi-cache-hit")["value"] == approx(
        query(
            t,
            "SELECT sum(cache_read_tokens) / (sum(input_tokens) + sum(cache_read_tokens) + sum(cache_write_tokens)) "
            "FROM {daily_costs}",
        )
    )

    opened.show("people")
    assert opened.result("kpi-principals")["value"] == query(
        t, "SELECT count(DISTINCT principal_name) FROM {invocations} WHERE status = 'success'"
    )

    opened.show("health")
    assert opened.result("kpi-lines-read")["value"] == query(t, "SELECT sum(lines_read) FROM {pipeline_runs}")
    assert sum(opened.result("bar-rejected")["totals"]) == query(t, "SELECT count(*) FROM {rejected_records}")


def test_filter_controls_change_the_figures(opened: Opened, demo_run) -> None:
    t = demo_run.tables
    tenant = opened.page.locator("[data-control='overview-ctl-tenant']")
    tenant.locator("summary").click()
    tenant.get_by_label("Select all").uncheck()
    tenant.get_by_label("tenant-alpha", exact=True).check()
    # NullOption ALL_VALUES keeps requests without a tenant, as QuickSight does.
    expected = "SELECT sum(request_count) FROM {daily_costs} WHERE tenant = 'tenant-alpha' OR tenant IS NULL"
    assert opened.result("kpi-requests")["value"] == query(t, expected)

    dates = opened.page.locator("[data-control='overview-ctl-dates']")
    dates.locator("input.n").fill("1")
    dates.locator("input.n").dispatch_event("change")
    last_day = query(t, "SELECT max(usage_date) FROM {daily_costs}")
    expected += f" AND usage_date = '{last_day}'"
    expected = expected.replace(
        "WHERE tenant = 'tenant-alpha' OR tenant IS NULL", "WHERE (tenant = 'tenant-alpha' OR tenant IS NULL)"
    )
    assert opened.result("kpi-requests")["value"] == query(t, expected)
    assert opened.errors == []


def test_a_parameter_control_changes_the_any_tag_breakdown(opened: Opened, demo_run) -> None:
    opened.show("allocation")
    opened.page.locator("[data-control='allocation-ctl-tag-key'] select").select_option(label="feature")
    expected = query(demo_run.tables, "SELECT sum(total_cost) FROM {invocation_tags} WHERE tag_key = 'feature'")
    assert sum(opened.result("bar-any-tag")["totals"]) == pytest.approx(expected, rel=1e-9)
    assert opened.errors == []


def test_a_placeholder_is_drawn_and_labelled(browser: Any, demo_run, definitions_fixture: Path, tmp_path: Path) -> None:
    from bcr.cli import main

    folder = tmp_path / "definitions"
    shutil.copytree(definitions_fixture, folder)
    dashboard = folder / "dashboards" / "bedrock_costs.json"
    body = json.loads(dashboard.read_text())
    body["Definition"]["Sheets"][4]["Visuals"].append({"WordCloudVisual": {"VisualId": "cloud"}})
    dashboard.write_text(json.dumps(body))
    out = tmp_path / "report.html"
    assert main(["report", "--tables", str(demo_run.tables), "--definitions", str(folder), "--out", str(out)]) == 0
    report = Opened(browser, out)
    report.show("health")
    card = report.page.locator("[data-visual='cloud']")
    assert card.get_attribute("data-state") == "placeholder"
    assert "WordCloudVisual" in card.inner_text()
    assert report.errors == []
    report.page.close()


def test_the_committed_dashboard_definition_renders_on_the_demo_tables(browser: Any, demo_run, tmp_path: Path) -> None:
    """Once quicksight_definitions/ holds the real dashboard, it is held to the same bar as the fixture."""
    from bcr.cli import main

    committed = Path(__file__).parents[2] / "quicksight_definitions"
    if not committed.is_dir() or not any(committed.rglob("*.json")):
        pytest.skip("no committed quicksight_definitions/ yet")
    out = tmp_path / "report.html"
    assert main(["report", "--tables", str(demo_run.tables), "--definitions", str(committed), "--out", str(out)]) == 0
    report = Opened(browser, out)
    for sheet in report.sheets():
        report.show(sheet)
        for card in report.cards(sheet):
            assert card["state"] in {"rendered", "placeholder"}, (sheet, card)
    assert report.errors == []
    report.page.close()
