"""The Glue job in template.yaml agrees with the entry script, runs on a schedule, and alerts on its events."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from aws_template import default_refs, fresh_template, resolve, resources, script_constant

from bedrock_costs.quality.gate import DEFAULT_POLICY, POLICIES

# Glue's own job parameters (docs: "Using job parameters in AWS Glue jobs"): the entry script never parses them.
GLUE_PARAMETERS = {
    "--job-language",
    "--extra-py-files",
    "--TempDir",
    "--job-bookmark-option",
    "--enable-auto-scaling",
    "--enable-metrics",
    "--enable-observability-metrics",
    "--enable-continuous-cloudwatch-log",
    "--enable-continuous-log-filter",
    "--continuous-log-logGroup",
}


def argument_problems(
    tpl: Mapping[str, Any], arguments: Mapping[str, str | None], run_only: Mapping[str, str]
) -> list[str]:
    """Where DefaultArguments and the entry script's ARGUMENTS / RUN_ARGUMENTS disagree."""
    parameters = tpl["Parameters"]
    defaults = tpl["Resources"]["CostEtlJob"]["Properties"]["DefaultArguments"]
    problems = []
    for name, default in arguments.items():
        value = defaults.get(f"--{name}")
        if value is None:
            problems.append(f"--{name} is parsed by the script but has no DefaultArguments entry")
        elif value == "":
            problems.append(f"--{name} is empty: Glue may pass an empty argument without a value")
        elif default is not None and isinstance(value, str) and value != default:
            problems.append(f"--{name} defaults to {value!r} in the template but {default!r} in the script")
        elif default is not None and isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in parameters:
            parameter_default = str(parameters[value["Ref"]].get("Default"))
            if parameter_default != default:
                problems.append(
                    f"--{name} comes from {value['Ref']} (default {parameter_default}), script says {default}"
                )
    for name in run_only:
        if f"--{name}" in defaults:
            problems.append(f"--{name} is a one-run argument (StartJobRun) and must not be a job default")
    for key in defaults:
        if key not in GLUE_PARAMETERS and key.removeprefix("--") not in {**arguments, **run_only}:
            problems.append(f"{key} is in DefaultArguments but the entry script does not parse it")
    return problems


def test_default_arguments_match_the_entry_script() -> None:
    assert argument_problems(fresh_template(), script_constant("ARGUMENTS"), script_constant("RUN_ARGUMENTS")) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda args: args.pop("--pricing_uri"), "--pricing_uri is parsed by the script"),
        (lambda args: args.update({"--reprocess": "false"}), "--reprocess is in DefaultArguments"),
        (lambda args: args.update({"--reprice": "false"}), "--reprice is a one-run argument"),
        (lambda args: args.update({"--since": "2026-01-01"}), "--since is a one-run argument"),
        (lambda args: args.update({"--database": ""}), "--database is empty"),
    ],
)
def test_argument_drift_is_reported(change, expected: str) -> None:
    tpl = fresh_template()
    change(tpl["Resources"]["CostEtlJob"]["Properties"]["DefaultArguments"])
    problems = argument_problems(tpl, script_constant("ARGUMENTS"), script_constant("RUN_ARGUMENTS"))
    assert any(problem.startswith(expected) for problem in problems), problems


def test_a_default_that_differs_from_the_script_is_reported() -> None:
    tpl = fresh_template()
    tpl["Parameters"]["LookbackDays"]["Default"] = 7
    problems = argument_problems(tpl, script_constant("ARGUMENTS"), {})
    assert problems == ["--lookback_days comes from LookbackDays (default 7), script says 2"]
    arguments = {**script_constant("ARGUMENTS"), "reprice": "false"}
    tpl = fresh_template()
    tpl["Resources"]["CostEtlJob"]["Properties"]["DefaultArguments"]["--reprice"] = "true"
    assert argument_problems(tpl, arguments, {}) == [
        "--reprice defaults to 'true' in the template but 'false' in the script"
    ]


def test_the_job_gates_on_exactly_the_templates_rulesets_under_the_policy_parameter() -> None:
    tpl = fresh_template()
    refs = default_refs(tpl)
    job_arguments = tpl["Resources"]["CostEtlJob"]["Properties"]["DefaultArguments"]
    arguments = {key: resolve(job_arguments[key], refs) for key in ("--dq_rulesets", "--dq_policy")}
    names = [resolve(r["Properties"]["Name"], refs) for r in resources(tpl, "AWS::Glue::DataQualityRuleset").values()]
    assert arguments["--dq_rulesets"].split(",") == names
    # One default everywhere: the parameter, the script's argument and the local gate (bcr etl).
    assert arguments["--dq_policy"] == script_constant("ARGUMENTS")["dq_policy"] == DEFAULT_POLICY
    assert sorted(tpl["Parameters"]["DqPolicy"]["AllowedValues"]) == sorted(POLICIES)
    assert job_arguments["--dq_policy"] == {"Ref": "DqPolicy"}


