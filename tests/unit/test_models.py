"""``models.normalize_model_id``: every modelId shape lands on (base model, provider, name, scope, geo, profile)."""

from __future__ import annotations

import pytest

from bedrock_costs.models import NormalizedModel, normalize_model_id

SONNET = "anthropic.claude-sonnet-4-20250514-v1:0"
ACCT = "123456789012"


def model(model_id, provider, name, scope, geo=None, profile=None) -> NormalizedModel:
    return NormalizedModel(model_id, provider, name, scope, geo, profile)


BASE_SONNET = model(SONNET, "anthropic", "claude-sonnet-4-20250514-v1:0", "in_region")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(SONNET, BASE_SONNET, id="base-id"),
        pytest.param(
            "amazon.nova-lite-v1:0", model("amazon.nova-lite-v1:0", "amazon", "nova-lite-v1:0", "in_region"), id="nova"
        ),
        pytest.param(
            "meta.llama2-13b-chat-v1",
            model("meta.llama2-13b-chat-v1", "meta", "llama2-13b-chat-v1", "in_region"),
            id="no-version-suffix",
        ),
        pytest.param("my-model", model("my-model", None, "my-model", "in_region"), id="no-provider"),
        pytest.param(f"  {SONNET}\n", BASE_SONNET, id="surrounding-whitespace"),
        *(
            pytest.param(
                f"{geo}.{SONNET}",
                model(SONNET, "anthropic", "claude-sonnet-4-20250514-v1:0", "geo", geo, f"{geo}.{SONNET}"),
                id=f"geo-{geo}",
            )
            for geo in ("us", "eu", "apac", "jp", "au", "ca", "us-gov")
        ),
        pytest.param(
            "apac.amazon.nova-micro-v1:0",
            model("amazon.nova-micro-v1:0", "amazon", "nova-micro-v1:0", "geo", "apac", "apac.amazon.nova-micro-v1:0"),
            id="geo-apac-nova",
        ),
        pytest.param(
            "global.anthropic.claude-opus-4-6-v1",
            model(
                "anthropic.claude-opus-4-6-v1",
                "anthropic",
                "claude-opus-4-6-v1",
                "global",
                None,
                "global.anthropic.claude-opus-4-6-v1",
            ),
            id="global-profile",
        ),
        pytest.param(
            f"arn:aws:bedrock:us-east-1:{ACCT}:inference-profile/us.{SONNET}",
            model(SONNET, "anthropic", "claude-sonnet-4-20250514-v1:0", "geo", "us", f"us.{SONNET}"),
            id="system-profile-arn-geo",
        ),
        pytest.param(
            f"arn:aws:bedrock:us-west-2:{ACCT}:inference-profile/global.anthropic.claude-opus-4-6-v1",
            model(
                "anthropic.claude-opus-4-6-v1",
                "anthropic",
                "claude-opus-4-6-v1",
                "global",
                None,
                "global.anthropic.claude-opus-4-6-v1",
            ),
            id="system-profile-arn-global",
        ),
        pytest.param(
            f"arn:aws-us-gov:bedrock:us-gov-west-1:{ACCT}:inference-profile/us-gov.{SONNET}",
            model(SONNET, "anthropic", "claude-sonnet-4-20250514-v1:0", "geo", "us-gov", f"us-gov.{SONNET}"),
            id="system-profile-arn-govcloud-partition",
        ),
        pytest.param(f"arn:aws:bedrock:us-east-1::foundation-model/{SONNET}", BASE_SONNET, id="foundation-model-arn"),
        pytest.param(
            f"arn:aws:bedrock:us-east-1:{ACCT}:application-inference-profile/a1b2c3d4e5f6",
            model(None, None, None, "application", None, "a1b2c3d4e5f6"),
            id="application-profile-arn",
        ),
        pytest.param(
            f"arn:aws:bedrock:us-east-1:{ACCT}:provisioned-model/pt0123456789",
            model(None, None, None, "provisioned", None, "pt0123456789"),
            id="provisioned-arn",
        ),
        pytest.param(
            f"arn:aws:bedrock:us-east-1:{ACCT}:custom-model-deployment/cmd0123",
            model(None, None, None, "custom", None, "cmd0123"),
            id="custom-model-deployment-arn",
        ),
        pytest.param(
            f"arn:aws:bedrock:us-east-1:{ACCT}:custom-model/amazon.nova-lite-v1:0:300k/abc",
            model(None, None, None, "custom", None, "amazon.nova-lite-v1:0:300k/abc"),
            id="custom-model-arn",
        ),
        pytest.param(
            f"arn:aws:bedrock:us-east-1:{ACCT}:imported-model/im0123",
            model(None, None, None, "imported", None, "im0123"),
            id="imported-model-arn",
        ),
        pytest.param(
            f"arn:aws:bedrock:us-east-1:{ACCT}:prompt/PROMPT12345:1",
            model(None, None, None, "unknown", None, "PROMPT12345:1"),
            id="unknown-arn-kind-prompt",
        ),
        pytest.param(
            f"arn:aws:bedrock:us-east-1:{ACCT}:default-prompt-router/anthropic.claude:1",
            model(None, None, None, "unknown", None, "anthropic.claude:1"),
            id="unknown-arn-kind-prompt-router",
        ),
        pytest.param("", model(None, None, None, "unknown"), id="empty"),
        pytest.param("   ", model(None, None, None, "unknown"), id="blank"),
        pytest.param(None, model(None, None, None, "unknown"), id="none"),
    ],
)
def test_normalize_model_id(raw, expected):
    assert normalize_model_id(raw) == expected


def test_non_bedrock_arn_is_not_a_base_model():
    normalized = normalize_model_id(f"arn:aws:sagemaker:us-east-1:{ACCT}:endpoint/marketplace-llm")
    assert normalized.model_id is None
    assert normalized.inference_scope != "in_region"
