"""The demo reports in a real browser: headless Chromium opens them offline, logs no console error, draws
every visual with data on every sheet, matches the tables on independent queries, and reacts to its
controls. Both the committed dashboard (quicksight_definitions/, what `bcr demo` writes) and the fixture
dashboard (visual types and options the committed one does not use) are held to this. Screenshots of each
sheet are written for review into the pytest temporary folder.

Chromium is Debian's package, installed here when missing (as root). Where it cannot be installed the
test module is skipped with a loud reason; nothing else in the suite depends on it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import warnings
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from bedrock_costs.storage import TABLES

CHROMIUM = Path("/usr/bin/chromium")
# Flags for a closed network and a shared CI machine (no sandbox as root, no GPU, no background traffic,
# no reliance on a container's small /dev/shm).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
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
    """The committed dashboard, as `bcr demo` rendered it."""
    report = Opened(browser, demo_run.report)
    yield report
    report.page.close()


@pytest.fixture
def opened_fixture(browser: Any, demo_run) -> Iterator[Opened]:
    report = Opened(browser, demo_run.fixture_report)
    yield report
    report.page.close()


def as_of(report: Path) -> datetime:
    """What now() stood for in the report (the anchor `bcr report --as-of latest` chose)."""
    found = re.search(r'"asOf":"([^"]+)"', report.read_text(encoding="utf-8"))
    assert found, "the page description names its anchor"
    return datetime.fromisoformat(found.group(1))


def parquet(tables: Path, table: str) -> str:
    return f"read_parquet('{tables}/{table}/**/*.parquet', hive_partitioning = true, hive_types_autocast = false)"


def query(tables: Path, sql: str) -> Any:
    """An independent answer straight from the Parquet tables ({t} stands for a table's files)."""
    for table in TABLES:
        sql = sql.replace("{" + table + "}", parquet(tables, table))
    value = duckdb.execute(sql).fetchall()[0][0]
    return float(value) if isinstance(value, int | Decimal) else value


@pytest.mark.parametrize("which", ["report", "fixture_report"], ids=["committed", "fixture"])
def test_every_sheet_opens_fast_offline_without_errors_and_every_visual_has_data(
    browser: Any, demo_run, tmp_path_factory: pytest.TempPathFactory, which: str
) -> None:
    path = getattr(demo_run, which)
    opened = Opened(browser, path)
    shots = tmp_path_factory.mktemp(f"{which}-screenshots")
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
    opened.page.close()
    size = path.stat().st_size
    print(f"\n{which}: {size / 1024:.0f} KB, ready in {opened.seconds:.2f}s ({opened.render_ms:.0f} ms drawing)")
    print(f"screenshots: {shots}")


def assert_run_health(opened: Opened, t: Path, now: datetime, start, end) -> None:
    """The Data health figures of pipeline_runs: sums and recency over published (succeeded) runs only, a
    failed run's staged counts never added in; failed runs counted on their own."""
    runs = f"run_date BETWEEN '{start}' AND '{end}'"
    published = f"{runs} AND status = 'succeeded'"
    rejected = opened.result("health-rejected-lines")["value"]
    assert rejected == query(t, f"SELECT sum(rejected_lines) FROM {{pipeline_runs}} WHERE {published}") and rejected > 0
    assert opened.result("health-failed-runs")["value"] == query(
        t, f"SELECT count(*) FROM {{pipeline_runs}} WHERE {runs} AND status <> 'succeeded'"
    )
    lines = opened.result("health-lines-by-day")
    assert sum(lines["values"][0]) == query(t, f"SELECT sum(lines_read) FROM {{pipeline_runs}} WHERE {published}")
    last_run = query(t, "SELECT max(finished_at) FROM {pipeline_runs} WHERE status = 'succeeded'")
    assert opened.result("health-hours-since-run")["value"] == (now - last_run) // timedelta(hours=1)


def test_the_committed_dashboard_figures_equal_independent_queries(opened: Opened, demo_run) -> None:
    """Issue 10's acceptance on the committed definition: KPIs and chart totals equal sums over the tables,
    within the default period (the 30 days up to the anchor, parameters PeriodStart and PeriodEnd)."""
    t = demo_run.tables
    now = as_of(demo_run.report)
    end, start = now.date(), now.date() - timedelta(days=29)
    period = f"usage_date BETWEEN '{start}' AND '{end}'"
    approx = lambda x: pytest.approx(x, rel=1e-9, abs=1e-9)  # noqa: E731
    days = query(t, f"SELECT count(DISTINCT usage_date) FROM {{daily_costs}} WHERE {period}")
    assert days == 3, "the demo's days are all in the default period, so every figure below is non-trivial"

    spend = query(t, f"SELECT sum(total_cost) FROM {{daily_costs}} WHERE {period}")
    assert opened.result("overview-spend")["value"] == approx(spend)
    for visual, column in (
        ("overview-requests", "request_count"),
        ("overview-tokens", "total_tokens"),
        ("overview-cache-savings", "cache_savings"),
    ):
        assert opened.result(visual)["value"] == approx(
            query(t, f"SELECT sum({column}) FROM {{daily_costs}} WHERE {period}")
        )
    assert opened.result("overview-cost-per-1k")["value"] == approx(
        query(
            t,
            "SELECT sum(total_cost) / sum(request_count) FILTER (total_cost IS NOT NULL) * 1000 "
            f"FROM {{daily_costs}} WHERE {period}",
        )
    )
    unpriced = opened.result("overview-unpriced")["value"]
    assert unpriced == query(t, f"SELECT sum(request_count) FROM {{daily_costs}} WHERE total_cost IS NULL AND {period}")
    assert unpriced > 0  # the demo holds unpriced requests on purpose: never counted as $0
    assert sum(opened.result("overview-spend-by-model")["totals"]) == approx(spend)
    daily = opened.result("overview-daily-spend")
    assert daily["totals"] == [approx(spend)]
    assert (
        len(daily["forecast"]) == 14 and min(daily["forecast"]) >= 0
    )  # PeriodsForward, LowerBoundary: no negative spend

    opened.show("allocation")
    assert opened.result("allocation-tenant-model")["total"] == approx(spend)
    assert sum(opened.result("allocation-by-team")["totals"]) == approx(spend)
    tag_key = "TenantID"  # the TagKey parameter's default
    assert sum(opened.result("allocation-by-tag-value")["totals"]) == approx(
        query(t, f"SELECT sum(total_cost) FROM {{invocation_tags}} WHERE tag_key = '{tag_key}' AND {period}")
    )

    opened.show("models")
    assert opened.result("models-cache-hit-ratio")["value"] == approx(
        query(
            t,
            "SELECT sum(cache_read_tokens) / (sum(coalesce(input_tokens, 0) + coalesce(cache_read_tokens, 0) "
            f"+ coalesce(cache_write_tokens, 0))) FROM {{daily_costs}} WHERE {period}",
        )
    )
    latency = opened.result("models-latency")
    assert latency["columns"] == [
        "model_id",
        "request_id (Count)",
        "latency_ms (P50)",
        "latency_ms (P90)",
        "latency_ms (Max)",
    ]
    expected = {
        row[0]: row[1:]
        for row in duckdb.execute(
            "SELECT model_id, count(request_id), quantile_cont(latency_ms, 0.5), quantile_cont(latency_ms, 0.9), "
            f"max(latency_ms) FROM {parquet(t, 'invocations')} WHERE {period} GROUP BY model_id"
        ).fetchall()
    }
    shown = {row[0]: row[1:5] for row in latency["rows"]}
    assert set(shown) == set(expected) and any(row[1] is not None for row in shown.values())
    for model, (requests, p50, p90, slowest) in shown.items():
        assert (requests, p50, p90, slowest) == (
            expected[model][0],
            approx(expected[model][1]) if expected[model][1] is not None else None,
            approx(expected[model][2]) if expected[model][2] is not None else None,
            expected[model][3],
        ), model

    opened.show("people")
    assert sum(opened.result("people-by-type")["totals"]) == approx(spend)

    opened.show("data-health")
    assert_run_health(opened, t, now, start, end)
    assert sum(opened.result("health-rejected-by-reason")["totals"]) == query(
        t, f"SELECT count(*) FROM {{rejected_records}} WHERE delivery_date BETWEEN '{start}' AND '{end}'"
    )
    latest_usage = query(t, "SELECT max(usage_date) FROM {daily_costs}")
    assert opened.result("health-days-since-usage")["value"] == (end - datetime.fromisoformat(latest_usage).date()).days
    assert opened.errors == []


def test_the_fixture_dashboard_figures_equal_independent_queries(opened_fixture: Opened, demo_run) -> None:
    opened = opened_fixture
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


def test_filter_controls_change_the_figures(opened_fixture: Opened, demo_run) -> None:
    opened = opened_fixture
    t = demo_run.tables
    tenant = opened.page.locator("[data-control='overview-ctl-tenant']")
    tenant.locator("summary").click()
    tenant.get_by_label("Select all").uncheck()
    tenant.get_by_label("tenant-alpha", exact=True).check()
    # NullOption ALL_VALUES keeps requests without a tenant, as QuickSight does.
    expected = "SELECT sum(request_count) FROM {daily_costs} WHERE tenant = 'tenant-alpha' OR tenant IS NULL"
    assert opened.result("kpi-requests")["value"] == query(t, expected)

    tenant_only = opened.result("kpi-requests")["value"]

    # Relative dates: the last 2 days up to the anchor (the last run's day), so the last usage day only.
    dates = opened.page.locator("[data-control='overview-ctl-dates']")
    dates.locator("input.n").fill("2")
    dates.locator("input.n").dispatch_event("change")
    anchor_day = as_of(demo_run.fixture_report).date()
    expected = expected.replace(
        "WHERE tenant = 'tenant-alpha' OR tenant IS NULL", "WHERE (tenant = 'tenant-alpha' OR tenant IS NULL)"
    )
    expected += f" AND usage_date BETWEEN '{anchor_day - timedelta(days=1)}' AND '{anchor_day}'"
    last_days = opened.result("kpi-requests")["value"]
    assert last_days == query(t, expected) and 0 < last_days < tenant_only
    assert opened.errors == []


def test_a_parameter_control_changes_the_any_tag_breakdown(opened_fixture: Opened, demo_run) -> None:
    opened = opened_fixture
    opened.show("allocation")
    opened.page.locator("[data-control='allocation-ctl-tag-key'] select").select_option(label="feature")
    expected = query(demo_run.tables, "SELECT sum(total_cost) FROM {invocation_tags} WHERE tag_key = 'feature'")
    assert sum(opened.result("bar-any-tag")["totals"]) == pytest.approx(expected, rel=1e-9)
    assert opened.errors == []


def test_a_placeholder_is_drawn_and_labelled(browser: Any, demo_run, definitions_fixture: Path, tmp_path: Path) -> None:
    from bcr.cli import main

    folder = tmp_path / "definitions"
    shutil.copytree(definitions_fixture, folder)
    dashboard = folder / "dashboard.json"
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


def test_a_failed_run_is_counted_as_failed_and_left_out_of_the_run_sums(
    browser: Any, demo_run, tmp_path: Path, spark
) -> None:
    """A failed run's row (its counts were staged, never published) added to the demo's pipeline_runs, five
    hours after the last successful run: Data health counts it as failed, lists it with its error, and keeps
    its lines out of the sums and the recency."""
    from pyspark.sql import functions as F

    from bcr.cli import main
    from bedrock_costs.schemas import PIPELINE_RUNS

    tables = tmp_path / "tables"
    shutil.copytree(demo_run.tables, tables)
    runs = spark.read.schema(PIPELINE_RUNS).parquet(str(demo_run.tables / "pipeline_runs"))
    last = runs.orderBy(F.desc("finished_at")).first()
    failed_at = last.finished_at + timedelta(hours=5)
    failed = runs.where(F.col("run_id") == last.run_id).withColumns(
        {
            "run_id": F.lit("20991231T000000Z-failed00"),
            "status": F.lit("failed"),
            "error": F.lit("part-0.parquet is not a Parquet file"),
            "reconciled": F.lit(False),
            "started_at": F.lit(failed_at - timedelta(minutes=2)).cast("timestamp"),
            "finished_at": F.lit(failed_at).cast("timestamp"),
            "lines_read": F.lit(100_000).cast("long"),
            "rejected_lines": F.lit(50_000).cast("long"),
        }
    )
    failed.write.mode("append").partitionBy("run_date").parquet(str(tables / "pipeline_runs"))
    out = tmp_path / "report.html"
    assert main(["report", "--tables", str(tables), "--out", str(out)]) == 0
    report = Opened(browser, out)
    report.show("data-health")
    now = as_of(out)
    assert now >= failed_at.replace(tzinfo=now.tzinfo)  # the anchor is the newest moment: the failed run
    end, start = now.date(), now.date() - timedelta(days=29)
    assert_run_health(report, tables, now, start, end)
    assert report.result("health-failed-runs")["value"] == 1
    assert report.result("health-hours-since-run")["value"] >= 5
    listed = report.result("health-runs")
    shown = [row for row in listed["rows"] if "20991231T000000Z-failed00" in row]
    assert len(shown) == 1 and "failed" in shown[0] and "part-0.parquet is not a Parquet file" in shown[0]
    assert report.errors == []
    report.page.close()
