"""Secret detection: every kind is found, placeholders and fixtures are allowed, ordinary code
(shas, UUIDs, base64 images, lockfile hashes, long identifiers) is left alone.

The "secrets" here are random strings made at test time in each provider's shape: fakes.
"""

from __future__ import annotations

import base64
import itertools
import json
import random
import string
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from once.safety.redact import redact
from once.safety.secrets import (
    KINDS,
    Finding,
    find_secrets,
    is_placeholder,
    is_secret_name,
)

_RNG = random.Random(20240601)
B62 = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
UPPER = string.ascii_uppercase


def fake(n: int, alphabet: str = B62) -> str:
    return "".join(_RNG.choice(alphabet) for _ in range(n))


def b64(n: int) -> str:
    return base64.b64encode(bytes(_RNG.randrange(256) for _ in range(n))).decode()


def jwt() -> str:
    def part(obj: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part({'sub': '42', 'n': fake(8)})}.{fake(43)}"


PEM = "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(b64(48) for _ in range(4)) + "\n-----END RSA PRIVATE KEY-----"
DISCORD = base64.b64encode(b"198622483471925248").decode() + "." + fake(6) + "." + fake(27)

# (text containing one secret, the secret, its kind)
CASES: list[tuple[str, str, str]] = [
    (f"export ANTHROPIC_API_KEY={(s := 'sk-ant-api03-' + fake(93) + 'AA')}", s, "anthropic_key"),
    (f"client = OpenAI(api_key='{(s := 'sk-proj-' + fake(64))}')", s, "openai_key"),
    (f"OPENAI_API_KEY={(s := 'sk-' + fake(20) + 'T3BlbkFJ' + fake(20))}", s, "openai_key"),
    (f"aws_access_key_id = {(s := 'AKIA' + fake(16, string.ascii_uppercase + '234567'))}", s, "aws_access_key_id"),
    (f"aws_secret_access_key = {(s := fake(40, B62 + '/+'))}", s, "aws_secret_key"),
    (f"AWS_BEARER_TOKEN_BEDROCK={(s := 'ABSK' + b64(96))}", s, "aws_bedrock_key"),
    (f"git clone https://{(s := 'ghp_' + fake(36))}@github.com/o/r", s, "github_token"),
    (f"token: {(s := 'github_pat_' + fake(22) + '_' + fake(59))}", s, "github_token"),
    (f"GITLAB_TOKEN={(s := 'glpat-' + fake(20))}", s, "gitlab_token"),
    (f"slack = '{(s := 'xoxb-' + fake(12, string.digits) + '-' + fake(12, string.digits) + '-' + fake(24))}'",
     s, "slack_token"),
    (f"SLACK_APP={(s := 'xapp-1-A' + fake(10, UPPER) + '-' + fake(13, string.digits) + '-' + fake(64, HEX))}",
     s, "slack_token"),
    (f"curl -X POST https://hooks.slack.com/services/{(s := 'T' + fake(8) + '/B' + fake(8) + '/' + fake(24))}",
     s, "slack_webhook"),
    (f"stripe.api_key = '{(s := 'sk_live_' + fake(24))}'", s, "stripe_key"),
    (f"STRIPE_WEBHOOK={(s := 'whsec_' + fake(32))}", s, "stripe_key"),
    (f"maps?key={(s := 'AIza' + fake(35))}&q=x", s, "google_api_key"),
    (f'"client_secret": "{(s := "GOCSPX-" + fake(28))}"', s, "google_oauth_secret"),
    (f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={(s := b64(64))};EndpointSuffix=core.windows.net",
     s, "azure_storage_key"),
    (f"AZURE_CLIENT_SECRET: '{(s := fake(3) + '8Q~' + fake(34))}'", s, "azure_client_secret"),
    (f"cookie: session={(s := jwt())}; path=/", s, "jwt"),
    (f"key file:\n{PEM}\nend", PEM, "private_key"),
    (f"DATABASE_URL=postgres://app:{(s := fake(16))}@db.internal:5432/app", s, "url_password"),
    (f"mongo = 'mongodb+srv://svc:{(s := fake(14))}@cluster0.mongodb.net/db'", s, "url_password"),
    (f"REDIS_URL=redis://:{(s := fake(20))}@cache:6379/0", s, "url_password"),
    (f"//registry.npmjs.org/:_authToken={(s := 'npm_' + fake(36))}", s, "npm_token"),
    (f"password = {(s := 'pypi-AgEIcHlwaS5vcmc' + fake(80, B62 + '-_'))}", s, "pypi_token"),
    (f"TWILIO_API_KEY={(s := 'SK' + fake(32, HEX))}", s, "twilio_key"),
    (f"sg = SendGridAPIClient('{(s := 'SG.' + fake(22) + '.' + fake(43))}')", s, "sendgrid_key"),
    (f"MAILGUN={(s := 'key-' + fake(32))}", s, "mailgun_key"),
    (f"mailchimp: {(s := fake(32, HEX) + '-us6')}", s, "mailchimp_key"),
    (f"SHOPIFY={(s := 'shpat_' + fake(32, HEX))}", s, "shopify_token"),
    (f"HF_TOKEN={(s := 'hf_' + fake(34, string.ascii_letters))}", s, "huggingface_token"),
    (f"client.run('{DISCORD}')", DISCORD, "discord_token"),
    (f"bot = Bot('{(s := fake(10, string.digits) + ':AA' + fake(33))}')", s, "telegram_bot_token"),
    (f"OP_SERVICE_ACCOUNT_TOKEN={(s := 'ops_eyJ' + b64(240))}", s, "onepassword_token"),
    (f"HEROKU={(s := 'HRKU-' + fake(60))}", s, "heroku_key"),
    (f"do = '{(s := 'dop_v1_' + fake(64, HEX))}'", s, "digitalocean_token"),
    (f"DOPPLER={(s := 'dp.pt.' + fake(43))}", s, "doppler_token"),
    (f"host = x; dbtoken={(s := 'dapi' + fake(32, HEX))}", s, "databricks_token"),
    (f"JIRA={(s := 'ATATT3' + fake(186))}", s, "atlassian_token"),
    (f"fb {(s := fake(15, string.digits) + '|' + fake(27))}", s, "facebook_token"),
    (f"FB_PAGE={(s := 'EAAC' + fake(120))}", s, "facebook_token"),
    (f"VAULT_TOKEN={(s := 'hvs.' + fake(95))}", s, "vault_token"),
    (f"NOTION={(s := 'ntn_' + fake(11, string.digits) + fake(35))}", s, "notion_token"),
    (f"OCTOPUS={(s := 'API-' + fake(26, string.ascii_uppercase + string.digits))}", s, "octopus_key"),
    (f"SRC={(s := 'sgp_' + fake(40, HEX))}", s, "sourcegraph_token"),
    (f"ARTIFACTORY={(s := 'AKCp' + fake(69))}", s, "artifactory_key"),
    (f"GRAFANA={(s := 'glc_' + fake(60))}", s, "grafana_token"),
    (f"age: {(s := 'AGE-SECRET-KEY-1' + fake(58, 'QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L'))}", s, "age_secret_key"),
    (f"POSTMAN={(s := 'PMAK-' + fake(24, HEX) + '-' + fake(34, HEX))}", s, "postman_key"),
    (f"LINEAR={(s := 'lin_api_' + fake(40))}", s, "linear_key"),
    (f"SENTRY={(s := 'sntrys_' + fake(60))}", s, "sentry_token"),
    (f"GROQ={(s := 'gsk_' + fake(52))}", s, "groq_key"),
    (f"PPLX={(s := 'pplx-' + fake(48))}", s, "perplexity_key"),
    (f"XAI={(s := 'xai-' + fake(80))}", s, "xai_key"),
    (f"REPLICATE={(s := 'r8_' + fake(37))}", s, "replicate_token"),
    (f"NEWRELIC={(s := 'NRAK-' + fake(27, string.ascii_uppercase + string.digits))}", s, "newrelic_key"),
    (f"PSCALE={(s := 'pscale_tkn_' + fake(43))}", s, "planetscale_token"),
    (f"SUPABASE={(s := 'sbp_' + fake(40, HEX))}", s, "supabase_token"),
    (f"SQUARE={(s := 'sq0atp-' + fake(22))}", s, "square_token"),
    (f"FIGMA={(s := 'figd_' + fake(40))}", s, "figma_token"),
    (f"DT={(s := 'dt0c01.' + fake(24, UPPER + string.digits) + '.' + fake(64, UPPER + string.digits))}",
     s, "dynatrace_token"),
    (f"CONTENTFUL={(s := 'CFPAT-' + fake(43))}", s, "contentful_token"),
    (f"TFE={(s := fake(14) + '.atlasv1.' + fake(67))}", s, "terraform_token"),
    (f"FLY={(s := 'fo1_' + fake(43))}", s, "flyio_token"),
    (f"GEM={(s := 'rubygems_' + fake(48, HEX))}", s, "rubygems_key"),
    (f"CLOJARS={(s := 'CLOJARS_' + fake(60, string.ascii_lowercase + string.digits))}", s, "clojars_token"),
    (f"ALIYUN={(s := 'LTAI' + fake(20))}", s, "alibaba_key"),
    (f"FT_SECRET={(s := 's-s4t2ud-' + fake(64, HEX))}", s, "intra42_secret"),
    (f"sourcegraph: {(s := fake(40, HEX))}", s, "sourcegraph_token"),
    (f'headers = {{"Authorization": "Bearer {(s := fake(32))}"}}', s, "authorization"),
    (f"curl -u admin:{(s := fake(14))} https://api.internal/v1", s, "basic_auth"),
    (f"curl -H 'X-Api-Key: {(s := fake(24))}' https://api.internal/v1", s, "authorization"),
    (f"API_KEY={(s := fake(24))}", s, "secret"),
    (f'{{"api_key": "{(s := fake(20))}"}}', s, "secret"),
    (f"db_password = '{(s := 'hunter2' + fake(4))}'", s, "secret"),
    (f"client_secret: {(s := fake(12))}", s, "secret"),
    (f"SECRET_KEY=supersecretvalue{(s := '')}", "supersecretvalue", "secret"),
    (f"<password>{(s := fake(12))}</password>", s, "secret"),
    (f'<add name="x" password="{(s := fake(12))}" />', s, "secret"),
    (f"os.environ.setdefault('GITHUB_TOKEN', '{(s := fake(30))}')", s, "secret"),
    (f"  token: {(s := 's.' + fake(24))}", s, "secret"),
    (f"mysql -u root --password={(s := fake(12))} app", s, "secret"),
    (f"pg_dump --db-password {(s := fake(12))} app", s, "secret"),
    (f'let apiKey: string = "{(s := fake(20))}";', s, "secret"),
    (f'    api_key: str = "{(s := fake(20))}"', s, "secret"),
    (f'<add key="ApiKey" value="{(s := fake(20))}" />', s, "secret"),
    (f"Server=db;Database=app;User Id=sa;Password={(s := fake(12))};", s, "secret"),
    (f"PGPASSWORD={(s := fake(16))} psql -h db app", s, "secret"),
    (f"mysql -u root -p{(s := fake(14))} app < dump.sql", s, "secret"),
    (f"mysqldump -h db -P 3306 -p'{(s := fake(14))}' app", s, "secret"),
]