def test_a_lock_is_stale_only_after_any_run_would_have_timed_out() -> None:
    """A lock older than the longest timeout a deployer can choose was left by a run Glue has stopped."""
    tpl = fresh_template()
    stale = tpl["Resources"]["CostEtlJob"]["Properties"]["DefaultArguments"]["--lock_stale_minutes"]
    assert stale == script_constant("ARGUMENTS")["lock_stale_minutes"]
    assert tpl["Parameters"]["JobTimeoutMinutes"]["MaxValue"] < int(stale)
    assert tpl["Parameters"]["JobTimeoutMinutes"]["Default"] <= tpl["Parameters"]["JobTimeoutMinutes"]["MaxValue"]


def test_the_schedule_starts_on_creation_and_runs_the_job() -> None:
    triggers = resources(fresh_template(), "AWS::Glue::Trigger")
    scheduled = [t["Properties"] for t in triggers.values() if t["Properties"]["Type"] == "SCHEDULED"]
    assert len(scheduled) == 1
    assert scheduled[0]["StartOnCreation"] is True
    assert scheduled[0]["Schedule"] == {"Ref": "ScheduleExpression"}
    assert scheduled[0]["Actions"] == [{"JobName": {"Ref": "CostEtlJob"}}]


def test_job_is_small_scaled_logged_and_single_run() -> None:
    tpl = fresh_template()
    job = tpl["Resources"]["CostEtlJob"]["Properties"]
    arguments = job["DefaultArguments"]
    assert (job["GlueVersion"], job["WorkerType"], job["Command"]["Name"]) == ("5.1", "G.1X", "glueetl")
    assert job["ExecutionProperty"]["MaxConcurrentRuns"] == 1
    assert tpl["Parameters"]["MaxWorkers"]["Default"] <= 4 and tpl["Parameters"]["MaxWorkers"]["MinValue"] == 2
    assert tpl["Parameters"]["ExecutionClass"]["AllowedValues"] == ["STANDARD", "FLEX"]
    assert job["Timeout"] == {"Ref": "JobTimeoutMinutes"} and job["MaxRetries"] >= 1
    for flag in ("--enable-auto-scaling", "--enable-metrics", "--enable-continuous-cloudwatch-log"):
        assert arguments[flag] == "true", flag
    assert arguments["--continuous-log-logGroup"] == {"Ref": "JobLogs"}
    # Code, package and catalog come from the published assets, never from a local path.
    assert job["Command"]["ScriptLocation"] == {"Fn::GetAtt": ["Assets", "ScriptUri"]}
    assert arguments["--extra-py-files"] == {"Fn::GetAtt": ["Assets", "PackageUri"]}
    assert arguments["--pricing_uri"] == {"Fn::GetAtt": ["Assets", "PricingUri"]}
    assert arguments["--tag_aliases"] == {"Fn::GetAtt": ["Assets", "TagAliasesUri"]}


def test_alert_rules_cover_failure_timeout_and_the_scripts_reconciliation_event() -> None:
    tpl = fresh_template()
    rules = {name: rule["Properties"] for name, rule in resources(tpl, "AWS::Events::Rule").items()}
    states = sorted(
        state
        for rule in rules.values()
        if rule["EventPattern"]["source"] == ["aws.glue"]
        for state in rule["EventPattern"]["detail"]["state"]
    )
    assert states == ["ERROR", "FAILED", "TIMEOUT"]
    custom = [r for r in rules.values() if r["EventPattern"]["source"] == [script_constant("EVENT_SOURCE")]]
    assert len(custom) == 1
    assert custom[0]["EventPattern"]["detail-type"] == [script_constant("NOT_RECONCILED")]
    quality = [r for r in rules.values() if r["EventPattern"]["source"] == ["aws.glue-dataquality"]]
    assert len(quality) == 1
    assert quality[0]["EventPattern"]["detail-type"] == ["Data Quality Evaluation Results Available"]
    assert quality[0]["EventPattern"]["detail"]["state"] == ["FAILED"]
    for name, rule in rules.items():
        detail = rule["EventPattern"]["detail"]
        job = detail.get("jobName", detail.get("job_name", detail.get("context", {}).get("jobName")))
        assert job == [{"Ref": "CostEtlJob"}], name
        assert [target["Arn"] for target in rule["Targets"]] == [{"Ref": "AlertsTopic"}], name
    topic = tpl["Resources"]["AlertsTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Ref": "AlertsKey"}
    publishers = tpl["Resources"]["AlertsTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert sorted(arn["Fn::GetAtt"][0] for arn in publishers["Condition"]["ArnEquals"]["aws:SourceArn"]) == sorted(
        rules
    )


def test_assets_are_republished_when_code_or_config_changes() -> None:
    tpl = fresh_template()
    assets = tpl["Resources"]["Assets"]["Properties"]
    function = tpl["Resources"]["AssetPublisherFunction"]
    assert function["Metadata"]["BuildMethod"] == "makefile"
    assert function["Properties"]["AutoPublishAlias"]
    assert assets["CodeVersion"] == {"Ref": "AssetPublisherFunction.Version"}
    assert assets["TagAliases"] == {"Ref": "TagAliases"}
    lifecycle = resolve(tpl["Resources"]["DataBucket"]["Properties"]["LifecycleConfiguration"], default_refs(tpl))
    superseded = [rule for rule in lifecycle["Rules"] if rule.get("TagFilters")]
    assert superseded and superseded[0]["Prefix"] == assets["Prefix"]
    assert superseded[0]["TagFilters"] == [{"Key": "superseded", "Value": "true"}]
