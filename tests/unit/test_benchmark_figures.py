"""The benchmark's arithmetic: a run's ratio to its floor is the median of the ratios of pairs measured back to
back, not the ratio of the two medians (which may come from different minutes of a machine whose speed moves).
"""

from __future__ import annotations

import runpy
from pathlib import Path

BENCHMARK = runpy.run_path(str(Path(__file__).parents[2] / "scripts" / "benchmark.py"))
against_floor = BENCHMARK["against_floor"]


def test_the_ratio_is_the_median_of_the_pairs_ratios_and_the_run_shown_is_one_that_happened() -> None:
    # Ratios 5.0, 1.5 and 1.5: median 1.5. The medians of each side (20 s and 50 s) would say 2.5.
    pairs = [(10.0, (50.0, "run a")), (20.0, (30.0, "run b")), (40.0, (60.0, "run c"))]

    floor_text, run_text, run_s, output = against_floor(pairs, "idle floor")

    assert floor_text == "  20.0 s (median of 3, range 10.0–40.0 s)"
    assert run_text == (
        "  50.0 s (median of 3, range 30.0–60.0 s)  1.50x the idle floor (median of 3, range 1.50–5.00 x)"
    )
    assert (run_s, output) == (50.0, "run a")


def test_one_pair_has_no_range() -> None:
    floor_text, run_text, run_s, output = against_floor([(25.0, (80.0, "only run"))], "floor")

    assert floor_text == "  25.0 s"
    assert run_text == "  80.0 s  3.20x the floor"
    assert (run_s, output) == (80.0, "only run")
