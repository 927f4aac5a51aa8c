"""Credential redaction: each kind is caught, ordinary code and ids are left alone."""

from __future__ import annotations

import base64
import time
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from once.safety.redact import REDACTION_KINDS, looks_like_placeholder, redact, redact_obj

ANTHROPIC = "sk-ant-api03-" + "a" * 40
OPENAI = "sk-proj-" + "Ab3dEf6hIj" * 5
OPENAI_LEGACY = "sk-" + "T3stKey0000" * 4
AWS_ID = "AKIA" + "TESTTESTTEST0000"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYTESTKEY000"
GITHUB = "ghp_" + "0123456789abcdefghijABCDEFGHIJ012345"
GITHUB_PAT = "github_pat_" + "11ABCDEFG0123456789_abcdefghijklmnop"
GITLAB = "glpat-" + "Tst0Tst0Tst0Tst0Tst0"
SLACK = "xoxb-000000000000-000000000000-testtesttesttest"
# A webhook whose last part is a mask (XXXX...) is a placeholder, not a secret.
SLACK_HOOK = "https://hooks.slack.com/services/T00000000/B00000000/" + "T3st" * 6
STRIPE = "sk_live_" + "0000testtesttest0000"
GOOGLE = "AIza" + "SyTest0000000000000000000000000-_00"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IlRlc3QifQ."
    "c2lnbmF0dXJlLXRlc3QtMDAwMDAwMDAwMA"
)
PRIVATE_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAtestTESTtestTESTtestTESTtestTESTtestTEST0000\n"
    "aGVsbG8gd29ybGQgdGhpcyBpcyBub3QgYSByZWFsIGtleQ==\n"
    "-----END RSA PRIVATE KEY-----"
)


@pytest.mark.parametrize(
    ("text", "secret", "kind"),
    [
        (f"export ANTHROPIC_API_KEY={ANTHROPIC}", ANTHROPIC, "anthropic_key"),
        (f"client = OpenAI(api_key='{OPENAI}')", OPENAI, "openai_key"),
        (f"key: {OPENAI_LEGACY}", OPENAI_LEGACY, "openai_key"),
        (f"aws_access_key_id = {AWS_ID}", AWS_ID, "aws_access_key_id"),
        (f"aws_secret_access_key = {AWS_SECRET}", AWS_SECRET, "aws_secret_key"),
        (f'AWS_SECRET_ACCESS_KEY="{AWS_SECRET}"', AWS_SECRET, "aws_secret_key"),
        (f"git clone https://{GITHUB}@github.com/o/r", GITHUB, "github_token"),
        (f"token {GITHUB_PAT}", GITHUB_PAT, "github_token"),
        (f"GITLAB={GITLAB}", GITLAB, "gitlab_token"),
        (f"slack bot {SLACK} here", SLACK, "slack_token"),
        (f"curl -X POST {SLACK_HOOK}", "T00000000/B00000000", "slack_webhook"),
        (f"stripe.api_key = '{STRIPE}'", STRIPE, "stripe_key"),
        (f"maps?key={GOOGLE}&q=x", GOOGLE, "google_api_key"),
        (f"cookie: session={JWT}; path=/", JWT, "jwt"),
        (f"key file:\n{PRIVATE_KEY}\nend", "MIIEowIBAAKCAQEA", "private_key"),
        ("curl -H 'Authorization: Bearer abc123.def456-ghi789' x", "abc123.def456-ghi789", "authorization"),
        ('{"Authorization": "Basic dXNlcjpwYXNzd29yZA=="}', "dXNlcjpwYXNzd29yZA==", "authorization"),
        ("postgres://app:s3cr3t-Pa55@db.internal:5432/app", "s3cr3t-Pa55", "url_password"),
        ("API_KEY=abc123def456ghi", "abc123def456ghi", "secret"),
        ('{"api_key": "abc123def456ghi"}', "abc123def456ghi", "secret"),
        ("db_password = 'hunter2hunter2'", "hunter2hunter2", "secret"),
        ("client_secret: Zq9xWv8uTs7r", "Zq9xWv8uTs7r", "secret"),
        ("SECRET_KEY=supersecretvalue", "supersecretvalue", "secret"),
        ("x-api-key: 3f9a1c7e5b2d8f04", "3f9a1c7e5b2d8f04", "secret"),  # 0123456789abcdef is a placeholder
        ("PRIVATE_KEY=MIIEvQIBADANBgkq", "MIIEvQIBADANBgkq", "secret"),
        ("passwd=correct-horse-9", "correct-horse-9", "secret"),
    ],
)
def test_each_kind_is_redacted(text: str, secret: str, kind: str) -> None:
    out = redact(text)
    assert secret not in out
    assert f"[REDACTED:{kind}]" in out
    assert kind in REDACTION_KINDS


def test_context_around_a_secret_is_kept() -> None:
    assert redact(f"export ANTHROPIC_API_KEY={ANTHROPIC} # mine") == (
        "export ANTHROPIC_API_KEY=[REDACTED:anthropic_key] # mine"
    )
    assert redact("see postgres://app:s3cr3t-Pa55@db.internal/app now") == (
        "see postgres://app:[REDACTED:url_password]@db.internal/app now"
    )
    assert redact('{"api_key": "abc123def456ghi", "n": 1}') == '{"api_key": "[REDACTED:secret]", "n": 1}'
    assert redact(f"a\n{PRIVATE_KEY}\nb") == "a\n[REDACTED:private_key]\nb"


