"""Credential redaction: every text the store writes passes through here.

It uses the rules of `once.safety.secrets`, so what `agent scan` and the edit guard
call a secret is exactly what storage redacts. Each finding's secret becomes
`[REDACTED:<kind>]` and the text around it is kept (a variable name, a URL's user and
host). Allowlist comments are ignored here: a fixture marked as such in a repository
is still kept out of stored transcripts. Redaction is idempotent.
"""

from __future__ import annotations

from typing import Any

from once.lazyre import LazyPattern
from once.safety.secrets import KINDS, find_secrets, is_placeholder, is_secret_name

_BASE64 = LazyPattern(r"[A-Za-z0-9+/=\s]*")

_MARK = "[REDACTED"
_MAX_PASSES = 4

REDACTION_KINDS: tuple[str, ...] = KINDS
"""Every `<kind>` that can appear in `[REDACTED:<kind>]`."""


def looks_like_placeholder(value: str) -> bool:
    """True for values that are obviously not real secrets (xxx, <key>, ${VAR}, ...)."""
    return _MARK in value or is_placeholder(value)


def _redact_once(text: str) -> str:
    findings = find_secrets(text, honor_markers=False)
    if not findings:
        return text
    pieces: list[str] = []
    done = 0
    for finding in findings:
        pieces += (text[done:finding.start], f"[REDACTED:{finding.kind}]")
        done = finding.end
    pieces.append(text[done:])
    return "".join(pieces)


def redact(text: str) -> str:
    """Replace every credential-looking substring of `text` with `[REDACTED:<kind>]`."""
    # A replacement can change what its neighbours look like; repeating until nothing
    # changes (in practice once more) makes redact(redact(x)) == redact(x).
    for _ in range(_MAX_PASSES):
        changed = _redact_once(text)
        if changed == text:
            return text
        text = changed
    return text


def _redact_value_under(key: str, value: str) -> str:
    """A string stored under a secret-looking key ({"api_key": "..."}) is redacted whole."""
    if (
        is_secret_name(key)
        and len(value) >= 8
        and not any(c.isspace() for c in value)
        and not looks_like_placeholder(value)
    ):
        return "[REDACTED:secret]"
    return redact(value)


_CUT_WINDOW = 8192
"""How far around a cut secrets are looked for: a private key block is a few thousand characters."""
_CONTEXT = 64
"""What a rule may need beside a secret to recognise it: the name before it, the quote after it."""


def cut_before_secret(text: str, at: int) -> int:
    """`at`, or earlier: where a kept head of `text` may end without cutting a secret, or what
    after it its rule needs, in two (a secret cut short, or cut from its closing quote, is no
    longer recognised, so it would be kept, and stored, as it is)."""
    base = max(0, at - _CUT_WINDOW)
    for finding in find_secrets(text[base:at + _CUT_WINDOW], honor_markers=False):
        if base + finding.start < at < base + finding.end + _CONTEXT:
            at = base + finding.start
    return at


def start_after_secret(text: str, at: int) -> int:
    """`at`, or later: where a kept tail of `text` may start without cutting a secret, or the
    name before it, in two."""
    base = max(0, at - _CUT_WINDOW)
    for finding in find_secrets(text[base:at + _CUT_WINDOW], honor_markers=False):
        if base + finding.start - _CONTEXT < at < base + finding.end:
            at = base + finding.end
    return at


def redact_obj(obj: Any) -> Any:
    """Redact every string inside dicts, lists and tuples, keys too; non-strings are kept."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        # Base64 payloads (an image or a document block's source) are binary data, not text: left
        # intact, but only when they are one (a model's tool input can say "base64" too).
        binary = obj.get("type") == "base64" and isinstance(obj.get("media_type"), str) \
            and isinstance(obj.get("data"), str) and _BASE64.fullmatch(obj["data"]) is not None
        out: dict[Any, Any] = {}
        for key, value in obj.items():
            name = redact(key) if isinstance(key, str) else key
            if binary and key == "data":
                out[name] = value
            elif isinstance(value, str) and isinstance(key, str):
                out[name] = _redact_value_under(key, value)
            else:
                out[name] = redact_obj(value)
        return out
    if isinstance(obj, list):
        return [redact_obj(item) for item in obj]
    if isinstance(obj, tuple):
        return tuple(redact_obj(item) for item in obj)
    return obj