@pytest.mark.parametrize(("text", "secret", "kind"), CASES, ids=[f"{c[2]}-{i}" for i, c in enumerate(CASES)])
def test_each_kind_is_found(text: str, secret: str, kind: str) -> None:
    findings = find_secrets(text)
    assert [(f.kind, f.secret) for f in findings] == [(kind, secret)]
    f = findings[0]
    assert text[f.start:f.end] == secret and f.line == text.count("\n", 0, f.start) + 1


def test_every_kind_has_a_case() -> None:
    assert set(KINDS) == {kind for _, _, kind in CASES}


def test_findings_are_ordered_with_lines_and_rules() -> None:
    gh, aws = "ghp_" + fake(36), "AKIA" + fake(16, string.ascii_uppercase)
    text = f"# config\nA = '{gh}'\n\nB = '{aws}'  # two\n"
    found = find_secrets(text)
    assert found == [Finding("github_token", text.index(gh), text.index(gh) + len(gh), 2, gh, "github-token"),
                     Finding("aws_access_key_id", text.index(aws), text.index(aws) + len(aws), 4, aws,
                             "aws-access-key-id")]


@pytest.mark.parametrize("text", [
    "OPENAI_API_KEY=sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "AWS_ACCESS_KEY_ID=AKIAXXXXXXXXXXXXXXXX",
    "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
    "GITHUB_TOKEN=ghp_************************************",
    "GITHUB_TOKEN=ghp_...",
    'api_key: "<API_KEY>"',
    "token = '${GITHUB_TOKEN}'",
    'password: "{{ db_password }}"',
    "password=changeme",
    "PASSWORD=PASSWORD",
    "secret: your-secret-here",
    "API_KEY=your_api_key_here",
    '"password": "********"',
    "SECRET_KEY=%(secret)s",
    "api_key = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaa'",
    "api_key = 'abcdefghijklmnopqrstuvwxyz'",
    "api_key = '0123456789abcdef0123456789'",
    "HF_TOKEN=hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "postgres://user:password@localhost/db",
    "postgres://app:${DB_PASSWORD}@db/app",
    "curl -u $USER:$PASS https://x",
    "curl -H 'Authorization: Bearer <token>' https://x",
    "Authorization: Bearer $TOKEN",
    "stripe = 'sk_live_000000000000000000000000'",
    "password = 'password123'",
    "cloudant_password = 'a-fake-tooshort-key'",
    "mysql -u root -p app",
    "mysqldump -h db -P 3306 -p app > dump.sql",
    "mysql -u root -p$MYSQL_PWD app",
    "mysql --protocol=tcp -u app",
    "PGPASSWORD=$PGPASS psql",
])
def test_placeholders_are_not_findings(text: str) -> None:
    assert find_secrets(text) == []