def test_truncated_private_key_block_is_still_redacted() -> None:
    cut = PRIVATE_KEY.split("-----END")[0]
    out = redact("head\n" + cut)
    assert "MIIEowIBAAKCAQEA" not in out and out.startswith("head\n[REDACTED:private_key]")


ORDINARY_CODE = '''\
import os
from anthropic import Anthropic

MAX_TOKENS = 100000000
TOKEN_LIMIT = 4096


def make_client(api_key: str | None = None) -> Anthropic:
    api_key = api_key or os.environ["ANTHROPIC_API_KEY"]
    token = self.tokenizer.encode(text)
    password: Optional[str] = None
    secret = secrets.token_hex(32)
    headers = {"x-api-key": api_key, "anthropic-version": "2023-06-01"}
    API_KEY = DEFAULT_API_KEY
    access_token = settings.ACCESS_TOKEN
    if password == "":
        raise ValueError("no password")
    return Anthropic(api_key=api_key, max_tokens=max_tokens)


def check(task_name: str, desk_id: int) -> bool:
    return task_name.startswith("sk") and desk_id > 0
'''


def test_ordinary_code_is_unchanged() -> None:
    assert redact(ORDINARY_CODE) == ORDINARY_CODE


@pytest.mark.parametrize(
    "text",
    [
        "commit 9e2751d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8 (HEAD -> main)",
        f"run id {uuid.UUID(int=0x1234567890ABCDEF1234567890ABCDEF)} and {uuid.uuid4()}",
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "http://localhost:8080/path@v1 and https://example.com:443/x",
        "git@github.com:owner/repo.git",
        "the task-runner and desk-lamp-2024 and risk-assessment-report-v2",
        "usage: input_tokens=12345678 output_tokens=87654321",
        "API_KEY=changeme  TOKEN=${GITHUB_TOKEN}  api_key=<your-key>  api_key=your-key-here",
        "password=xxxxxxxxxx SECRET=********",
        "postgres://user:password@localhost/db",
        "a token: is a word; the secret garden",
        "",
    ],
)
def test_non_secrets_are_unchanged(text: str) -> None:
    assert redact(text) == text


def test_base64_payload_under_a_base64_source_is_kept() -> None:
    # A PNG header plus bytes that happen to spell a key shape: binary data, not text.
    blob = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4).decode()
    block = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": blob}}
    assert redact_obj(block) == block
    assert redact(blob) == blob


def test_redact_obj_walks_containers_and_keeps_keys() -> None:
    obj = {
        "type": "tool_call",
        "input": {"command": f"echo {ANTHROPIC}", "timeout": 30, "flags": [True, None, 1.5]},
        "list": [f"Bearer x {GITHUB}", ("tuple", ANTHROPIC)],
        "sk-ant-key-as-dict-key": "fine",
    }
    out = redact_obj(obj)
    assert out["input"]["command"] == "echo [REDACTED:anthropic_key]"
    assert out["input"]["timeout"] == 30 and out["input"]["flags"] == [True, None, 1.5]
    assert out["list"] == ["Bearer x [REDACTED:github_token]", ("tuple", "[REDACTED:anthropic_key]")]
    assert "sk-ant-key-as-dict-key" in out
    assert obj["input"]["command"].endswith(ANTHROPIC), "the input must not be modified in place"


def test_value_under_a_secret_named_key_is_redacted_whole() -> None:
    out = redact_obj({"password": "correcthorsebattery", "db_token": "abc12345", "max_tokens": "100000000",
                      "api_key": "changeme", "token": "short"})
    assert out == {"password": "[REDACTED:secret]", "db_token": "[REDACTED:secret]",
                   "max_tokens": "100000000", "api_key": "changeme", "token": "short"}


def test_redaction_is_idempotent() -> None:
    text = " ".join([ANTHROPIC, OPENAI, AWS_ID, GITHUB, JWT, "API_KEY=abc123def456ghi",
                     "postgres://a:b1b2b3b4@h/d", f'"token": "{GITLAB}"', PRIVATE_KEY])
    once = redact(text)
    assert redact(once) == once
    assert once.count("[REDACTED:") == 9


def test_placeholders() -> None:
    for value in ("xxx", "XXXXXXXX", "changeme", "<api-key>", "${TOKEN}", "your-key-here", "{{ secrets.X }}"):
        assert looks_like_placeholder(value), value
    assert not looks_like_placeholder("abc123def456")


words = st.sampled_from(
    ["api_key", "=", ":", '"', "'", " ", "\n", "sk-ant-", "sk-", "token", "password", "AKIA", "eyJ",
     "://", "@", "user", "a1b2c3d4e5", "ghp_", "x" * 8, "0123456789abcdef", ".", "_", "-", "Bearer ",
     "Authorization: ", "[REDACTED:secret]", "PRIVATE KEY-----", "-----BEGIN "]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(words, max_size=25).map("".join))
def test_idempotent_on_generated_text(text: str) -> None:
    once = redact(text)
    assert redact(once) == once


def test_fast_on_large_ordinary_text() -> None:
    text = ORDINARY_CODE * 400  # ~380 KB of code full of trigger words
    start = time.process_time()  # CPU time: a busy machine slows the wall clock, not the work
    assert redact(text) == text
    assert time.process_time() - start < 0.5
