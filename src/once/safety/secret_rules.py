"""What looks like a secret: value heuristics, names of secrets, and one rule per token shape.

A token rule is a compiled regex plus literal triggers (see `Rule.run` for how they are
used). The group `secret` (else the whole match) is the secret; the group `body` (else
the secret) is what the placeholder check looks at, so `ghp_xxxx...` is a placeholder
while `ghp_<36 random characters>` is a token. Contextual rules (`name = value`, URLs,
curl flags, Authorization headers) and the scan itself are in `once.safety.secrets`.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from once.lazyre import LazyPattern

Check = Callable[[str], bool]


# ---------------------------------------------------------------- value heuristics

_TEMPLATE_WHOLE = LazyPattern(
    r"""(?x)^(?:
      <[^<>]*> | \$\{[^}]*\}? | \$\(.*\)? | \$[A-Za-z_]\w* | \$\d | \{\{.*\}\}? | \{%.*%\}?
    | \{[A-Za-z_][A-Za-z_.]*\d*\} | %[A-Za-z_]\w*% | %(?:\([^)]*\))?[sdr] | \[[A-Za-z_ -]+\]
    | \#\{[^}]*\} | @[A-Z_]+@ | __[A-Z_]+__ | \{[^{}]*[^\w{}~.+/=-][^{}]*\}
    )$"""
)
# A %s/%d/%(name)s conversion makes a format string ('unknown_%d' % n); %dF is URL encoding.
_MASKS = LazyPattern(r"\$\{|\{\{|\{[\w.]*\}|\$\(|\$[A-Za-z_]|<%|\[REDACTED|\.\.|…|[xX*#•]{4,}"
                    r"|%(?:\([\w.]+\))?[sr]|%(?:\([\w.]+\))?d(?![0-9A-Fa-f])")
_WEAK_DEFAULT = LazyPattern(r"(?i)(?:password|passwd|pass|secret|test|admin|root|guest|user|qwerty|letmein)\d*!?")
_DUMMY_WORDS = LazyPattern(r"(?i)fake|dummy|sample|mock|anonymous|not[_-]?(?:a[_-]?)?real")
_PLACEHOLDER_WORDS = LazyPattern(
    r"(?i)your|example|change[_-]?me|placeholder|redacted|dummy|replace|insert|here\b|here_|todo|fixme"
)
_REPEATED = LazyPattern(r"(.{1,8}?)\1{2,}")
_PLACEHOLDER_VALUES = frozenset(
    "none null nil undefined true false empty string str bytes int secret secrets password passwd pass pwd "
    "token key apikey api_key value default foo bar baz foobar test testing admin root guest user username "
    "login mypassword mysecret mytoken abc abcd abc123 qwerty letmein tiger sample demo fake mock".split()
)


def shannon_entropy(value: str) -> float:
    """Bits per character of `value` (0 for an empty string)."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def _longest_step_run(value: str) -> int:
    """Longest run of consecutive characters going up (or down) by one: abcdef, 654321."""
    best = run_up = run_down = 1
    for a, b in itertools.pairwise(value):
        step = ord(b) - ord(a)
        run_up = run_up + 1 if step == 1 else 1
        run_down = run_down + 1 if step == -1 else 1
        best = max(best, run_up, run_down)
    return best


def is_masked(value: str) -> bool:
    """A value that says it is not real: a template (<KEY>, ${VAR}, {{var}}), a mask (xxxx,
    ****, ..., 0000), or a placeholder word (your-key-here, changeme, example, redacted)."""
    v = value.strip().strip("\"'`")
    if not v or set(v) <= set("0-_."):
        return True  # empty, or zeros: sk_live_000000000000
    return bool(_TEMPLATE_WHOLE.match(v) or _MASKS.search(v) or _PLACEHOLDER_WORDS.search(v))