def test_placeholder_values() -> None:
    for value in ("xxx", "XXXXXXXX", "changeme", "<api-key>", "${TOKEN}", "your-key-here", "{{ secrets.X }}",
                  "****", "...", "0000000000", "123456789", "{secret}", "%s", "[PASSWORD]", "dummy-token"):
        assert is_placeholder(value), value
    for value in ("abc123def456", "hunter2hunter2", fake(20), "s3cr3t-Pa55"):
        assert not is_placeholder(value), value


@pytest.mark.parametrize("marker", ["# pragma: allowlist secret", "# gitleaks:allow", "# once: allow-secret",
                                    "// pragma: allowlist-secret"])
def test_lines_marked_as_fixtures_are_allowed(marker: str) -> None:
    key = "ghp_" + fake(36)
    text = f"FIXTURE = '{key}'  {marker}\nREAL = '{key}'\n"
    found = find_secrets(text)
    assert [f.line for f in found] == [2]
    assert [f.line for f in find_secrets(text, honor_markers=False)] == [1, 2]


def test_nextline_marker_allows_only_the_next_line() -> None:
    key = "ghp_" + fake(36)
    text = f"# pragma: allowlist nextline secret\nA = '{key}'\nB = '{key}'\n"
    assert [f.line for f in find_secrets(text)] == [3]


