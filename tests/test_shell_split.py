"""Splitting shell command lines into the simple commands they run."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from once.safety.shell_command import Redirect, SimpleCommand
from once.safety.shell_split import is_single_command, split_command


def flat(part: SimpleCommand) -> str:
    """Wrappers and argv joined by spaces, unquoted: easy to write in a table."""
    return " ".join([*part.wrappers, *part.argv])


def flats(command: str) -> list[str]:
    return [flat(part) for part in split_command(command)]


# (command line, every simple command it runs, in order)
SPLIT_CASES: list[tuple[str, list[str]]] = [
    # operators
    ("git status && rm -rf x", ["git status", "rm -rf x"]),
    ("a; b || c | d & e", ["a", "b", "c", "d", "e"]),
    ("a\nb\n\nc\n", ["a", "b", "c"]),
    ("echo a |& tee log", ["echo a", "tee log"]),
    ("sleep 5 &", ["sleep 5"]),
    # whitespace, comments, continuations
    ("   ls -la   ", ["ls -la"]),
    ("", []),
    ("# only a comment", []),
    ("ls # a comment; rm -rf /", ["ls"]),
    ("echo a#b '#c' \"#d\"", ["echo a#b #c #d"]),
    ("ls \\\n  -la", ["ls -la"]),
    ("ls\r\n", ["ls"]),
    # quoting and escapes
    ("echo 'a && b' \"c; d\"", ["echo a && b c; d"]),
    ("echo a\\;b a\\|b", ["echo a;b a|b"]),
    ("echo 'it'\\''s'", ["echo it's"]),
    ('echo "say \\"hi\\"" \'$HOME\'', ['echo say "hi" $HOME']),
    ("r\"m\" -rf x", ["rm -rf x"]),
    ("\\rm -rf x", ["rm -rf x"]),
    ("$'\\x72\\x6d' -rf x", ["rm -rf x"]),
    ("$'\\162m' -rf x", ["rm -rf x"]),
    ("echo héllo wörld ✓ 日本", ["echo héllo wörld ✓ 日本"]),
    # subshells, groups, control flow
    ("(cd sub && make); ls", ["cd sub", "make", "ls"]),
    ("((echo a) && (echo b))", ["echo a", "echo b"]),
    ("{ echo a; echo b; } > out", ["echo a", "echo b"]),
    ("if grep -q x f; then rm -rf y; else echo no; fi", ["grep -q x f", "rm -rf y", "echo no"]),
    ("for f in $(ls); do rm \"$f\"; done", ["ls", "rm $f"]),
    ("while true; do sleep 1; done &", ["true", "sleep 1"]),
    ("case $x in a|b) make;; *) rm -rf y;; esac", ["make", "rm -rf y"]),
    ("f() { rm -rf x; }; f", ["rm -rf x", "f"]),
    ("function g { make; }; g", ["make", "g"]),
    ("[[ -f a && -f b ]] && make", ["[[ -f a && -f b ]]", "make"]),
    ("(( n++ )) && make", ["make"]),
    # substitutions
    ("echo $(git rev-parse HEAD)", ["git rev-parse HEAD", "echo $(git rev-parse HEAD)"]),
    ('echo "x $(date +%s) y"', ["date +%s", "echo x $(date +%s) y"]),
    ("echo `whoami`", ["whoami", "echo `whoami`"]),
    ("echo $(echo $(id))", ["id", "echo $(id)", "echo $(echo $(id))"]),
    ("echo ${X:-$(id)}", ["id", "echo ${X:-$(id)}"]),
    ("echo $((2 * $(id -u)))", ["id -u", "echo $((2 * $(id -u)))"]),
    ("diff <(sort a) <(sort b)", ["sort a", "sort b", "diff <(sort a) <(sort b)"]),
    ("X=$(curl x)", ["curl x"]),
    ("a=(1 $(id) 3); echo ok", ["id", "echo ok"]),
    # strings run as code
    ("bash -c 'rm -rf x; ls'", ["bash -c rm -rf x", "bash -c ls"]),
    ('sh -c "git push --force"', ["sh -c git push --force"]),
    ("bash -lc 'make test'", ["bash -c make test"]),
    ("eval 'rm -rf x'", ["eval rm -rf x"]),
    ("sudo bash -c 'curl x | sh'", ["sudo bash -c curl x", "sudo bash -c sh"]),
    ("bash -c \"bash -c 'rm x'\"", ["bash -c bash -c rm x"]),
    ("trap 'rm -rf x' EXIT", ["trap rm -rf x"]),
    ("watch -n 5 'ls; df'", ["watch ls", "watch df"]),
    ("env -S 'rm -rf x'", ["env rm -rf x"]),
    ("echo 'rm -rf x' | sh", ["echo rm -rf x", "echo-to-shell rm -rf x", "sh"]),
    # wrappers
    ("xargs -n1 rm -f", ["xargs rm -f"]),
    ("xargs -I {} cp {} dst", ["xargs cp {} dst"]),
    ("env FOO=1 BAR=2 make", ["env make"]),
    ("sudo -u bob make install", ["sudo make install"]),
    ("nohup python serve.py &", ["nohup python serve.py"]),
    ("time pytest -q", ["time pytest -q"]),
    ("timeout 30 npm test", ["timeout npm test"]),
    ("timeout -s KILL 5s make", ["timeout make"]),
    ("nice -n 10 make", ["nice make"]),
    ("/usr/bin/sudo /bin/rm -rf x", ["sudo /bin/rm -rf x"]),
    ("command -v rm", ["command -v rm"]),
    ("sudo -i", ["sudo -i"]),
    ("FOO=bar BAZ=\"a b\" make", ["make"]),
    ("find . -name '*.pyc' -exec rm -f {} \\;", ["find . -name *.pyc -exec rm -f {} ;", "find-exec rm -f ./{}"]),
    # heredocs
    ("cat <<EOF > out.txt\nhello $(id)\nEOF\nls", ["cat", "id", "ls"]),
    ("cat <<'EOF'\nrm -rf / $(id)\nEOF", ["cat"]),
    ("bash <<'EOF'\nrm -rf x\nEOF", ["bash", "bash-heredoc rm -rf x"]),
    ("cat <<-EOF\n\tx\n\tEOF\necho done", ["cat", "echo done"]),
    ("python3 - <<'EOF'\nimport os; os.system('x')\nEOF", ["python3 -"]),
    ("cat <<A <<B\na\nA\nb $(id)\nB\nls", ["cat", "id", "ls"]),
    ("cat <<EOF | sh\nrm -rf x\nEOF", ["cat", "sh", "cat-heredoc rm -rf x"]),
    ("cat <<EOF | python3\nprint(1)\nEOF", ["cat", "python3"]),
    ("echo 'print(1)' | python3", ["echo print(1)", "python3"]),
]


@pytest.mark.parametrize(("command", "expected"), SPLIT_CASES, ids=[case[0][:40] for case in SPLIT_CASES])
def test_split_finds_every_simple_command(command: str, expected: list[str]) -> None:
    parts = [part for part in split_command(command) if not part.sets_variables_only]
    assert [flat(part) for part in parts] == expected
    assert all(part.unparseable is None for part in parts)


@pytest.mark.parametrize(("command", "assigns"), [
    ("S='1e id'; sed \"$S\" f", [("S", "1e id")]),
    ("for p in a b; do sed \"$p\" f; done", [("p", None)]),
    ("X=1 Y=2", [("X", "1"), ("Y", "2")]),
])
def test_variables_a_line_sets_are_kept_for_the_commands_after_them(command: str, assigns: list) -> None:
    setters = [part for part in split_command(command) if part.sets_variables_only]
    assert [pair for part in setters for pair in part.assigns] == assigns


@pytest.mark.parametrize(("command", "assigns", "wrappers"), [
    ("GIT_EXTERNAL_DIFF=x git diff", [("GIT_EXTERNAL_DIFF", "x")], ()),
    ("env A=1 B=2 sed p f", [("A", "1"), ("B", "2")], ("env",)),
    ("LESSOPEN='|id' bash -c 'less f'", [("LESSOPEN", "|id")], ("bash -c",)),
])
def test_a_commands_own_environment_is_kept(command: str, assigns: list, wrappers: tuple) -> None:
    main = [part for part in split_command(command) if part.argv][-1]
    assert list(main.assigns) == assigns and main.wrappers == wrappers


@pytest.mark.parametrize("command", [
    "echo 'unbalanced", 'echo "unbalanced', "echo $(unclosed", "(echo a", "echo `tick", "echo ${x",
    "case x in a) b", "[[ -f a", "echo $'open", ") oops", "a ;; b", "ls >",
])
def test_unparseable_input_becomes_one_unparseable_part(command: str) -> None:
    parts = split_command(command)
    assert len(parts) == 1
    assert parts[0].unparseable
    assert parts[0].argv == ()
    assert parts[0].text == command.strip()


def test_deep_nesting_is_unparseable_not_a_crash() -> None:
    nested = "eval " * 30 + "rm -rf /"  # each eval parses its arguments again, one level deeper
    for command in ["( " * 500 + "ls" + " )" * 500, "$(" * 200 + "ls" + ")" * 200, nested, "x" * 300_000]:
        parts = split_command(command)
        assert len(parts) == 1 and parts[0].unparseable


def test_double_parens_are_arithmetic_like_in_bash() -> None:
    assert split_command("((((ls))))") == []  # bash evaluates it as arithmetic: `ls` is a variable


def test_unparseable_string_inside_bash_c_is_unparseable_under_its_wrapper() -> None:
    parts = split_command("ls && bash -c \"echo 'oops\"")
    assert flat(parts[0]) == "ls"
    assert parts[1].unparseable and parts[1].wrappers == ("bash -c",)


# ---------------------------------------------------------------- redirections


def test_redirects_are_recorded_and_not_part_of_argv() -> None:
    [part] = split_command("ls -la > out.txt 2>&1 < in.txt")
    assert part.argv == ("ls", "-la")
    assert part.redirects == (Redirect(">", "out.txt"), Redirect("2>&", "1"), Redirect("<", "in.txt"))
    assert [redirect.writes for redirect in part.redirects] == [True, False, False]


@pytest.mark.parametrize(("command", "target", "writes"), [
    ("echo x >> log", "log", True), ("echo x &> log", "log", True), ("echo x >| log", "log", True),
    ("echo x 2> err", "err", True), ("echo x >&2", "2", False), ("exec 3>&-", "-", False),
    ("echo x >& file", "file", True), ("cat < in", "in", False), ("cat <<< word", "word", False),
])
def test_redirect_kinds(command: str, target: str, writes: bool) -> None:
    [part] = split_command(command)
    assert part.redirects[-1].target == target
    assert part.redirects[-1].writes is writes


def test_group_redirect_applies_to_every_command_inside() -> None:
    parts = split_command("{ echo a; cat b; } > .git/x")
    assert [part.redirects for part in parts] == [(Redirect(">", ".git/x"),)] * 2


def test_redirect_after_a_keyword_is_kept() -> None:
    parts = split_command("if true; then echo a; fi > .git/x")
    assert parts[-1].argv == () and parts[-1].redirects == (Redirect(">", ".git/x"),)
    assert parts[-1].text == "> .git/x"


def test_heredoc_is_a_redirect_and_its_body_is_not_commands() -> None:
    parts = split_command("cat > notes.md <<'EOF'\nrm -rf /\ngit push --force\nEOF")
    assert len(parts) == 1
    assert parts[0].redirects == (Redirect(">", "notes.md"), Redirect("<<", "EOF"))


# ---------------------------------------------------------------- code flowing into shells


@pytest.mark.parametrize(("command", "fed"), [
    ("curl -fsSL x | sh", True),
    ("wget -qO- x | sudo bash", True),
    ("curl x | tee f | bash -s -- --yes", True),
    ("curl x | python3", True),
    ("curl x | python3 -", True),
    ("sh <(curl x)", True),
    ("bash < <(curl x)", True),
    ('bash <<< "$(curl x)"', True),
    ('bash -c "$(curl x)"', True),
    ('eval "$(curl x)"', True),
    ("python3 <(curl x)", True),
    ("$(curl x)", True),
    ("bash <<EOF\n$(curl x)\nEOF", True),
    ("curl x | python3 -m json.tool", False),
    ("curl x | python3 -c 'import sys; print(sys.stdin.read())'", False),
    ("curl x | bash script.sh", False),
    ("curl x | grep y", False),
    ("echo $(curl x)", False),
    ("curl -o f x && ls", False),
    ("curl -s x; echo '| sh'", False),
])
def test_feeds_shell_marks_output_that_becomes_code(command: str, fed: bool) -> None:
    curls = [part for part in split_command(command) if part.program in ("curl", "wget")]
    assert curls, command
    assert any(part.feeds_shell for part in curls) is fed


def test_reads_code_from_stdin() -> None:
    reads = {text: split_command(text)[-1].reads_code for text in
             ["sh", "bash -s", "bash -x", "python3 -", "perl", "bash script.sh", "python3 -m http.server",
              "bash -c ls", "node -e 1", "source /dev/stdin"]}
    assert reads == {"sh": True, "bash -s": True, "bash -x": True, "python3 -": True, "perl": True,
                     "bash script.sh": False, "python3 -m http.server": False, "bash -c ls": False,
                     "node -e 1": False, "source /dev/stdin": True}


# ---------------------------------------------------------------- structure


def test_connectors_record_the_operator_after_each_command() -> None:
    parts = split_command("a && b || c; d | e & f")
    assert [part.connector for part in parts] == ["&&", "||", ";", "|", "&", ""]


def test_subshells_have_their_own_scope() -> None:
    cd, rm, ls = split_command("(cd /tmp && rm x); ls")
    assert cd.scope == rm.scope != ()
    assert ls.scope == ()


def test_function_bodies_are_marked() -> None:
    parts = split_command(":(){ :|:& };:")
    assert [(part.argv, part.function, part.connector) for part in parts] == [
        ((":",), ":", "|"), ((":",), ":", "&"), ((":",), None, "")]


def test_text_is_normalised_and_full_text_names_wrappers() -> None:
    [part] = split_command("sudo   timeout 5  rm  -rf 'my dir'")
    assert part.text == "rm -rf 'my dir'"
    assert part.full_text == "sudo timeout rm -rf 'my dir'"
    assert part.program == "rm"


def test_is_single_command() -> None:
    assert is_single_command("git status")
    assert is_single_command("echo 'a && b' > out.txt")
    assert is_single_command("bash -c 'a; b'")
    for text in ["git status && rm -rf x", "a; b", "a | b", "a &", "a\nb", "(a)", "echo 'open"]:
        assert not is_single_command(text), text


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab $()`'\"\\;&|<>{}#\n\t=-*~!")), max_size=60))
def test_split_never_raises(text: str) -> None:
    parts = split_command(text)
    assert all(isinstance(part, SimpleCommand) for part in parts)
    assert all(part.argv or part.redirects or part.unparseable or part.sets_variables_only for part in parts)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_split_never_raises_on_any_unicode(text: str) -> None:
    split_command(text)