def is_placeholder(value: str) -> bool:
    """True for values that are obviously not real secrets: masked ones (see `is_masked`),
    common dummy words (password, test, none), all-same characters, long repeats and
    sequences (123456, abcdef)."""
    if is_masked(value):
        return True
    v = value.strip().strip("\"'`")
    if v.lower() in _PLACEHOLDER_VALUES or _WEAK_DEFAULT.fullmatch(v) or _DUMMY_WORDS.search(v):
        return True  # password1, test123!, a-fake-key
    if len({c for c in v if c.isalnum()}) <= 1 or (len(v) >= 6 and _REPEATED.fullmatch(v)):
        return True  # aaaa, abababab, abc123abc123abc123
    return len(v) >= 6 and (_longest_step_run(v) >= 6 or re.search(r"(.)\1{7,}", v) is not None)


_HEX = LazyPattern(r"[0-9a-f-]+|[0-9A-F-]+")
_LETTERS_AND_SEPARATORS = LazyPattern(r"[A-Za-z]+(?:[_.\-/ ][A-Za-z]+)*")
_WORD_CHUNKS = LazyPattern(r"[_.\-/]*(?:[A-Za-z]+\d*|\d+)(?:[_.\-/]+(?:[A-Za-z]+\d*|\d+))+")


_DOTTED_NAME = LazyPattern(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*){2,}")
_WORDS = LazyPattern(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_VOWEL = LazyPattern(r"[aeiouyAEIOUY]")


def split_words(text: str) -> list[str]:
    """Words of an identifier or value: API_KEY -> API, KEY; clientSecret2 -> client, Secret, 2."""
    return _WORDS.findall(text)


def _camel_words(value: str) -> bool:
    """Mostly Capitalized words (RSAPrivateKey, MyTokenClass2, SyncX509Auth): an identifier.
    Random text rarely has two such chunks covering most of its letters."""
    chunks = split_words(value)
    letters = sum(len(c) for c in chunks if c.isalpha())
    words = [c for c in chunks if len(c) >= 3 and c[0].isupper() and c[1:].islower() and _VOWEL.search(c)]
    return len(words) >= 2 and sum(map(len, words)) >= 0.75 * letters


def _digit_then_letter(value: str) -> bool:
    return any(c.isdigit() and d.isalpha() for c, d in itertools.pairwise(value))


def looks_random(value: str, min_len: int = 10) -> bool:
    """A value that looks machine-generated (a key), not a word, identifier, path or number."""
    n = len(value)
    if n < min_len or value.isdigit() or is_placeholder(value):
        return False
    if value.startswith("MII"):
        return True  # base64 of DER key material
    if "://" in value or not any(c.isdigit() or c.isupper() for c in value) or _camel_words(value):
        return False  # a URL; lower-case words: true|false; identifiers: Ed25519PrivateKey
    entropy = shannon_entropy(value)
    if _HEX.fullmatch(value):
        return n >= 16 and entropy >= 2.8
    if _LETTERS_AND_SEPARATORS.fullmatch(value):
        # Letters only: random when case-mixed like base62 (camelCase has few capitals).
        upper = sum(c.isupper() for c in value) / n
        return n >= 12 and 0.3 <= upper <= 0.8 and entropy >= 3.3
    if _WORD_CHUNKS.fullmatch(value) and not _digit_then_letter(value):
        return False  # words and numbers joined by separators: DOC_Vector_5_32, v1.2.3-beta
    if _DOTTED_NAME.fullmatch(value):
        return False  # a module path or reverse-DNS name: com.github.googlei18n.cu2qu.curve_type
    return entropy >= min(3.3, math.log2(n) - 0.7)


def is_random_mixed(body: str) -> bool:
    """Base62-like: mixed case (a camelCase identifier has few capitals) and high entropy."""
    n = len(body)
    upper = sum(c.isupper() for c in body)
    return n > 0 and 0.15 <= upper / n <= 0.85 and shannon_entropy(body) >= 3.5


def _jwt_header_ok(token: str) -> bool:
    import base64

    head = token.split(".", 1)[0]
    try:
        raw = base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))
        text = raw.decode("utf-8")
    except ValueError:
        return False
    return text.startswith("{") and '"' in text


def _pem_body_ok(block: str) -> bool:
    """A key block with real content: 32+ base64 characters outside the header lines."""
    lines = block.replace("\\n", "\n").replace("\\r", "\n").splitlines()
    body = "".join(line for line in lines[1:] if ":" not in line and "-----" not in line)
    b64 = sum(c.isalnum() or c in "+/=" for c in body)
    return b64 >= 32 and "..." not in body and not re.search(r"[xX*]{6,}", body)


