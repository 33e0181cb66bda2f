"""The rulesets in template.yaml agree with the code: they parse, they name the code's enum values and
table columns, their thresholds are parameters, and the template is valid CloudFormation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bedrock_costs import storage
from bedrock_costs.models import INFERENCE_SCOPES
from bedrock_costs.parse import OPERATIONS, REQUEST_STATUSES
from bedrock_costs.pricing import PRICING_STATUSES
from bedrock_costs.quality.dqdl import Composite, Rule, Text, parse
from bedrock_costs.quality.evaluate import HANDLERS
from bedrock_costs.quality.gate import RUN_HISTORY_DATES
from bedrock_costs.quality.rulesets import DEFAULT_TEMPLATE, TemplateError, load_rulesets, load_template
from bedrock_costs.quality.tables import PRICING
from bedrock_costs.schemas import TABLE_SCHEMAS

DEFINITIONS = load_rulesets()
ENUMS = {
    "operation": OPERATIONS,
    "status": REQUEST_STATUSES,
    "inference_scope": INFERENCE_SCOPES,
    "pricing_status": tuple(PRICING_STATUSES),
}


def _rules(rules) -> list[Rule]:
    flat: list[Rule] = []
    for rule in rules:
        flat.extend(_rules(rule.rules) if isinstance(rule, Composite) else [rule])
    return flat


def test_there_is_a_ruleset_for_each_checked_table_and_every_rule_parses() -> None:
    assert [d.name for d in DEFINITIONS] == ["invocations", "daily_costs", "pipeline_runs"]
    for definition in DEFINITIONS:
        assert definition.table in storage.TABLES
        assert parse(definition.dqdl).rules, definition.name


def test_every_rule_type_used_is_one_the_local_evaluator_supports() -> None:
    used = {rule.rule_type for d in DEFINITIONS for rule in _rules(parse(d.dqdl).rules)}
    assert used <= set(HANDLERS)


@pytest.mark.parametrize("column", sorted(ENUMS))
def test_allowed_value_lists_equal_the_codes_enums(column: str) -> None:
    lists = [
        rule.condition.operands
        for d in DEFINITIONS
        for rule in _rules(parse(d.dqdl).rules)
        if rule.rule_type == "ColumnValues" and rule.parameters == (column,) and rule.condition.operator == "in"
    ]
    assert lists, f"no ColumnValues rule lists the values of {column}"
    for operands in lists:
        assert all(isinstance(op, Text) for op in operands)
        assert tuple(op.value for op in operands) == ENUMS[column]


def test_rules_name_only_columns_of_their_table_and_aliases_that_exist() -> None:
    aliases = {*TABLE_SCHEMAS, PRICING}
    for definition in DEFINITIONS:
        columns = set(TABLE_SCHEMAS[definition.table].fieldNames())
        for rule in _rules(parse(definition.dqdl).rules):
            if rule.rule_type == "CustomSql":
                tables = re.findall(r"\b(?:from|join)\s+([a-z_]+)", rule.parameters[0])
                assert set(tables) <= aliases | {"primary"}, rule.text
            elif rule.rule_type == "ReferentialIntegrity":
                assert rule.parameters[1].split(".")[0] in aliases
                assert set(rule.parameters[0].split(",")) <= columns
            else:
                assert set(rule.parameters) <= columns, rule.text


def test_thresholds_are_template_parameters_and_overrides_reach_the_rules() -> None:
    template = load_template()
    raw = "\n".join(
        str(r["Properties"]["Ruleset"])
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Glue::DataQualityRuleset"
    )
    thresholds = set(re.findall(r"\$\{(Dq\w+)\}", raw))
    # Every Dq* parameter but the policy (which the job reads, not a rule) is a threshold of some rule.
    assert thresholds == {name for name in template["Parameters"] if name.startswith("Dq")} - {"DqPolicy"}
    tuned = {d.name: d.dqdl for d in load_rulesets(overrides={"DqMinPricedRequestShare": "0.5"})}
    assert "with threshold >= 0.5" in tuned["invocations"]
    with pytest.raises(TemplateError, match="at most 1"):
        load_rulesets(overrides={"DqMinPricedRequestShare": "1.5"})
    with pytest.raises(TemplateError, match="unknown parameter 'DqNope'"):
        load_rulesets(overrides={"DqNope": "1"})


def test_template_is_valid_cloudformation() -> None:
    from cfnlint.api import lint_file

    assert [str(match) for match in lint_file(Path(DEFAULT_TEMPLATE))] == []


def test_the_gate_reads_enough_run_history_for_the_largest_row_count_comparison() -> None:
    """Each run date holds at least one run: the gate's window holds the run and the most previous runs the
    row-count rule may be set to compare it with."""
    allowed = load_template()["Parameters"]["DqRowCountHistoryRuns"]["MaxValue"]
    assert allowed + 1 <= RUN_HISTORY_DATES
