"""Patterns compiled on first use."""

from __future__ import annotations

import re
import subprocess
import sys

from once.lazyre import LazyPattern


def test_a_lazy_pattern_compiles_on_first_use_and_then_behaves_as_the_pattern() -> None:
    pattern = LazyPattern(r"a+", re.IGNORECASE)
    assert "_compiled" not in pattern.__dict__
    assert pattern.findall("aA b a") == ["aA", "a"]
    assert pattern.compiled.flags & re.IGNORECASE and pattern.sub("-", "xaay") == "x-y"


def test_importing_the_secret_scanner_compiles_none_of_its_rules() -> None:
    code = ("import once.safety.secrets as s, once.safety.secret_rules as r\n"
            "rules = [*r._PROVIDER_RULES, *s._CONTEXT_RULES]\n"
            "print(len(rules), sum('_compiled' in rule.regex.__dict__ for rule in rules))\n"
            "s.find_secrets('token = \"' + 'sk-ant-api03-' + 'Zq8' * 12 + '\"')\n"
            "print(sum('_compiled' in rule.regex.__dict__ for rule in rules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    (count, compiled_at_import), (compiled_after_a_scan,) = [line.split() for line in done.stdout.splitlines()]
    assert int(count) > 30 and compiled_at_import == "0"
    assert 0 < int(compiled_after_a_scan) < int(count)  # only the rules whose triggers occurred