# ---------------------------------------------------------------- secret-looking names

_KEYWORDS = ("password", "passwd", "pwd", "passphrase", "pass", "secret", "token", "key",
             "credential", "credentials", "creds", "auth")
_HUMAN_CHOSEN = frozenset({"password", "passwd", "pwd", "passphrase", "pass", "secret"})
# `apikey`, `authToken` and `clientsecret` are one word; `monkey` and `bypass` are not names of secrets.
_QUALIFIERS = frozenset(
    "api access secret private auth client app refresh bearer bot master db admin user root session signing "
    "encryption webhook service account consumer shared aws github gitlab slack stripe openai anthropic npm "
    "pypi docker hf sas storage license subscription id oauth jwt hmac mail smtp ftp redis mongo mysql pg postgres "
    "pgsql ldap".split()
)
_NOT_SECRET_QUALIFIERS = frozenset(
    "page next prev previous continuation cursor sync pagination eos bos pad unk mask sep cls special start end "
    "stop max min num type cancel cancellation lexer parse parser input output string word text last first "
    "current primary foreign sort cache dict map partition row shard routing idempotency dedup lookup hash object "
    "s3 bucket file path i18n translation message label field column index unique node item entry hot short group "
    "sub env config setting settings state store registry attr name default kms schema sequence tree heap "
    "composite natural surrogate no has is use show hide check validate require required reset forgot reply "
    "dest destination source src target "
    "dummy fake test example".split()
)
_NEVER_SECRET = frozenset({"public", "pub", "publishable", "csrf", "xsrf"})


def secret_name_tier(name: str) -> str | None:
    """"human" (passwords: any non-placeholder value), "random" (keys, tokens: the value must
    look machine-generated) or None when `name` is not the name of a secret."""
    words = [w.lower() for w in split_words(name)]
    keyword = next((k for k in _KEYWORDS if words and words[-1].endswith(k)), None)
    if keyword is None:
        return None
    if words[-1] != keyword:  # one word: apikey, authToken's "token" is split already
        stem = words[-1][: -len(keyword)]
        if stem not in _QUALIFIERS:
            return None  # monkey, bypass, passkey
        words[-1:] = [stem, keyword]
    before = words[-2] if len(words) > 1 else None
    if before in _NOT_SECRET_QUALIFIERS or (keyword == "key" and before is None):
        return None  # sort_key, next_page_token, a bare `key`
    if _NEVER_SECRET.intersection(words):
        return None  # publicKeyToken, csrf_token
    return "human" if keyword in _HUMAN_CHOSEN or (keyword == "key" and "secret" in words) else "random"


def is_secret_name(name: str) -> bool:
    """True for names of secrets: API_KEY, github_token, db-password, clientSecret."""
    return secret_name_tier(name) is not None


# ---------------------------------------------------------------- rules

@dataclass(frozen=True)
class Rule:
    name: str
    """Stable id shown to users, e.g. `github-pat`."""
    kind: str
    """What was found, e.g. `github_token`: the label in `[REDACTED:<kind>]`."""
    regex: LazyPattern
    """Compiled on first use: a rule whose trigger never occurs costs nothing."""
    triggers: tuple[str, ...]
    """Literals, one of which must occur for the rule to run at all."""
    lower: bool = False
    """Triggers are lower-case and the regex runs on the ASCII-lowered text."""
    window: tuple[int, int] | None = None
    """(back, forward): the regex has no literal prefix and its triggers are common, so it is
    tried only from `back` characters before each trigger occurrence to `forward` after it."""
    check: Check | None = None
    """Extra test on the secret (randomness, a JSON header...)."""
    placeholder_check: bool = True
    run: str = ""
    """"start": the token starts a run of 20+ [A-Za-z0-9_.-] characters and each trigger is
    its prefix, so the rule is tried only where a run starts with a trigger (one dict lookup
    per run); "inside": the rule is searched in runs containing a trigger; "": the rule runs
    when a trigger occurs anywhere in the text."""
    min_len: int = 20
    """The shortest token ("inside" rules skip shorter runs)."""
    strict: bool = False
    """A weak shape (hex after a short prefix): all-same, sequential and dummy values are
    placeholders too. Strong prefixes only reject masks (xxxx, <KEY>, your-key-here)."""


