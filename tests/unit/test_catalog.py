"""The catalog grammar: parsing, every check with its line number, and the lookup the ETL relies on."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bedrock_costs.catalog import (
    COLUMNS,
    TOKEN_RATES,
    CatalogError,
    check_catalog,
    find_price,
    format_catalog,
    load_catalog,
    parse_catalog,
    read_catalog,
)

BASE = {
    "model_id": "anthropic.claude-sonnet-4-5-20250929-v1:0",
    "region": "us-east-1",
    "scope": "geo",
    "service_tier": "standard",
    "prompt_tokens_above": "0",
    "usd_per_1m_input": "3.3",
    "usd_per_1m_output": "16.5",
    "usd_per_1m_cache_read": "0.33",
    "usd_per_1m_cache_write_5m": "4.125",
    "usd_per_1m_cache_write_1h": "6.6",
    "unit": "token",
    "usd_per_unit": "",
    "effective_from": "2025-09-29",
    "effective_to": "",
    "source": "test",
}


NO_TOKEN_RATES = dict.fromkeys(TOKEN_RATES, "")


def line(**changes: str) -> str:
    return ",".join({**BASE, **changes}[column] for column in COLUMNS)


def csv_text(*lines: str) -> str:
    return "\n".join([",".join(COLUMNS), *lines]) + "\n"


def problems_of(*lines: str) -> list[str]:
    return check_catalog(parse_catalog(csv_text(*lines)))


def test_parse_reads_types_and_line_numbers() -> None:
    (row,) = parse_catalog(csv_text(line(usd_per_1m_cache_write_1h="", effective_to="2026-01-01")))
    assert row.row_number == 2
    assert row.usd_per_1m_input == Decimal("3.3")
    assert row.usd_per_1m_cache_write_1h is None
    assert row.prompt_tokens_above == 0
    assert (row.effective_from, row.effective_to) == (date(2025, 9, 29), date(2026, 1, 1))
    assert row.price_key == "anthropic.claude-sonnet-4-5-20250929-v1:0|us-east-1|geo|standard|0|2025-09-29"


def test_parse_rejects_a_wrong_header() -> None:
    with pytest.raises(CatalogError) as error:
        parse_catalog("model_id,region\n" + line())
    assert error.value.problems == [f"line 1: header must be exactly {','.join(COLUMNS)}"]


def test_parse_lists_every_malformed_line() -> None:
    text = csv_text(
        line(),
        line(usd_per_1m_input="3e-6"),
        line(effective_from="2025-13-01"),
        "anthropic.x,us-east-1,geo",
        line(prompt_tokens_above="200k", effective_to="soon"),
    )
    with pytest.raises(CatalogError) as error:
        parse_catalog(text, origin="prices.csv")
    problems = error.value.problems
    assert [p.split(":")[0] for p in problems] == ["line 3", "line 4", "line 5", "line 6", "line 6"]
    assert "bad decimal '3e-6'" in problems[0]
    assert "effective_from" in problems[1]
    assert "expected 15 columns, found 3" in problems[2]
    assert "prices.csv: 5 problem(s)" in str(error.value)


def test_load_and_format_round_trip(tmp_path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text(csv_text(line(), line(scope="global", usd_per_1m_input="3.00")), encoding="utf-8")
    rows = load_catalog(path)
    assert format_catalog(rows) == path.read_text(encoding="utf-8")
    assert parse_catalog(format_catalog(rows)) == rows


def test_read_catalog_applies_every_check_and_says_where_in_one_line() -> None:
    text = csv_text(line(), line(region="us-west-2", usd_per_1m_input="-3", usd_per_1m_output="5000"))
    with pytest.raises(CatalogError) as error:
        read_catalog(text.encode(), origin="prices.csv")
    assert error.value.problems == [
        "line 3: usd_per_1m_input is negative (-3)",
        "line 3: usd_per_1m_output 5000 is implausible (above 1000; per 1K or per token?)",
        "line 3: implausible: cache read 0.33 above input -3",
    ]
    assert str(error.value) == "prices.csv: 3 problem(s), the first line 3: usd_per_1m_input is negative (-3)"
    overlapping = csv_text(line(), line(effective_from="2025-10-01"))
    with pytest.raises(CatalogError, match=r"^prices.csv: line 3: period from 2025-10-01 overlaps line 2"):
        read_catalog(overlapping.encode(), origin="prices.csv")


def test_read_catalog_wants_utf8_and_accepts_a_spreadsheet_bom() -> None:
    text = csv_text(line(), line(region="us-west-2"))
    assert read_catalog(b"\xef\xbb\xbf" + text.encode()) == parse_catalog(text)
    latin1 = text.replace("test", "caf\u00e9", 2).encode("latin-1")
    with pytest.raises(CatalogError) as error:
        read_catalog(latin1, origin="prices.csv")
    assert error.value.problems == ["line 2: not UTF-8 text (byte 0xe9); save the file as UTF-8"]


def test_a_clean_catalog_has_no_problems() -> None:
    embedding = line(
        model_id="amazon.titan-embed-text-v2:0",
        scope="in_region",
        usd_per_1m_input="0.02",
        usd_per_1m_output="0",
        usd_per_1m_cache_read="",
        usd_per_1m_cache_write_5m="",
        usd_per_1m_cache_write_1h="",
    )
    history = [
        line(region="*", effective_to="2026-01-01"),
        line(region="*", effective_from="2026-01-01", usd_per_1m_output="17"),
        line(region="*", prompt_tokens_above="200000", usd_per_1m_input="6.6", usd_per_1m_output="24.75"),
    ]
    image = line(model_id="stability.stable-image-core-v1:1", unit="image", usd_per_unit="0.04", **NO_TOKEN_RATES)
    assert problems_of(embedding, *history, image) == []


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (line(usd_per_1m_output="-1"), "usd_per_1m_output is negative"),
        (line(usd_per_1m_output="1500"), "usd_per_1m_output 1500 is implausible"),
        (line(usd_per_1m_output="0.01"), "more than 100x cheaper than input"),
        (line(usd_per_1m_cache_read="4"), "cache read 4 above input 3.3"),
        (line(usd_per_1m_cache_write_1h="4"), "1h cache write 4 below 5m cache write 4.125"),
        (line(scope="regional"), "unknown scope 'regional'"),
        (line(service_tier="reserved"), "unknown service_tier 'reserved'"),
        (line(unit="second"), "unknown unit 'second'"),
        (line(region="us-east"), "unknown region 'us-east'"),
        (line(model_id="us.anthropic.claude-sonnet-4-5-20250929-v1:0"), "must be a base model id"),
        (line(usd_per_1m_input=""), "a token row needs usd_per_1m_input"),
        (line(usd_per_unit="0.04"), "a token row takes no usd_per_unit"),
        (line(unit="image", **NO_TOKEN_RATES), "image rows need usd_per_unit"),
        (line(unit="request", usd_per_unit="0.002"), "request rows take no token rates"),
        (line(effective_to="2025-09-29"), "effective_to 2025-09-29 is not after effective_from 2025-09-29"),
        (line(source=" "), "source is empty"),
    ],
)
def test_row_problems_name_their_line(bad: str, message: str) -> None:
    problems = problems_of(line(region="*"), bad)
    assert len(problems) == 1
    assert problems[0].startswith("line 3: ")
    assert message in problems[0]


def test_overlapping_periods() -> None:
    (problem,) = problems_of(line(effective_to="2026-02-01"), line(effective_from="2026-01-01"))
    assert problem == "line 3: period from 2026-01-01 overlaps line 2 (until 2026-02-01)"


def test_an_open_period_before_another_overlaps() -> None:
    (problem,) = problems_of(line(), line(effective_from="2026-01-01"))
    assert problem == "line 3: period from 2026-01-01 overlaps line 2 (until open)"


def test_gaps_between_periods() -> None:
    (problem,) = problems_of(line(effective_to="2026-01-01"), line(effective_from="2026-02-01"))
    assert problem == "line 3: gap from 2026-01-01 to 2026-02-01 after line 2"


def test_duplicate_keys() -> None:
    (problem,) = problems_of(line(), line())
    assert problem.startswith("line 3: duplicate key anthropic.claude-sonnet-4-5-20250929-v1:0|us-east-1|geo|")
    assert problem.endswith("(also line 2)")


def test_rows_out_of_order() -> None:
    (problem,) = problems_of(line(region="us-west-2"), line(region="us-east-1"))
    assert problem.startswith("line 3: out of order")


def test_a_region_must_carry_the_long_context_rows_of_its_fallback() -> None:
    problems = problems_of(
        line(region="*"),
        line(region="*", prompt_tokens_above="200000", usd_per_1m_input="6.6"),
        line(region="eu-west-1"),
        line(region="us-east-1", prompt_tokens_above="200000", usd_per_1m_input="6.6"),
    )
    assert problems == [
        "line 4: anthropic.claude-sonnet-4-5-20250929-v1:0 eu-west-1 geo standard lacks the "
        "prompt_tokens_above 200000 row that '*' has",
        "line 5: anthropic.claude-sonnet-4-5-20250929-v1:0 us-east-1 geo standard has no base row (threshold 0)",
    ]


ROWS = parse_catalog(
    csv_text(
        line(region="*", usd_per_1m_input="3.3"),
        line(region="*", prompt_tokens_above="200000", usd_per_1m_input="6.6"),
        line(region="*", scope="global", usd_per_1m_input="3"),
        line(region="eu-west-1", usd_per_1m_input="3.5", effective_to="2026-01-01"),
        line(region="eu-west-1", usd_per_1m_input="3.6", effective_from="2026-01-01"),
        line(region="eu-west-1", prompt_tokens_above="200000", usd_per_1m_input="7"),
    )
)


def price(region: str = "us-east-1", scope: str = "geo", tier: str = "standard", **kwargs: object) -> Decimal | None:
    kwargs.setdefault("on", date(2025, 12, 1))
    row = find_price(ROWS, model_id=BASE["model_id"], region=region, scope=scope, service_tier=tier, **kwargs)
    return row.usd_per_1m_input if row else None


def test_lookup_falls_back_to_star_only_without_own_rows() -> None:
    assert price("us-east-1") == Decimal("3.3")
    assert price("eu-west-1") == Decimal("3.5")


def test_lookup_honours_the_event_date_with_exclusive_end() -> None:
    assert price("eu-west-1", on=date(2025, 12, 31)) == Decimal("3.5")
    assert price("eu-west-1", on=date(2026, 1, 1)) == Decimal("3.6")
    assert price("eu-west-1", on=date(2025, 1, 1)) is None


def test_lookup_has_no_fallback_across_scope_or_tier() -> None:
    assert price(scope="global") == Decimal(3)
    assert price(scope="in_region") is None
    assert price(tier="batch") is None
    assert find_price(ROWS, model_id="acme.unlisted-model-v1:0", region="*", scope="geo", service_tier="standard",
                      on=date(2026, 1, 1)) is None  # fmt: skip


def test_long_context_prices_the_whole_request_above_the_threshold() -> None:
    assert price(prompt_tokens=200_000) == Decimal("3.3")
    assert price(prompt_tokens=200_001) == Decimal("6.6")
    assert price("eu-west-1", prompt_tokens=500_000) == Decimal(7)
