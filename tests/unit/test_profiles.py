"""Application inference profiles: fetching (botocore Stubber, validated against the service model), resolution,
the profile file, and ``bcr profiles``. Nothing leaves the machine: stubbed clients never send, and the one
unreachable-endpoint test targets a closed port on 127.0.0.1."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from bcr.cli import main
from bcr.commands import profiles as profiles_command
from bedrock_costs.profiles import (
    ProfileError,
    ResolvedProfile,
    fetch_application_profiles,
    fetch_profiles,
    load_profile_file,
    profiles_from_summaries,
    write_profile_file,
)

SONNET = "anthropic.claude-sonnet-4-5-20250929-v1:0"
ACCOUNT = "123456789012"
CLOSED_PORT = "http://127.0.0.1:9"


@pytest.fixture(autouse=True)
def fake_aws(monkeypatch, tmp_path):
    """Fake credentials and no shared config, so no test can pick up (or use) a real AWS identity."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def bedrock(region: str = "us-east-1", **kwargs) -> object:
    """A client from a fresh session: boto3's default session would keep the first test's credentials."""
    return boto3.Session().client("bedrock", region_name=region, **kwargs)


def summary(profile_id: str, regions: list[str], model: str = SONNET, home: str = "us-east-1") -> dict:
    """A ListInferenceProfiles summary as boto3 returns it (datetimes, not strings)."""
    return {
        "inferenceProfileName": f"team-{profile_id}",
        "inferenceProfileArn": f"arn:aws:bedrock:{home}:{ACCOUNT}:application-inference-profile/{profile_id}",
        "inferenceProfileId": profile_id,
        "models": [{"modelArn": f"arn:aws:bedrock:{region}::foundation-model/{model}"} for region in regions],
        "status": "ACTIVE",
        "type": "APPLICATION",
        "createdAt": datetime(2025, 10, 1, 8, 30, 15, 123000, tzinfo=UTC),
        "updatedAt": datetime(2025, 10, 2, 9, 0, tzinfo=UTC),
    }


def arn(profile_id: str, home: str = "us-east-1") -> str:
    return f"arn:aws:bedrock:{home}:{ACCOUNT}:application-inference-profile/{profile_id}"


# --- fetching -------------------------------------------------------------------------------------------------


def test_fetch_follows_next_token_with_the_application_filter():
    client = bedrock()
    with Stubber(client) as stub:
        stub.add_response(
            "list_inference_profiles",
            {"inferenceProfileSummaries": [summary("aaa111", ["us-east-1"])], "nextToken": "page-2"},
            {"typeEquals": "APPLICATION"},
        )
        stub.add_response(
            "list_inference_profiles",
            {"inferenceProfileSummaries": [summary("bbb222", ["us-east-1", "us-west-2"])]},
            {"typeEquals": "APPLICATION", "nextToken": "page-2"},
        )
        fetched = fetch_application_profiles(client)
        stub.assert_no_pending_responses()
    assert [s["inferenceProfileId"] for s in fetched] == ["aaa111", "bbb222"]


def test_fetch_profiles_asks_each_region_once():
    clients = {region: bedrock(region) for region in ("us-east-1", "eu-west-1")}
    stubs = {region: Stubber(client) for region, client in clients.items()}
    stubs["us-east-1"].add_response(
        "list_inference_profiles", {"inferenceProfileSummaries": [summary("use1", ["us-east-1"])]}
    )
    stubs["eu-west-1"].add_response(
        "list_inference_profiles",
        {"inferenceProfileSummaries": [summary("euw1", ["eu-west-1"], home="eu-west-1")]},
    )
    asked: list[str] = []

    def factory(region: str) -> object:
        asked.append(region)
        return clients[region]

    with stubs["us-east-1"], stubs["eu-west-1"]:
        fetched = fetch_profiles(["us-east-1", "eu-west-1", "us-east-1"], factory)
    assert asked == ["us-east-1", "eu-west-1"]
    assert set(profiles_from_summaries(fetched)) == {arn("use1"), arn("euw1", "eu-west-1")}


def three_regions_one_denied() -> tuple[dict[str, object], list[Stubber]]:
    """Clients of us-east-1 and us-west-2 with one profile each, and of eu-west-1 denied."""
    clients = {region: bedrock(region) for region in ("us-east-1", "eu-west-1", "us-west-2")}
    stubs = [Stubber(client) for client in clients.values()]
    stubs[0].add_response("list_inference_profiles", {"inferenceProfileSummaries": [summary("use1", ["us-east-1"])]})
    stubs[1].add_client_error("list_inference_profiles", "AccessDeniedException", http_status_code=403)
    stubs[2].add_response(
        "list_inference_profiles", {"inferenceProfileSummaries": [summary("usw2", ["us-west-2"], home="us-west-2")]}
    )
    return clients, stubs