# Rules whose tokens contain `~`, `|`, `:`, `/`, `=` or spaces: they run when a trigger
# occurs anywhere in the text.
_SCAN_RULES = frozenset({"private-key", "slack-webhook", "azure-storage-key", "npmrc-auth-token"})
# Rules without a prefix, searched inside runs that contain their trigger.
_INSIDE_RULES = frozenset({"discord-bot-token", "terraform-cloud-token", "mailchimp-api-key"})


def _left(literal: str) -> str:
    """`literal` not continuing a longer word on its left. The check sits after the literal,
    so the regex engine keeps its fast literal search."""
    return rf"{re.escape(literal)}(?<![A-Za-z0-9_-]{re.escape(literal)})"


_END = r"(?![A-Za-z0-9_-])"


def _r(name: str, kind: str, pattern: str, *triggers: str, lower: bool = False,
       window: tuple[int, int] | None = None, check: Check | None = None, placeholder_check: bool = True,
       strict: bool = False, min_len: int = 20) -> Rule:
    run = "inside" if name in _INSIDE_RULES else "" if window or lower or name in _SCAN_RULES else "start"
    return Rule(name, kind, LazyPattern(pattern), triggers, lower, window, check, placeholder_check, run,
                min_len, strict)


def _digit_and_letter(value: str) -> bool:
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def _not_words(value: str) -> bool:
    """Not words and numbers joined by separators (sk-2024-annual-report is not a key)."""
    return not (_WORD_CHUNKS.fullmatch(value) and not _digit_then_letter(value))


def _openai_ok(secret: str) -> bool:
    body = re.sub(r"^sk-(?:(?:proj|svcacct|admin|None)-)?", "", secret)
    return _digit_and_letter(body) and _not_words(body)


def _random(secret: str) -> bool:
    return looks_random(secret, min_len=8)


