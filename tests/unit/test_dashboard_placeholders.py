"""Placeholders: resolved the way CloudFormation resolves them, and written back by export without loss."""

from __future__ import annotations

import pytest
from quicksight_helpers import ENV

from bcr.quicksight.placeholders import PlaceholderError, environment_leaks, resolve, to_placeholders

VALUES = ENV.values()


def test_ref_and_sub_resolve_like_cloudformation() -> None:
    document = {
        "Schema": {"Ref": "DatabaseName"},
        "Arn": {
            "Fn::Sub": "arn:${AWS::Partition}:quicksight:${AWS::Region}:${AWS::AccountId}:dataset/${AWS::StackName}-x"
        },
        "Literal": {"Fn::Sub": "cost ${!NotAPlaceholder}"},
        "Expression": "ifelse({d} >= ${PeriodStart}, 1, 0)",  # a QuickSight parameter in a plain string stays
    }
    assert resolve(document, VALUES) == {
        "Schema": "costs_prod",
        "Arn": "arn:aws:quicksight:eu-west-1:444455556666:dataset/costs-prod-x",
        "Literal": "cost ${NotAPlaceholder}",
        "Expression": "ifelse({d} >= ${PeriodStart}, 1, 0)",
    }


def test_unknown_placeholders_and_other_intrinsics_are_named_by_path() -> None:
    with pytest.raises(PlaceholderError, match=r"^Sheets\[0\]\.Name: unknown placeholder 'Tenant' \(known: "):
        resolve({"Sheets": [{"Name": {"Fn::Sub": "${Tenant}"}}]}, VALUES)
    with pytest.raises(PlaceholderError, match="DataSourceArn: Fn::GetAtt is not a placeholder; use Ref or Fn::Sub"):
        resolve({"DataSourceArn": {"Fn::GetAtt": ["QuickSightDataSource", "Arn"]}}, VALUES)


def test_export_turns_the_accounts_values_back_into_placeholders() -> None:
    described = {
        "DataSetId": "costs-prod-daily-costs",
        "Name": "costs-prod · daily costs",
        "PhysicalTableMap": {
            "t": {
                "RelationalTable": {
                    "DataSourceArn": "arn:aws:quicksight:eu-west-1:444455556666:datasource/costs-prod-athena",
                    "Schema": "costs_prod",
                    "Name": "costs_prod",  # a table that happens to be named like the database stays a table
                }
            }
        },
        "ThemeArn": "arn:aws:quicksight::aws:theme/MIDNIGHT",
        "Other": "arn:aws:quicksight:eu-west-1:999999999999:dataset/costs-production-x",
    }
    abstracted = to_placeholders(described, ENV)
    assert abstracted["DataSetId"] == {"Fn::Sub": "${AWS::StackName}-daily-costs"}
    assert abstracted["Name"] == {"Fn::Sub": "${AWS::StackName} · daily costs"}
    table = abstracted["PhysicalTableMap"]["t"]["RelationalTable"]
    assert table["Schema"] == {"Ref": "DatabaseName"} and table["Name"] == "costs_prod"
    quicksight = "arn:${AWS::Partition}:quicksight:${AWS::Region}"
    assert table["DataSourceArn"] == {
        "Fn::Sub": f"{quicksight}:${{AWS::AccountId}}:datasource/${{AWS::StackName}}-athena"
    }
    assert abstracted["ThemeArn"] == {"Fn::Sub": "arn:${AWS::Partition}:quicksight::aws:theme/MIDNIGHT"}
    # Another account's resource, and a stack whose name only starts with ours, keep their own values.
    assert abstracted["Other"] == {
        "Fn::Sub": "arn:${AWS::Partition}:quicksight:${AWS::Region}:999999999999:dataset/costs-production-x"
    }
    assert resolve(abstracted, VALUES) == described


def test_leaks_are_account_ids_regions_and_literal_arns_only() -> None:
    clean = {
        "Fn::Sub": "arn:${AWS::Partition}:quicksight:${AWS::Region}:${AWS::AccountId}:dataset/x",
        "T": "us.anthropic",
    }
    assert list(environment_leaks(clean)) == []
    leaks = list(environment_leaks({"Values": ["444455556666", "ap-southeast-2", "arn:aws-cn:s3:::bucket"]}))
    assert [leak.split(" holds ")[1].split(";")[0] for leak in leaks] == ["an account id", "a region", "an ARN"]