ORDINARY = f'''\
import hashlib, os
# commit 9e2751d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8 and {uuid.uuid4()}
REQUEST_ID = "{uuid.uuid4()}"
DIGEST = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
ICON = "data:image/png;base64,{base64.b64encode(bytes(_RNG.randrange(256) for _ in range(3000))).decode()}"
lock = {{"integrity": "sha512-{b64(64)}", "resolved": "https://registry.npmjs.org/x/-/x-1.0.0.tgz"}}
checksum = "{fake(64, HEX)}"
h1 = "h1:{b64(32)}"
MAX_TOKENS = 100000000
TOKEN_LIMIT = 4096
class VeryLongConfigurationValueFactoryForTests:
    api_key_env_var_name = "ANTHROPIC_API_KEY"
    def make(self, api_key: str | None = None, password: Optional[str] = None) -> None:
        api_key = api_key or os.environ["ANTHROPIC_API_KEY"]
        token = self.tokenizer.encode(text)
        secret = secrets.token_hex(32)
        private_key: ed25519.Ed25519PrivateKey = load(path)
        auth = make_auth(config=self.config, token=token)
        headers = {{"x-api-key": api_key, "Authorization": f"Bearer {{api_key}}"}}
        password_hash = hashlib.sha256(password.encode()).hexdigest()
        public_key = "{b64(32)}"
        csrf_token = "{fake(40)}"
        next_page_token = "{fake(40)}"
        if password == "":
            raise ValueError("no password")
        print("the password", password, "--token", token)
url = "https://example.com:8443/path@v1?page=2"
ssh = "git@github.com:owner/repo.git"
color = "#ff00aa"; version = "1.2.3-beta.4+build.5"
'''


