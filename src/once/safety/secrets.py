"""Secret detection: provider token shapes, credentials in context, and high-entropy values
assigned to secret-looking names.

`find_secrets(text)` returns one `Finding` per secret, the secret value itself as its span.
It is fast on ordinary code (~30 MB/s): one regex pass finds runs of token characters and
a dict lookup on each run's first two characters picks the token rules to try there; the
few other rules run only when one of their literal triggers occurs in the text.
Obvious placeholders (xxx, <API_KEY>, ${VAR}, changeme, 0000...) are not findings, and a
line marked `# pragma: allowlist secret`, `# gitleaks:allow` or `# once: allow-secret`
(or preceded by a line with `pragma: allowlist nextline secret`) is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import unquote

from once.lazyre import LazyPattern
from once.safety.secret_rules import (
    Rule,
    is_masked,
    is_placeholder,
    is_secret_name,
    looks_random,
    provider_rules,
    secret_name_tier,
    shannon_entropy,
    split_words,
)

__all__ = ["KINDS", "Finding", "find_secrets", "is_placeholder", "is_secret_name", "looks_random",
           "shannon_entropy"]


@dataclass(frozen=True)
class Finding:
    kind: str
    """What was found: `github_token`, `url_password`, `secret` (a value under a secret-looking name)..."""
    start: int
    end: int
    """text[start:end] is the secret value (not the whole assignment)."""
    line: int
    """1-based line of `start`."""
    secret: str
    rule: str
    """The rule that matched, e.g. `github-token`, `generic-assignment`."""


# ---------------------------------------------------------------- contextual detectors

Span = tuple[int, int]
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")
_IDENTIFIER_RE = LazyPattern(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")

# A quoted value may sit in parentheses (`KEY = (\n    "..."\n)`), carry a Python prefix
# (b"...", r'...'; the text is lower-cased) or be triple-quoted.
_VALUE = (r"(?:(?:\([ \t]*(?:\n[ \t]*)?(?=[bruf]{0,2}[\"']))?(?:[bruf]{1,2}(?=[\"']))?"
          r"(?:\"(?:\"\")?(?P<v1>[^\"\n\\]{4,300})\"|'(?:'')?(?P<v2>[^'\n\\]{4,300})'|`(?P<v3>[^`\n]{4,300})`"
          r"|\\\"(?P<v4>[^\"\\\n]{4,300})\\\")|(?P<v5>[^\s\"'`;,()\[\]{}<>&\\]{4,300}))")
# name, its closing quote or bracket, a separator (`api_key: str =` has a type), the value
_GENERIC = LazyPattern(
    r"(?P<kw>passw(?:or)?d|passphrase|pwd|pass|secret|token|key|credentials?|creds|auth)(?P<nq>[\"'`]|\\\")?\]?"
    r"(?:[ \t]*(?P<sep>:[ \t]*[a-z_][\w.\[\], |]{0,40}?[ \t]*=(?!=)|:=|=>|\?{1,2}=|=(?!=)|:(?![:/])|,|>)"
    r"|(?:(?<=-password)|(?<=-passwd)|(?<=-pass)|(?<=-token)|(?<=-secret)|(?<=-key))(?P<space>[ \t]))"
    r"[ \t]*" + _VALUE  # the last separator: `--password VALUE` on a command line
)
# Dockerfile `ENV NAME value` (the old form, without `=`). Matched on the text as written
# (instructions are upper-case by convention), so most files skip it on the trigger alone.
_DOCKER_ENV = LazyPattern(r"ENV[ \t]+(?P<name>[A-Za-z_]\w*)[ \t]+" + _VALUE)
# <add key="ApiKey" value="..." /> (.NET configuration files)
_KEY_VALUE = LazyPattern(r"key[ \t]*=[ \t]*[\"'](?P<name>[^\"'\n]{1,80})[\"'][ \t]+value[ \t]*=[ \t]*" + _VALUE)


_NUMBER = LazyPattern(r"[\d.,:_-]+")  # a version, a date: not a password
_FILLER = frozenset({"my", "the", "a", "an", "of", "for", "new", "some"})
_PATH = LazyPattern(r"(?:~|\.{1,2})?/[\w.-]+/")


def _is_code_reference(name: str, value: str) -> bool:
    """`api_key=api_key`, `token = settings.TOKEN`, `API_KEY = DEFAULT_KEY`: code, not a value.
    An unquoted word after an ENV_STYLE name (`SECRET_KEY=supersecretvalue` in .env) is a value."""
    if not _IDENTIFIER_RE.fullmatch(value):
        return False
    if "." in value:  # settings.TOKEN, base64.b64decode; but s.ZC9Ecf4M... is a (Vault) token
        head, _, rest = value.partition(".")
        return not (len(head) <= 3 and looks_random(rest))
    return not any(c.isdigit() for c in value) and (value.isupper() or not name.isupper())


def _value_group(m: re.Match[str]) -> str:
    return next(g for g in ("v1", "v2", "v3", "v4", "v5") if m.group(g) is not None)


def _generic_span(m: re.Match[str], text: str) -> Span | None:
    start = m.start()
    while start > 0 and text[start - 1] in _NAME_CHARS:
        start -= 1
    raw_name = text[start:m.end("kw")]
    name, sep, group = raw_name.lstrip("-."), m.group("sep"), _value_group(m)
    vs, ve = m.span(group)
    if m.group("space") and not raw_name.startswith("--"):
        return None
    if sep == ">" and (text[start - 1: start] != "<" or not text.startswith("</", ve)):
        return None  # <password>value</password>
    if sep == "," and not (group != "v5" and m.group("nq") and name.isupper() and looks_random(text[vs:ve])):
        return None  # ("API_KEY", "value") in a call; not a list of strings
    return _value_span(name, text, vs, ve, quoted=group != "v5")


def _named_span(m: re.Match[str], text: str) -> Span | None:
    """The value of <add key="NAME" value="..."/>."""
    name = text[m.start("name"): m.end("name")]
    group = _value_group(m)
    return _value_span(name, text, *m.span(group), quoted=group != "v5")


def _docker_env_span(m: re.Match[str], text: str) -> Span | None:
    line_start = text.rfind("\n", 0, m.start()) + 1
    return _named_span(m, text) if not text[line_start:m.start()].strip() else None


def _value_span(name: str, text: str, vs: int, ve: int, *, quoted: bool) -> Span | None:
    """The span of the value assigned to `name`, when it looks like a secret."""
    tier = secret_name_tier(name)
    if tier is None:
        return None
    if not quoted:
        while ve > vs and text[ve - 1] in ".,:":
            ve -= 1  # end of a sentence, not of the value
        if text[ve: ve + 1] in ("(", "[") or _MASK_AFTER.match(text, ve):
            return None  # a call or subscript: make_auth(...), other["PASSWORD"]; a truncated value: ops_eyJzaWdu...
    value = text[vs:ve]
    if any(c.isspace() for c in value) or "://" in value or is_placeholder(value):
        return None
    words = {w.lower() for w in split_words(name)} | _FILLER
    if {w.lower() for w in split_words(value)} <= words:
        return None  # PASSWORD=PASSWORD, consumer_secret="consumer.secret", token: "my-token"
    if _IDENTIFIER_RE.fullmatch(value) and is_secret_name(value):
        return None  # SECRET_KEY = 'AWS_SECRET_ACCESS_KEY': the name of a variable or field, not its value
    if value.isalpha() and value.islower() and any(len(w) >= 4 and value.endswith(w) for w in words):
        return None  # 'pass': 'bandpass', password: nopassword: a word made from the name
    if name.upper() in ("PWD", "OLDPWD") or (tier == "human" and _PATH.match(value)):
        return None  # the shell's working directory, a key file path
    if not quoted and (value[:1] in ":=" or _is_code_reference(name, value)):
        return None  # `:type passphrase: :py:data:`, a variable
    if tier == "human" and _DOC_PASSWORD.search(unquote(value)):
        return None  # secret%3Dpassword
    ok = len(value) >= 6 and not _NUMBER.fullmatch(value) if tier == "human" else looks_random(unquote(value))
    return (vs, ve) if ok else None


_AUTHORIZATION = LazyPattern(
    r"(?<![a-z0-9_])authorization[\"'`]?[ \t]*(?P<sep>=>|[:=,])[ \t]*[\"'`]?"
    r"(?:(?P<scheme>bearer|basic|token|api-?token|apikey|digest|jwt|otoken|key)[ \t]+)?"
    r"(?P<secret>[a-z0-9._~+/=:@!#$%^&*-]{8,})"
)


def _authorization_span(m: re.Match[str], text: str) -> Span | None:
    value = text[m.start("secret"): m.end("secret")]
    if is_placeholder(value):
        return None
    if m.group("scheme") is None and (m.group("sep") == "," or _IDENTIFIER_RE.fullmatch(value)
                                      or not looks_random(value, min_len=8)):
        return None
    return m.span("secret")


_URL_CREDENTIALS = LazyPattern(
    r"://(?P<user>[^\s:/@'\"\[\]<>{}]*):(?P<secret>[^\s:/'\"<>]{4,})@(?P<host>[A-Za-z0-9\[][A-Za-z0-9.\-\[\]]*)")
_EXAMPLE_HOST = LazyPattern(r"(?i)(?:^|\.)(?:example\.(?:com|org|net)|example|test|invalid)$")


_DOC_PASSWORD = LazyPattern(r"(?i)\b(?:secret|password|passwd|pass|pwd)\b")


def _url_span(m: re.Match[str], text: str) -> Span | None:
    user, secret = m.group("user"), m.group("secret")
    if is_placeholder(secret) or secret == user or secret.isdigit() and len(secret) < 6:
        return None
    if _DOC_PASSWORD.search(unquote(secret)) or _EXAMPLE_HOST.search(m.group("host")):
        return None  # user:a%20secret@, :my-password@, user:pw@example.com: documentation
    return m.span("secret")


_AWS_SECRET = LazyPattern(
    r"(?:aws)?[_.-]?secret[_.-]?(?:access[_.-]?)?key[\"'`]?[ \t]*(?:=>|[:=])[ \t]*[\"'`]?"
    r"(?P<secret>[a-z0-9/+=]{40})(?![a-z0-9/+=])"
)


def _aws_secret_span(m: re.Match[str], text: str) -> Span | None:
    value = text[m.start("secret"): m.end("secret")]
    return m.span("secret") if looks_random(value) and not is_placeholder(value) else None


# A secret access key written near its access key id, in any words ("key AKIA... and secret ..."):
# 40 base64 characters within 200 characters after the id.
_AWS_PAIRED = LazyPattern(
    r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])[\s\S]{0,200}?"
    r"(?<![A-Za-z0-9/+=])(?P<secret>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"
)


def _aws_paired_span(m: re.Match[str], text: str) -> Span | None:
    value = m.group("secret")
    if re.fullmatch(r"[0-9a-f]{40}|[0-9A-F]{40}", value):
        return None  # a git commit id, not a base64 secret
    return _aws_secret_span(m, text)


_CURL_USER = LazyPattern(
    r"""(?<!\S)(?:-u|--user)(?:[ \t]+|=|(?=["']))"""
    r"""(?P<arg>"[^"\n]*"(?::"[^"\n]*")?|'[^'\n]*'|[^\s'"]+(?:'[^'\n]*'|"[^"\n]*")?)"""
)
_CURL_HEADER = LazyPattern(
    r"""(?<!\S)(?:-H|--header)(?:[ \t]+|=)?(?P<q>["'])[ \t]*(?P<name>[A-Za-z0-9_-]+)[ \t]*:[ \t]*"""
    r"""(?P<value>[^"'\n]*)(?P=q)"""
)
_AUTH_HEADER_NAME = LazyPattern(r"(?i)auth|token|api-?key|secret|passw|jfrog-art-api")
_SCHEME = LazyPattern(r"(?i)^(?:bearer|basic|token|api-token|apikey|digest|jwt|otoken|key|sso-key)\s+")


def _unbrace(value: str) -> str:
    """{ZqL5kVrX1n8tA2} -> ZqL5kVrX1n8tA2 (a literal in braces); {{ var }} stays a template."""
    return value[1:-1] if re.fullmatch(r"\{[A-Za-z0-9_-]{2,}\}", value) else value


def _curl_user_span(m: re.Match[str], text: str) -> Span | None:
    arg = m.group("arg")
    plain = arg.replace('"', "").replace("'", "")
    if ":" not in plain or (plain[0] in "<[" and plain[-1] in ">]"):
        return None  # curl -u <user:password>
    user, password = (_unbrace(part) for part in plain.split(":", 1))
    secret = password or (user if plain.endswith(":") else "")
    if (not secret or is_placeholder(secret) or secret == user and password
            or (not password and not looks_random(secret, min_len=8))):
        return None
    start = text.find(secret, m.start("arg"), m.end("arg"))
    return (start, start + len(secret)) if start >= 0 else None


def _curl_header_span(m: re.Match[str], text: str) -> Span | None:
    if not _AUTH_HEADER_NAME.search(m.group("name")):
        return None
    value = m.group("value").strip()
    value = value[_SCHEME.match(value).end():] if _SCHEME.match(value) else value
    if len(value) < 8 or any(c.isspace() for c in value) or is_placeholder(value):
        return None
    start = text.find(value, m.start("value"), m.end("value"))
    return (start, start + len(value)) if start >= 0 else None


# `mysql -pPASSWORD`: the password glued to `-p` (`-p` alone asks for it; `-P` is the port).
_MYSQL_PASSWORD = LazyPattern(
    r"(?<![\w.-])(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlshow|mysqlcheck|mariadb|mariadb-dump)(?![\w.-])"
    r"[^\n|;&]*?(?<!\S)-p(?P<q>[\"']?)(?P<secret>[^\s\"']{4,})(?P=q)(?!\S)"
)


def _mysql_span(m: re.Match[str], text: str) -> Span | None:
    value = m.group("secret")
    return None if is_placeholder(value) or value.startswith("$") else m.span("secret")


@dataclass(frozen=True)
class _Context:
    name: str
    kind: str
    regex: LazyPattern
    triggers: tuple[str, ...]
    lower: bool
    span: Callable[[re.Match[str], str], Span | None]


_CONTEXT_RULES: tuple[_Context, ...] = (
    _Context("authorization-header", "authorization", _AUTHORIZATION, ("authorization",), True,
             _authorization_span),
    _Context("curl-user", "basic_auth", _CURL_USER, ("curl", "wget"), False, _curl_user_span),
    _Context("curl-header", "authorization", _CURL_HEADER, ("curl", "wget"), False, _curl_header_span),
    _Context("url-credentials", "url_password", _URL_CREDENTIALS, ("://",), False, _url_span),
    _Context("aws-secret-access-key", "aws_secret_key", _AWS_SECRET, ("secret",), True, _aws_secret_span),
    _Context("aws-paired-secret", "aws_secret_key", _AWS_PAIRED, ("AKIA", "ASIA"), False, _aws_paired_span),
    _Context("generic-assignment", "secret", _GENERIC,
             ("key", "token", "pass", "auth", "secret", "cred", "pwd"), True, _generic_span),
    _Context("config-key-value", "secret", _KEY_VALUE, ("value",), True, _named_span),
    _Context("dockerfile-env", "secret", _DOCKER_ENV, ("ENV",), False, _docker_env_span),
    _Context("mysql-password", "secret", _MYSQL_PASSWORD, ("mysql", "mariadb"), False, _mysql_span),
)

KINDS: tuple[str, ...] = tuple(dict.fromkeys(
    [r.kind for r in provider_rules()] + [c.kind for c in _CONTEXT_RULES]
))
"""Every kind a finding can have (and every `<kind>` in `[REDACTED:<kind>]`)."""


# ---------------------------------------------------------------- the scan

_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def _lowered(text: str) -> str:
    """Lower-cased ASCII letters, same length as `text` (so positions line up)."""
    low = text.lower()
    return low if len(low) == len(text) else text.translate(_ASCII_LOWER)


def _positions(hay: str, needle: str) -> Iterator[int]:
    index = hay.find(needle)
    while index != -1:
        yield index
        index = hay.find(needle, index + 1)


def _rule_matches(rule: Rule, hay: str) -> Iterator[re.Match[str]]:
    if rule.window is None:
        yield from rule.regex.finditer(hay)
        return
    back, forward = rule.window
    seen: set[int] = set()
    for trigger in rule.triggers:
        for pos in _positions(hay, trigger):
            lo, hi = max(0, pos - back), min(len(hay), pos + len(trigger) + forward)
            match = rule.regex.search(hay, lo, hi)
            while match is not None and match.start() not in seen:
                seen.add(match.start())
                yield match
                match = rule.regex.search(hay, match.end(), hi) if match.end() < hi else None


_MASK_AFTER = LazyPattern(r"[-_.]?(?:[xX*#•]{3}|\.\.)")


def _provider_span(rule: Rule, m: re.Match[str], text: str) -> Span | None:
    group = "secret" if m.re.groupindex.get("secret") and m.group("secret") is not None else 0
    start, end = m.span(group)
    secret = text[start:end]
    if rule.placeholder_check:
        body = m.group("body") if m.re.groupindex.get("body") and m.group("body") is not None else secret
        if (is_placeholder if rule.strict else is_masked)(body):
            return None
    if rule.check is not None and not rule.check(secret):
        return None
    if _MASK_AFTER.match(text, end):
        return None  # xoxp-1234-5678-####: the rest of the token is masked
    return start, end


_Candidate = tuple[int, int, int, str, str]  # priority, start, end, kind, rule
_RUN = LazyPattern(r"[A-Za-z0-9_.-]{20,}")


def _run_buckets() -> dict[str, tuple[tuple[str, int], ...]]:
    """Run-start rules by the first two characters of their triggers."""
    buckets: dict[str, list[tuple[str, int]]] = {}
    for index, rule in enumerate(provider_rules()):
        if rule.run == "start":
            for trigger in rule.triggers:
                buckets.setdefault(trigger[:2], []).append((trigger, index))
    return {key: tuple(value) for key, value in buckets.items()}


_BUCKETS = _run_buckets()
_INSIDE = tuple((t, i, r.min_len) for i, r in enumerate(provider_rules()) if r.run == "inside" for t in r.triggers)
_INSIDE_MIN = min(min_len for _, _, min_len in _INSIDE)
_SCANNED = tuple((i, r) for i, r in enumerate(provider_rules()) if not r.run)


def _run_matches(text: str) -> Iterator[tuple[int, re.Match[str]]]:
    rules = provider_rules()
    for run in _RUN.finditer(text):
        start, end = run.span()
        bucket = _BUCKETS.get(text[start:start + 2])
        if bucket is not None:
            for trigger, index in bucket:
                if text.startswith(trigger, start):
                    m = rules[index].regex.match(text, start)
                    if m is not None:
                        yield index, m
        if end - start >= _INSIDE_MIN:
            for trigger, index, min_len in _INSIDE:
                if end - start >= min_len and text.find(trigger, start, end) >= 0:
                    m = rules[index].regex.search(text, start, end)
                    if m is not None:
                        yield index, m


def _run_candidates(text: str) -> Iterator[_Candidate]:
    rules = provider_rules()
    for index, m in _run_matches(text):
        span = _provider_span(rules[index], m, text)
        if span is not None:
            yield index, span[0], span[1], rules[index].kind, rules[index].name


# (index into _SCANNED + _CONTEXT_RULES, looked for in the lowered text, triggers)
_GROUPS = tuple((i, r.lower, r.triggers) for i, (_, r) in enumerate(_SCANNED)) + tuple(
    (len(_SCANNED) + i, c.lower, c.triggers) for i, c in enumerate(_CONTEXT_RULES))


def _active(text: str, low: str) -> list[int]:
    """The scanned and contextual rules with a trigger in the text (each literal looked for once)."""
    seen: dict[tuple[bool, str], bool] = {}
    active: list[int] = []
    for index, lower, triggers in _GROUPS:
        for trigger in triggers:
            key = (lower, trigger)
            if key not in seen:
                seen[key] = trigger in (low if lower else text)
            if seen[key]:
                active.append(index)
                break
    return active


def _candidates(text: str) -> Iterator[_Candidate]:
    yield from _run_candidates(text)
    low = _lowered(text)
    base = len(provider_rules())
    for index in _active(text, low):
        if index < len(_SCANNED):
            priority, rule = _SCANNED[index]
            for m in _rule_matches(rule, low if rule.lower else text):
                span = _provider_span(rule, m, text)
                if span is not None:
                    yield priority, span[0], span[1], rule.kind, rule.name
        else:
            offset = index - len(_SCANNED)
            ctx = _CONTEXT_RULES[offset]
            for m in ctx.regex.finditer(low if ctx.lower else text):
                span = ctx.span(m, text)
                if span is not None and span[1] > span[0]:
                    yield base + offset, span[0], span[1], ctx.kind, ctx.name


_MARKERS = LazyPattern(r"(?i)pragma:\s*allowlist[ -]secret|gitleaks:allow|once:\s*allow-secret")
_NEXTLINE_MARKER = LazyPattern(r"(?i)pragma:\s*allowlist[ -]nextline[ -]secret")


def _allowed(text: str, start: int) -> bool:
    """The finding's line (or the line before, with a nextline marker) says it is a fixture."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", start)
    if _MARKERS.search(text, line_start, len(text) if line_end == -1 else line_end):
        return True
    if line_start == 0:
        return False
    previous = text.rfind("\n", 0, line_start - 1) + 1
    return _NEXTLINE_MARKER.search(text, previous, line_start) is not None


def find_secrets(text: str, *, honor_markers: bool = True) -> list[Finding]:
    """Every secret in `text`, in order of position; overlapping matches keep the most specific rule.

    `honor_markers=False` ignores allowlist comments (redaction of stored text does).
    """
    if not text:
        return []
    kept: list[_Candidate] = []
    for cand in sorted(_candidates(text)):
        if all(cand[2] <= k[1] or cand[1] >= k[2] for k in kept):
            kept.append(cand)
    findings: list[Finding] = []
    line, last = 1, 0
    for _, start, end, kind, rule in sorted(kept, key=lambda c: c[1]):
        if honor_markers and _allowed(text, start):
            continue
        line += text.count("\n", last, start)
        last = start
        findings.append(Finding(kind, start, end, line, text[start:end], rule))
    return findings


def new_secret_kinds(old: bytes | None, new: bytes) -> list[str]:
    """Kinds of secrets in `new` that `old` (the committed version, None for a new file) does not
    hold. Allowlist comments count for nothing here: the model could write one beside its secret."""
    known = {f.secret for f in find_secrets(old.decode("utf-8", "replace"), honor_markers=False)} if old else set()
    return sorted({f.kind for f in find_secrets(new.decode("utf-8", "replace"), honor_markers=False)
                   if f.secret not in known})