_PROVIDER_RULES: tuple[Rule, ...] = (
    _r("private-key", "private_key",
       r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----(?:[A-Za-z0-9+/=:,. \t\r\n]|-(?!----)|\\[nr])*+"
       r"(?:-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----)?",
       "PRIVATE KEY", check=_pem_body_ok, placeholder_check=False),
    _r("anthropic-api-key", "anthropic_key",
       _left("sk-ant-") + r"(?:[a-z]{2,8}\d{2}-)?(?P<body>[A-Za-z0-9_-]{20,})", "sk-ant-"),
    _r("openai-api-key", "openai_key",
       _left("sk-") + r"(?:(?:proj|svcacct|admin|None)-)?(?P<body>[A-Za-z0-9_-]{20,})" + _END,
       "sk-", check=_openai_ok),
    _r("aws-access-key-id", "aws_access_key_id",
       r"(?<![A-Za-z0-9])(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)(?P<body>[A-Z0-9]{16})(?![A-Za-z0-9])",
       "AKIA", "ASIA", "ABIA", "ACCA", "A3T"),
    _r("aws-bedrock-api-key", "aws_bedrock_key", _left("ABSK") + r"(?P<body>[A-Za-z0-9+/]{100,}={0,2})", "ABSK"),
    _r("github-token", "github_token",
       r"(?<![A-Za-z0-9_])(?:gh[pousr]_(?P<body>[A-Za-z0-9]{36,255})|github_pat_[A-Za-z0-9_]{22,255})"
       + _END, "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    _r("gitlab-token", "gitlab_token",
       r"(?<![A-Za-z0-9_-])(?:(?:glpat|gldt|glft|glsoat|glrt)-(?P<body>[A-Za-z0-9_-]{20,50})"
       r"|GR1348941[A-Za-z0-9_-]{20,50}|glcbt-(?:[0-9a-fA-F]{2}_)?[A-Za-z0-9_-]{20,50}"
       r"|glimt-[A-Za-z0-9_-]{25}|glptt-[A-Za-z0-9_-]{40}|glagent-[A-Za-z0-9_-]{50,1024}"
       r"|gloas-[A-Za-z0-9_-]{64})(?![A-Za-z0-9_-])",
       "glpat-", "gldt-", "glft-", "glsoat-", "glrt-", "GR1348941", "glcbt-", "glimt-", "glptt-", "glagent-",
       "gloas-"),
    _r("slack-token", "slack_token",
       _left("xox") + r"[abposre](?:\.xox[bp])?-(?:\d{6,}-)+(?P<body>[A-Za-z0-9-]{8,})", "xox"),
    _r("slack-app-token", "slack_token", _left("xapp-") + r"\d-[A-Z0-9]{8,}-\d{8,}-(?P<body>[a-z0-9]{32,})",
       "xapp-"),
    _r("slack-webhook", "slack_webhook",
       r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<secret>[A-Za-z0-9_/+-]{20,})", "hooks.slack.com"),
    _r("stripe-key", "stripe_key",
       r"(?<![A-Za-z0-9])[rs]k_(?:live|test|prod)_(?P<body>[A-Za-z0-9]{10,247})" + _END,
       "sk_live_", "rk_live_", "sk_test_", "rk_test_", "sk_prod_", "rk_prod_"),
    _r("stripe-webhook-secret", "stripe_key", _left("whsec_") + r"(?P<body>[A-Za-z0-9+/]{32,})", "whsec_"),
    _r("google-api-key", "google_api_key", _left("AIza") + r"(?P<body>[0-9A-Za-z_-]{35})" + _END, "AIza"),
    _r("google-oauth-client-secret", "google_oauth_secret", _left("GOCSPX-") + r"(?P<body>[A-Za-z0-9_-]{28})"
       + _END, "GOCSPX-"),
    _r("azure-storage-key", "azure_storage_key",
       r"AccountKey\s*=\s*(?P<secret>[A-Za-z0-9+/]{80,100}={0,2})", "AccountKey"),
    _r("azure-ad-client-secret", "azure_client_secret",
       r"(?<![A-Za-z0-9_~.-])(?P<secret>[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34})(?![A-Za-z0-9_~.-])",
       "Q~", window=(5, 40), strict=True),
    _r("jwt", "jwt",
       _left("eyJ") + r"[A-Za-z0-9_-]{10,}={0,2}\.eyJ[A-Za-z0-9_-]{10,}={0,2}(?:\.[A-Za-z0-9_-]{10,}={0,2})?"
       + _END, "eyJ", check=_jwt_header_ok),
    _r("npm-token", "npm_token", _left("npm_") + r"(?P<body>[A-Za-z0-9]{36})" + _END, "npm_"),
    _r("npmrc-auth-token", "npm_token",
       r"//[^\s/]+(?:/[^\s]*)?/:_authToken=[ \t]*(?P<secret>[A-Za-z0-9_-]{20,})", "_authToken"),
    _r("pypi-token", "pypi_token",
       _left("pypi-") + r"(?:AgEIcHlwaS5vcmc|AgENdGVzdC5weXBpLm9yZw)(?P<body>[A-Za-z0-9_-]{70,})", "pypi-AgE"),
    _r("twilio-api-key", "twilio_key", _left("SK") + r"(?P<body>[0-9a-fA-F]{32})" + _END, "SK", strict=True),
    _r("sendgrid-api-key", "sendgrid_key", _left("SG.") + r"[A-Za-z0-9_-]{22}\.(?P<body>[A-Za-z0-9_-]{43})"
       + _END, "SG."),
    _r("mailgun-api-key", "mailgun_key", _left("key-") + r"(?P<body>[0-9a-zA-Z]{32})" + _END, "key-",
       check=_random, strict=True),
    _r("mailchimp-api-key", "mailchimp_key",
       r"(?<![A-Za-z0-9])(?P<secret>[0-9a-f]{32}-us\d{1,2})(?![A-Za-z0-9])", "-us", strict=True, min_len=35),
    _r("shopify-token", "shopify_token", _left("shp") + r"(?:at|ca|pa|ss)_(?P<body>[a-fA-F0-9]{32})" + _END,
       "shpat_", "shpca_", "shppa_", "shpss_", strict=True),
    _r("huggingface-token", "huggingface_token",
       r"(?<![A-Za-z0-9_])(?:hf_|api_org_)(?P<body>[A-Za-z]{34})" + _END, "hf_", "api_org_",
       check=lambda s: is_random_mixed(s.split("_")[-1]), strict=True),
    _r("discord-bot-token", "discord_token",
       r"[MNO][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.(?P<body>[A-Za-z0-9_-]{27,38})" + _END, ".", min_len=59,
       check=lambda s: _digit_and_letter(s.split(".")[0]) and is_random_mixed(s.split(".")[2]), strict=True),
    _r("telegram-bot-token", "telegram_bot_token",
       r"(?<!\d)\d{8,10}:AA(?P<body>[A-Za-z0-9_-]{33})" + _END, ":AA", window=(11, 40), strict=True),
    _r("1password-service-token", "onepassword_token", _left("ops_eyJ") + r"(?P<body>[A-Za-z0-9+/=_-]{250,})",
       "ops_eyJ"),
    _r("1password-secret-key", "onepassword_token",
       _left("A3-") + r"(?P<body>[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}"
       r"-[A-Z0-9]{5})" + _END, "A3-", strict=True),
    _r("heroku-api-key", "heroku_key", _left("HRKU-") + r"(?P<body>[A-Za-z0-9_-]{60})" + _END, "HRKU-"),
    _r("digitalocean-token", "digitalocean_token",
       r"(?<![A-Za-z0-9_])do[por]_v1_(?P<body>[a-f0-9]{64})" + _END, "dop_v1_", "doo_v1_", "dor_v1_", strict=True),
    _r("doppler-token", "doppler_token",
       _left("dp.") + r"(?:pt|st|sa|scim|audit|ct)\.(?P<body>[A-Za-z0-9]{40,44})" + _END, "dp."),
    _r("databricks-token", "databricks_token", _left("dapi") + r"(?P<body>[a-f0-9]{32})(?:-\d)?" + _END, "dapi",
       strict=True),
    _r("atlassian-api-token", "atlassian_token", r"(?<![A-Za-z0-9_])AT(?:ATT|CTT)3(?P<body>[A-Za-z0-9_=-]{150,})",
       "ATATT3", "ATCTT3"),
    _r("facebook-app-token", "facebook_token",
       r"(?<!\d)\d{15,16}(?:\||%7C)(?P<body>[A-Za-z0-9_-]{27,40})" + _END, "|", "%7C", window=(17, 46),
       check=lambda s: _digit_and_letter(s[-27:]) or is_random_mixed(s[-27:]), strict=True),
    _r("facebook-page-token", "facebook_token", _left("EAA") + r"[MC](?P<body>[A-Za-z0-9]{100,})", "EAA"),
    _r("vault-token", "vault_token", _left("hv") + r"[sb]\.(?P<body>[A-Za-z0-9_-]{90,})", "hvs.", "hvb."),
    _r("intra42-client-secret", "intra42_secret", _left("s-s4t2") + r"(?:ud|af)-(?P<body>[a-f0-9]{64})" + _END,
       "s-s4t2", strict=True),
    _r("notion-token", "notion_token", _left("ntn_") + r"(?P<body>\d{11}[A-Za-z0-9]{35})" + _END, "ntn_", strict=True),
    _r("octopus-deploy-api-key", "octopus_key", _left("API-") + r"(?P<body>[A-Z0-9]{26})" + _END, "API-", strict=True),
    _r("sourcegraph-token", "sourcegraph_token",
       _left("sgp_") + r"(?:(?:[a-fA-F0-9]{16}|local)_)?(?P<body>[a-fA-F0-9]{40})" + _END, "sgp_", strict=True),
    _r("sourcegraph-keyword", "sourcegraph_token",
       r"sourcegraph[\w.-]{0,20}[\"']?\s*[:=]\s*[\"']?(?P<secret>[0-9a-f]{40})(?![0-9a-z])", "sourcegraph",
       lower=True, strict=True),
    _r("artifactory-token", "artifactory_key",
       r"(?<![A-Za-z0-9])(?:AKCp[A-Za-z0-9]{69}|cmVmd[A-Za-z0-9]{59})(?![A-Za-z0-9])", "AKCp", "cmVmd",
       check=_random, strict=True),
    _r("grafana-token", "grafana_token",
       r"(?<![A-Za-z0-9_])(?:glc_(?P<body>[A-Za-z0-9+/]{32,400}={0,2})|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8})",
       "glc_", "glsa_", strict=True),
    _r("age-secret-key", "age_secret_key", r"AGE-SECRET-KEY-1(?P<body>[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})",
       "AGE-SECRET-KEY-1"),
    _r("postman-api-key", "postman_key", _left("PMAK-") + r"(?P<body>[a-f0-9]{24}-[a-f0-9]{34})" + _END, "PMAK-"),
    _r("linear-api-key", "linear_key", _left("lin_api_") + r"(?P<body>[A-Za-z0-9]{40})" + _END, "lin_api_"),
    _r("sentry-token", "sentry_token", _left("sntry") + r"[su]_(?P<body>[A-Za-z0-9+/=_-]{40,})", "sntrys_",
       "sntryu_"),
    _r("groq-api-key", "groq_key", _left("gsk_") + r"(?P<body>[A-Za-z0-9]{52})" + _END, "gsk_"),
    _r("perplexity-api-key", "perplexity_key", _left("pplx-") + r"(?P<body>[A-Za-z0-9]{48})" + _END, "pplx-"),
    _r("xai-api-key", "xai_key", _left("xai-") + r"(?P<body>[A-Za-z0-9]{80})" + _END, "xai-"),
    _r("replicate-token", "replicate_token", _left("r8_") + r"(?P<body>[A-Za-z0-9]{37})" + _END, "r8_"),
    _r("new-relic-key", "newrelic_key", _left("NRAK-") + r"(?P<body>[A-Z0-9]{27})" + _END, "NRAK-"),
    _r("planetscale-token", "planetscale_token",
       _left("pscale_") + r"(?:tkn|oauth|pw)_(?P<body>[A-Za-z0-9=._-]{32,64})" + _END, "pscale_"),
    _r("supabase-token", "supabase_token", _left("sbp_") + r"(?P<body>[a-f0-9]{40})" + _END, "sbp_"),
    _r("square-token", "square_token", _left("sq0") + r"(?:atp|csp)-(?P<body>[A-Za-z0-9_-]{22,43})" + _END,
       "sq0atp-", "sq0csp-"),
    _r("figma-token", "figma_token", _left("figd_") + r"(?P<body>[A-Za-z0-9_-]{40})" + _END, "figd_"),
    _r("dynatrace-token", "dynatrace_token", _left("dt0c01.") + r"(?P<body>[A-Z0-9]{24}\.[A-Z0-9]{64})" + _END,
       "dt0c01."),
    _r("contentful-token", "contentful_token", _left("CFPAT-") + r"(?P<body>[A-Za-z0-9_-]{43})" + _END, "CFPAT-"),
    _r("terraform-cloud-token", "terraform_token",
       r"(?<![A-Za-z0-9])[A-Za-z0-9]{14}\.atlasv1\.(?P<body>[A-Za-z0-9_=-]{60,70})" + _END, ".atlasv1.", min_len=80),
    _r("flyio-token", "flyio_token", _left("fo1_") + r"(?P<body>[A-Za-z0-9_-]{43})" + _END, "fo1_"),
    _r("rubygems-key", "rubygems_key", _left("rubygems_") + r"(?P<body>[a-f0-9]{48})" + _END, "rubygems_"),
    _r("clojars-token", "clojars_token", _left("CLOJARS_") + r"(?P<body>[a-z0-9]{60})" + _END, "CLOJARS_"),
    _r("alibaba-access-key", "alibaba_key", _left("LTAI") + r"(?P<body>[A-Za-z0-9]{20})" + _END, "LTAI",
       check=lambda s: is_random_mixed(s[4:]), strict=True),
)


def provider_rules() -> tuple[Rule, ...]:
    """Token-shaped rules, most specific first."""
    return _PROVIDER_RULES