def test_ordinary_code_is_untouched() -> None:
    assert find_secrets(ORDINARY) == []
    assert redact(ORDINARY) == ORDINARY


def test_secret_names() -> None:
    for name in ("API_KEY", "github_token", "db-password", "clientSecret", "AUTH_CLIENTSECRET", "x-api-key",
                 "OPENAI_APIKEY", "passwd", "SECRET_KEY", "aws_secret_access_key", "credentials"):
        assert is_secret_name(name), name
    for name in ("max_tokens", "token_count", "monkey", "bypass", "public_key", "csrf_token", "key", "sort_key",
                 "keyword", "author", "next_page_token", "password_hash"):
        assert not is_secret_name(name), name


def test_redaction_replaces_the_secret_only_and_is_idempotent() -> None:
    text = "\n".join(c[0] for c in CASES)
    once = redact(text)
    assert redact(once) == once
    for _, secret, kind in CASES:
        assert secret not in once and f"[REDACTED:{kind}]" in once
    assert "export ANTHROPIC_API_KEY=[REDACTED:anthropic_key]" in once
    assert "postgres://app:[REDACTED:url_password]@db.internal:5432/app" in once


def test_a_long_file_is_scanned_quickly() -> None:
    import time

    text = ORDINARY * 400  # ~2 MB of code without secrets
    start = time.process_time()  # CPU time: a busy machine slows the wall clock, not the work
    assert find_secrets(text) == []
    assert time.process_time() - start < 2.0  # ~0.1 s here


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(list(B62 + "_-.:=/+~'\" \n@") + ["sk-", "ghp_", "AKIA", "key=", "://", "eyJ",
                                                                   "password: ", "xox", fake(12), fake(36)]),
                max_size=120).map("".join))
def test_findings_are_consistent_on_any_text(text: str) -> None:
    found = find_secrets(text)
    for f in found:
        assert text[f.start:f.end] == f.secret and f.secret and f.kind in KINDS
        assert f.line == text.count("\n", 0, f.start) + 1
    assert all(a.end <= b.start for a, b in itertools.pairwise(found))


def test_an_aws_secret_near_its_access_key_id_is_found_in_any_words() -> None:
    key_id, secret = "AKIA2E0A8F3B244C9986", "Zq8vR2mN4tY7wB1xK9pL3sD6fG0hJ5cVbN8mQ2rT"
    prompt = f"deploy with key {key_id} and the secret {secret} to staging"
    assert redact(prompt) == "deploy with key [REDACTED:aws_access_key_id] and the secret [REDACTED:aws_secret_key] to staging"
    # A git commit id after an access key id is not a secret; nor are 40 characters far away.
    sha = "3f786850e387550fdab836ed7e6dc881de23001b"
    assert sha in redact(f"{key_id} landed in {sha}")
    assert secret in redact(f"{key_id}" + " filler words" * 30 + f" {secret}")