def test_one_failing_region_is_reported_and_the_others_still_resolve():
    clients, stubs = three_regions_one_denied()
    failures: dict[str, ProfileError] = {}
    with stubs[0], stubs[1], stubs[2]:
        fetched = fetch_profiles(list(clients), clients.__getitem__, failed=failures.__setitem__)
    assert set(profiles_from_summaries(fetched)) == {arn("use1"), arn("usw2", "us-west-2")}
    assert list(failures) == ["eu-west-1"]
    assert "in eu-west-1: access denied" in str(failures["eu-west-1"])


def test_cli_fetch_writes_the_regions_that_worked_and_exits_1(tmp_path, monkeypatch, capsys):
    clients, stubs = three_regions_one_denied()
    monkeypatch.setattr(profiles_command, "bedrock_clients", lambda aws_profile: clients.__getitem__)
    out = tmp_path / "profiles.json"
    with stubs[0], stubs[1], stubs[2]:
        assert main(["profiles", "fetch", "--regions", "us-east-1,eu-west-1,us-west-2", "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "in eu-west-1: access denied" in captured.err
    assert "wrote 2 application inference profiles from us-east-1, us-west-2" in captured.out
    assert set(load_profile_file(out)) == {arn("use1"), arn("usw2", "us-west-2")}


def test_access_denied_names_the_region_and_the_permission():
    client = bedrock("us-west-2")
    with Stubber(client) as stub:
        stub.add_client_error(
            "list_inference_profiles",
            service_error_code="AccessDeniedException",
            service_message="User is not authorized to perform: bedrock:ListInferenceProfiles",
            http_status_code=403,
        )
        with pytest.raises(ProfileError) as caught:
            fetch_application_profiles(client)
    message = str(caught.value)
    assert "us-west-2" in message and "bedrock:ListInferenceProfiles" in message and "\n" not in message


def test_unreachable_endpoint_is_one_clear_line():
    client = bedrock(
        "eu-west-1",
        endpoint_url=CLOSED_PORT,
        config=Config(connect_timeout=1, retries={"total_max_attempts": 1}),
    )
    with pytest.raises(ProfileError, match=r"in eu-west-1: the Bedrock endpoint is unreachable"):
        fetch_application_profiles(client)


def test_missing_credentials_say_what_to_configure(monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    client = bedrock(endpoint_url=CLOSED_PORT, config=Config(retries={"total_max_attempts": 1}))
    with pytest.raises(ProfileError, match=r"no AWS credentials found.*bedrock:ListInferenceProfiles"):
        fetch_application_profiles(client)


# --- resolution -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("regions", "scope", "geo"),
    [
        (["us-east-1"], "in_region", None),
        (["us-east-1", "us-east-2", "us-west-2"], "geo", "us"),
        (["eu-central-1", "eu-west-1", "eu-west-3", "eu-north-1"], "geo", "eu"),
        (["ap-northeast-1", "ap-northeast-3"], "geo", "jp"),
        (["ap-southeast-2", "ap-southeast-4"], "geo", "au"),
        (["ap-northeast-1", "ap-northeast-2", "ap-south-1", "ap-southeast-2"], "geo", "apac"),
        (["ap-northeast-1", "ap-northeast-2"], "geo", "apac"),
        (["ca-central-1", "ca-west-1"], "geo", "ca"),
        (["us-gov-west-1", "us-gov-east-1"], "geo", "us-gov"),
        (["us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1"], "global", None),
        (["us-east-1", "us-gov-west-1"], "global", None),
    ],
)
def test_scope_and_geography_follow_the_routed_regions(regions, scope, geo):
    resolved = profiles_from_summaries([summary("p1", regions)])
    assert resolved == {
        arn("p1"): ResolvedProfile(
            profile_arn=arn("p1"), profile_id="p1", model_id=SONNET, inference_scope=scope, geo=geo
        )
    }


def test_profile_id_falls_back_to_the_arn_tail():
    bare = {k: v for k, v in summary("tail42", ["us-east-1"]).items() if k != "inferenceProfileId"}
    assert profiles_from_summaries([bare])[arn("tail42")].profile_id == "tail42"


def test_the_same_profile_twice_is_fine_but_not_with_different_models():
    twice = [summary("dup", ["us-east-1"]), summary("dup", ["us-east-1"])]
    assert len(profiles_from_summaries(twice)) == 1
    with pytest.raises(ProfileError, match=r"listed twice"):
        profiles_from_summaries([summary("dup", ["us-east-1"]), summary("dup", ["us-east-1"], "amazon.nova-lite-v1:0")])


# --- the profile file -----------------------------------------------------------------------------------------


def test_file_round_trip_is_deterministic(tmp_path):
    summaries = [summary("zzz", ["us-east-1", "us-west-2"]), summary("aaa", ["eu-west-1"], home="eu-west-1")]
    first, second = tmp_path / "a" / "profiles.json", tmp_path / "b.json"
    write_profile_file(summaries, first)
    write_profile_file(list(reversed(summaries)), second)
    assert first.read_bytes() == second.read_bytes()
    written = json.loads(first.read_text())
    assert written["inferenceProfileSummaries"][0]["createdAt"] == "2025-10-01T08:30:15.123000+00:00"
    assert load_profile_file(first) == profiles_from_summaries(summaries)


def test_reads_aws_cli_output_and_a_bare_list(tmp_path):
    cli_summary = summary("cli1", ["us-east-1", "us-east-2"]) | {
        "createdAt": "2025-10-01T08:30:15.123000+00:00",
        "updatedAt": "2025-10-02T09:00:00+00:00",
    }
    cli_file, list_file = tmp_path / "cli.json", tmp_path / "list.json"
    cli_file.write_text(json.dumps({"inferenceProfileSummaries": [cli_summary]}, indent=4))
    list_file.write_text(json.dumps([cli_summary]))
    expected = {arn("cli1"): ResolvedProfile(arn("cli1"), "cli1", SONNET, "geo", "us")}
    assert load_profile_file(cli_file) == expected
    assert load_profile_file(list_file) == expected


def _file_with(profile_id: str, **changes) -> str:
    """A one-profile file whose summary has ``changes`` applied (``None`` removes the field)."""
    base = summary(profile_id, ["us-east-1", "us-west-2"])
    changed = {k: v for k, v in base.items() if k not in changes} | {k: v for k, v in changes.items() if v is not None}
    return json.dumps([changed], default=str)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, r"does not exist"),
        ("{not json", r"is not valid JSON"),
        ('{"profiles": []}', r"holds neither"),
        (json.dumps(["not an object"]), r"profile #1 is not a JSON object"),
        (_file_with("noarn", inferenceProfileArn=None), r"profile team-noarn has no inferenceProfileArn"),
        (_file_with("nomodels", models=None), r"profile arn:.*/nomodels lists no models"),
        (_file_with("empty", models=[]), r"profile arn:.*/empty lists no models"),
        (
            _file_with(
                "mixed",
                models=[
                    {"modelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{SONNET}"},
                    {"modelArn": "arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-pro-v1:0"},
                ],
            ),
            r"profile arn:.*/mixed routes to different base models: amazon\.nova-pro-v1:0, anthropic\.",
        ),
        (
            _file_with("custom", models=[{"modelArn": f"arn:aws:bedrock:us-east-1:{ACCOUNT}:custom-model/x"}]),
            r"profile arn:.*/custom: model '.*custom-model/x' is not a foundation-model ARN",
        ),
    ],
    ids=["missing", "bad-json", "wrong-shape", "not-object", "no-arn", "no-models", "empty-models", "mixed", "custom"],
)
def test_bad_files_name_the_file_and_the_profile(tmp_path, content, problem):
    path = tmp_path / "profiles.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ProfileError, match=problem) as caught:
        load_profile_file(path)
    assert str(path) in str(caught.value)


