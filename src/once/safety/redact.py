"""Credential redaction: every text the store writes passes through here.

Each rule is a compiled regex plus cheap literal "triggers": a rule runs only when
one of its triggers occurs in the text, so the common case (no secret-looking
substring at all) costs a few `in` checks. A match becomes `[REDACTED:<kind>]`;
named groups `pre` and `post` are kept (a variable name, a URL's user and host).
Redaction is idempotent: redacting redacted text changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Callable

_MARK = "[REDACTED"

# A name that ends in a secret-ish word: API_KEY, github_token, db-password, client_secret.
# It must end there, so max_tokens, token_count and secret_santa are not names of secrets.
_NAME_END = r"(?:api[_-]?key|apikey|(?:secret|private|access)[_-]?key|secret|token|passw(?:or)?d)"
_SECRET_NAME_RE = re.compile(rf"(?i)[A-Za-z0-9_.-]*?{_NAME_END}")

_PLACEHOLDER_RE = re.compile(
    r"(?i)^(?:x{3,}|\*{3,}|\.{3,}|changeme|change[_-]me|your[_-].*|<.*>|\$.*|%.*%|.*\{.*\}.*"
    r"|.*example.*|.*placeholder.*|none|null|undefined|redacted|dummy|password|secret|token)$"
)
_IDENTIFIER_RE = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")


def looks_like_placeholder(value: str) -> bool:
    """True for values that are obviously not real secrets (xxx, <key>, ${VAR}, ...)."""
    return _MARK in value or _PLACEHOLDER_RE.match(value) is not None


@dataclass(frozen=True)
class _Rule:
    kind: str
    pattern: re.Pattern[str]
    triggers: tuple[str, ...]
    """Literals, one of which must occur for the rule to run at all."""
    anchored: bool = False
    """Triggers are lower-case and every match starts at one: matches are tried only
    there (a case-insensitive regex has no literal prefix, so a plain search is slow)."""
    accept: Callable[[re.Match[str]], bool] | None = None
    """Extra check on a match; a match it rejects is left alone."""


def _is_code_reference(name: str, value: str) -> bool:
    """`api_key=api_key`, `token = settings.TOKEN`, `API_KEY = DEFAULT_KEY`: code, not a value.

    An unquoted identifier after an ENV_STYLE name (`SECRET_KEY=supersecretvalue` in a
    .env file) is still taken as a value.
    """
    if not _IDENTIFIER_RE.fullmatch(value) or any(c.isdigit() for c in value):
        return False
    return "." in value or value.isupper() or not name.isupper()


def _generic_accept(match: re.Match[str]) -> bool:
    value = match.group("secret")
    if looks_like_placeholder(value):
        return False
    quoted = match.group("q") is not None
    return quoted or not _is_code_reference(match.group("name"), value)


def _url_accept(match: re.Match[str]) -> bool:
    return not looks_like_placeholder(match.group("secret"))


def _rule(kind: str, pattern: str, *triggers: str, anchored: bool = False,
          accept: Callable[[re.Match[str]], bool] | None = None) -> _Rule:
    return _Rule(kind, re.compile(pattern), triggers, anchored, accept)


# A token must not continue a longer word on the left. The check sits after the
# literal that starts each pattern, so the regex engine keeps its fast literal search.
def _left(literal: str) -> str:
    return rf"(?<![A-Za-z0-9_-]{re.escape(literal)})"


# Order matters: specific token shapes first, generic `name = value` last.
_RULES: tuple[_Rule, ...] = (
    _rule(
        "private_key",
        r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----(?:(?s:.*?)-----END[A-Z0-9 ]*PRIVATE KEY-----"
        r"|[A-Za-z0-9+/=\s:,.-]*+)",
        "PRIVATE KEY",
    ),
    _rule("anthropic_key", rf"sk-ant-{_left('sk-ant-')}[A-Za-z0-9_-]{{8,}}+", "sk-ant-"),
    _rule("openai_key", rf"sk-{_left('sk-')}(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{{20,}}+", "sk-"),
    _rule("aws_access_key_id", r"(?:AKIA|ASIA|ABIA|ACCA)(?<![A-Za-z0-9]....)[A-Z0-9]{16}(?![A-Za-z0-9])",
          "AKIA", "ASIA", "ABIA", "ACCA"),
    _rule(
        "aws_secret_key",
        r"(?i)(?P<pre>aws[_-]?secret[_-]?(?:access[_-]?)?key[\"']?\s*[:=]\s*[\"']?)"
        r"[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])",
        "aws", anchored=True,
    ),
    _rule("github_token", rf"g{_left('g')}(?:h[pousr]_[A-Za-z0-9]{{36,}}+|ithub_pat_[A-Za-z0-9_]{{22,}}+)",
          "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    _rule("gitlab_token", rf"glpat-{_left('glpat-')}[A-Za-z0-9_-]{{20,}}+", "glpat-"),
    _rule("slack_token", rf"xox{_left('xox')}[abposr]-[A-Za-z0-9-]{{10,}}+", "xox"),
    _rule("slack_webhook", r"(?P<pre>hooks\.slack\.com/services/)[A-Za-z0-9_/-]+", "hooks.slack.com"),
    _rule("stripe_key", r"(?:sk|rk)_(?<![A-Za-z0-9_-]...)(?:live|test)_[A-Za-z0-9]{10,}+", "_live_", "_test_"),
    _rule("google_api_key", rf"AIza{_left('AIza')}[0-9A-Za-z_-]{{35}}(?![A-Za-z0-9_-])", "AIza"),
    _rule("jwt", rf"eyJ{_left('eyJ')}[A-Za-z0-9_-]{{8,}}+\.[A-Za-z0-9_-]{{8,}}+\.[A-Za-z0-9_-]{{8,}}+", "eyJ"),
    _rule(
        "authorization",
        r"(?i)(?P<pre>authorization[\"']?\s*[:=]\s*[\"']?(?:bearer|basic|token)\s+)"
        r"(?!\[REDACTED)[A-Za-z0-9._~+/=-]{8,}+",
        "authorization", anchored=True,
    ),
    # Only the password goes: scheme, user and host stay readable.
    _rule(
        "url_password",
        r"(?P<pre>://[^\s:/@'\"\[\]]+:)(?P<secret>[^\s@/'\"]+)(?P<post>@)",
        "://", accept=_url_accept,
    ),
    _rule(
        "secret",
        rf"(?P<pre>(?P<name>(?i:{_NAME_END}))[\"']?\s*[:=]\s*(?P<q>[\"'])?)"
        r"(?P<secret>(?(q)[^\s\"'`]{8,}+|[^\s\"'`;,()\[\]{}<>]{8,}+))"
        r"(?P<post>(?(q)[\"']|(?=[\s\"'`;,)\]}]|$)))",
        "api", "secret", "private", "access", "token", "passw", anchored=True, accept=_generic_accept,
    ),
)

REDACTION_KINDS: tuple[str, ...] = tuple(rule.kind for rule in _RULES)
"""Every `<kind>` that can appear in `[REDACTED:<kind>]`."""


def _replacement(rule: _Rule, match: re.Match[str]) -> str:
    if rule.accept is not None and not rule.accept(match):
        return match.group(0)
    groups = match.groupdict()
    return f"{groups.get('pre') or ''}[REDACTED:{rule.kind}]{groups.get('post') or ''}"


def _positions(haystack: str, needle: str) -> Iterator[int]:
    index = haystack.find(needle)
    while index != -1:
        yield index
        index = haystack.find(needle, index + 1)


def _apply_anchored(rule: _Rule, text: str, lowered: str) -> str:
    if len(lowered) != len(text):
        # Some characters change length when lower-cased: positions would not line up.
        return rule.pattern.sub(lambda m: _replacement(rule, m), text)
    starts = sorted({i for trigger in rule.triggers for i in _positions(lowered, trigger)})
    pieces: list[str] = []
    done = 0
    for start in starts:
        if start < done:
            continue
        match = rule.pattern.match(text, start)
        if match is not None:
            pieces += (text[done:start], _replacement(rule, match))
            done = match.end()
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


def redact(text: str) -> str:
    """Replace every credential-looking substring of `text` with `[REDACTED:<kind>]`."""
    lowered: str | None = None
    for rule in _RULES:
        if rule.anchored:
            if lowered is None:
                lowered = text.lower()
            if any(trigger in lowered for trigger in rule.triggers):
                changed = _apply_anchored(rule, text, lowered)
                if changed is not text:
                    text, lowered = changed, None
        elif any(trigger in text for trigger in rule.triggers):
            text = rule.pattern.sub(lambda m, rule=rule: _replacement(rule, m), text)
            lowered = None
    return text


def _redact_value_under(key: str, value: str) -> str:
    """A string stored under a secret-looking key ({"api_key": "..."}) is redacted whole."""
    if (
        _SECRET_NAME_RE.fullmatch(key)
        and len(value) >= 8
        and not any(c.isspace() for c in value)
        and not looks_like_placeholder(value)
    ):
        return "[REDACTED:secret]"
    return redact(value)


def redact_obj(obj: Any) -> Any:
    """Redact every string inside dicts, lists and tuples; keys and non-strings are kept."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        # Base64 payloads (images, documents) are binary data, not text: leave them intact.
        binary = obj.get("type") == "base64"
        out: dict[Any, Any] = {}
        for key, value in obj.items():
            if binary and key == "data":
                out[key] = value
            elif isinstance(value, str) and isinstance(key, str):
                out[key] = _redact_value_under(key, value)
            else:
                out[key] = redact_obj(value)
        return out
    if isinstance(obj, list):
        return [redact_obj(item) for item in obj]
    if isinstance(obj, tuple):
        return tuple(redact_obj(item) for item in obj)
    return obj