# A random value of 32+ characters under a secret-looking name, in the forms it is written in.
HIGH_ENTROPY = fake(32)
ASSIGNMENT_FORMS = [
    'x_secret = "{v}"',
    "API_TOKEN: str = '{v}'",
    'config = {{"client_secret": "{v}", "debug": True}}',
    "db_password: {v}",
    'db_password: "{v}"',
    '{{\n  "api_token": "{v}"\n}}',
    "FOO_SECRET={v}",
    'FOO_SECRET="{v}"',
    "export X_KEY={v}",
    "export X_KEY='{v}'",
    'connect(host, secret_key="{v}")',
    "Client(auth_token='{v}', retries=3)",
    "self.x_secret = '{v}'",
    "settings['API_KEY'] = '{v}'",
    "x_secret: Final = '{v}'",
    "X_TOKEN = b'{v}'",
    'X_TOKEN = r"{v}"',
    'api_key = """{v}"""',
    "API_KEY = ('{v}')",
    "x_secret = (\n    '{v}'\n)",
    "ENV X_SECRET {v}",
    "X_SECRET ?= {v}",
]


@pytest.mark.parametrize("value", [HIGH_ENTROPY, fake(40), fake(32, HEX), b64(30)], ids=["b62", "b62-40", "hex", "b64"])
@pytest.mark.parametrize("form", ASSIGNMENT_FORMS)
def test_a_random_value_under_a_secret_name_is_found_in_every_form(form: str, value: str) -> None:
    text = form.format(v=value)
    assert value in [f.secret for f in find_secrets(text)], text


@pytest.mark.parametrize("value", [
    "changeme" * 4,
    "<your-secret-here>",
    "${SECRET}",
    "a" * 32,
    "ab" * 16,
    "abc123" * 6,
    "x" * 40,
    "*" * 40,
    "0123456789abcdef0123456789abcdef",
    "YOUR_SECRET_GOES_HERE_1234567890abcdef",
    "ThisIsNotARealSecretJustAPlaceholder",
    "django-insecure-change-me-in-production",
])
@pytest.mark.parametrize("form", ['x_secret = "{v}"', "FOO_SECRET={v}", 'config = {{"client_secret": "{v}"}}'])
def test_placeholders_under_a_secret_name_are_not_findings(form: str, value: str) -> None:
    assert find_secrets(form.format(v=value)) == []


@pytest.mark.parametrize("text", [
    'x_secret = os.environ["X_SECRET"]',
    "X_SECRET = os.environ.get('X_SECRET', '')",
    "x_secret = hashlib.sha256(b'test_fixture_name').hexdigest()",
    'x_secret = f"{prefix}-{suffix}"',
    "token = 'unknown_12_%d' % code",  # a format string
    "reply_token = 'id_%(name)s_%(index)d' % values",
    "SECRET_KEY = 'AWS_SECRET_ACCESS_KEY'",  # the name of a setting, not its value
    "SECRET_KEY = 'AWSSecretKey'",
    "TOKEN_FIELD_KEY = 'aws_session_token'",
    "dest_key='Ec2SubnetId'",  # where a value goes in a request, not a key
    'conn["PASSWORD"] = primary_settings["PASSWORD"]',
    "PLUGIN_LIB_KEY = 'org.github.fonti18n.cu2qu.curve_type'",  # a reverse-DNS name
    "FILTERS = {'pass': 'bandpass', 'stop': 'bandstop'}",  # a word made from the name
])
def test_code_that_names_secrets_is_not_a_finding(text: str) -> None:
    assert find_secrets(text) == []


def test_a_hex_literal_under_a_secret_name_counts() -> None:
    # Many keys are hex (Flask SECRET_KEY, API keys): a hex literal there is a secret, while the
    # same digest computed in code, or under an ordinary name, is not.
    digest = fake(40, HEX)
    assert [f.secret for f in find_secrets(f'WEBHOOK_SECRET = "{digest}"')] == [digest]
    assert find_secrets(f'FIXTURE_SHA = "{digest}"') == []


def test_repeated_short_units_are_placeholders() -> None:
    for value in ("abababab", "abc123abc123abc123", "xyz" * 11):
        assert is_placeholder(value), value
    assert not is_placeholder(fake(32))
    assert not is_placeholder("%dE4" + fake(20))  # %dE is URL encoding, not a format