# --- bcr profiles ---------------------------------------------------------------------------------------------


def test_cli_fetch_writes_the_file_and_show_prints_the_table(tmp_path, monkeypatch, capsys):
    client = bedrock("us-west-2")
    stub = Stubber(client)
    stub.add_response(
        "list_inference_profiles",
        {"inferenceProfileSummaries": [summary("cli1", ["us-east-1", "us-west-2"], home="us-west-2")]},
        {"typeEquals": "APPLICATION"},
    )
    monkeypatch.setattr(profiles_command, "bedrock_clients", lambda aws_profile: lambda region: client)
    out = tmp_path / "profiles.json"
    with stub:
        assert main(["profiles", "fetch", "--regions", " us-west-2, ", "--out", str(out)]) == 0
    assert "wrote 1 application inference profiles from us-west-2" in capsys.readouterr().out

    assert main(["profiles", "show", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["PROFILE", "ARN", "MODEL", "SCOPE", "GEO"]
    assert lines[1].split() == [arn("cli1", "us-west-2"), SONNET, "geo", "us"]


def test_cli_reports_profile_errors_in_one_line(tmp_path, capsys):
    assert main(["profiles", "show", str(tmp_path / "missing.json")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("bcr profiles: profile file") and err.count("\n") == 1


def test_cli_fetch_reports_aws_errors_in_one_line(tmp_path, monkeypatch, capsys):
    client = bedrock()
    stub = Stubber(client)
    stub.add_client_error("list_inference_profiles", "AccessDeniedException", http_status_code=403)
    monkeypatch.setattr(profiles_command, "bedrock_clients", lambda aws_profile: lambda region: client)
    with stub:
        assert main(["profiles", "fetch", "--regions", "us-east-1", "--out", str(tmp_path / "p.json")]) == 1
    assert "bedrock:ListInferenceProfiles" in capsys.readouterr().err
    assert not (tmp_path / "p.json").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["profiles", "fetch", "--regions", "us-east-1,virginia", "--out", "x.json"],
        ["profiles", "fetch", "--regions", ",", "--out", "x.json"],
        ["profiles", "fetch", "--regions", "us-east-1", "--out", "x.json", "--profile", "no-such-profile"],
    ],
    ids=["bad-region", "no-region", "unknown-aws-profile"],
)
def test_cli_wrong_parameters_exit_2(argv, capsys):
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith("bcr profiles: --")
