"""The official `openai` Python SDK against TENMON-ARK's /v1 API: proof that the
wire format is the real one, streaming and not."""

import openai
import pytest
from openai import OpenAI

from conftest import API_KEY


def client(server) -> OpenAI:
    return OpenAI(base_url=server.base + "/v1", api_key=API_KEY, max_retries=0)


def test_models_lists_the_assistants(server):
    ids = [m.id for m in client(server).models.list()]
    assert ids == ["default", "concierge", "mnp-support"]


def test_non_streamed_completion(server):
    r = client(server).chat.completions.create(
        model="mnp-support", messages=[{"role": "user", "content": "予約番号はどこでもらえますか？"}]
    )
    assert r.object == "chat.completion"
    assert r.choices[0].message.role == "assistant"
    assert "予約番号" in r.choices[0].message.content
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens


def test_streamed_completion_with_usage(server):
    stream = client(server).chat.completions.create(
        model="default",
        messages=[{"role": "user", "content": "こんにちは"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, finish, usage = "", None, None
    for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
        if chunk.usage:
            usage = chunk.usage
    assert "予約番号" in text
    assert finish == "stop"
    assert usage is not None and usage.completion_tokens > 0


def test_a_knowledge_base_handoff_streams_in_the_same_format(server):
    # Nothing in the MNP knowledge base fits: the knowledge-only assistant answers
    # without the model, and the SDK reads that stream like any other.
    stream = client(server).chat.completions.create(
        model="mnp-support",
        messages=[{"role": "user", "content": "おすすめのラーメン屋を教えて"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "サポート窓口" in text
    assert {c.id for c in chunks} == {chunks[0].id}
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_errors_raise_the_sdk_exceptions(server):
    with pytest.raises(openai.AuthenticationError):
        OpenAI(base_url=server.base + "/v1", api_key="wrong-key-0000000000", max_retries=0).models.list()
    with pytest.raises(openai.NotFoundError):
        client(server).chat.completions.create(model="gpt-unknown", messages=[{"role": "user", "content": "x"}])
