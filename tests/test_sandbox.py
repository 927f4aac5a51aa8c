"""The sandbox, with the real bubblewrap: what a command or check that the policy let through
(or that no policy sees, like a conftest.py) can still do. Skipped, with the reason, where
bubblewrap is not installed (`.ci/run` installs it)."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from once.safety.sandbox import SandboxMissing, bwrap_path, wrap
from once.tools.base import ToolContext
from once.tools.command import run_command
from once.tools.workspace import Workspace
from once.verify import Check, run_check
from tests.conftest import make_repo

needs_bwrap = pytest.mark.skipif(bwrap_path() is None, reason="bubblewrap is not installed (apt install bubblewrap)")


@pytest.fixture
def outside(tmp_path: Path):
    """A place outside the repository and outside /tmp."""
    path = Path("/var/tmp") / f"once-sandbox-{tmp_path.parent.name}-{tmp_path.name}"
    yield path
    path.unlink(missing_ok=True)


@pytest.fixture
def home(tmp_path: Path):
    """A home folder outside /tmp (which the sandbox replaces with its own, hiding everything in it)."""
    import shutil

    path = Path("/var/tmp") / f"once-sandbox-home-{tmp_path.parent.name}-{tmp_path.name}"
    path.mkdir(parents=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _ctx(repo: Path, network: bool = False) -> ToolContext:
    return ToolContext(workspace=Workspace(repo), sandbox=("bwrap", network))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"app.py": "x = 1\n"})


@needs_bwrap
def test_a_sandboxed_command_writes_the_repository_and_nothing_else(repo: Path, outside: Path) -> None:
    out = run_command(_ctx(repo), f"echo inside > made.txt; echo evil > {outside}; echo hook > .git/hooks/post-commit;"
                                  " echo done")
    assert (repo / "made.txt").read_text() == "inside\n"
    assert not outside.exists() and not (repo / ".git" / "hooks" / "post-commit").exists()
    assert "Read-only file system" in out.text and out.text.rstrip().endswith("done")


@needs_bwrap
def test_nothing_inside_has_a_capability_to_remount_the_system(repo: Path, outside: Path) -> None:
    """Run by root, bubblewrap would keep every capability: `mount -o remount,rw /` then made the
    read-only system writable (a write to /var/tmp got through). No capability, no remount."""
    out = run_command(_ctx(repo), f"grep CapEff /proc/self/status; mount -o remount,rw / ; echo x > {outside}")
    assert "CapEff:\t0000000000000000" in out.text
    assert not outside.exists()


@needs_bwrap
def test_the_kernels_settings_stay_read_only(repo: Path) -> None:
    """Run as root, a process in the sandbox could write /proc/sys (its uid is root whatever its
    capabilities): `kernel.core_pattern = |prog` then runs prog outside the sandbox, as root. The
    probe writes back the value already there, so even a broken sandbox changes nothing."""
    out = run_command(_ctx(repo), "v=$(cat /proc/sys/kernel/core_pattern); "
                                  "printf '%s\\n' \"$v\" > /proc/sys/kernel/core_pattern && echo WROTE; "
                                  "echo 1 > /sys/kernel/profiling 2>/dev/null && echo SYS; echo end")
    assert "WROTE" not in out.text and "SYS" not in out.text and "end" in out.text


@needs_bwrap
def test_nothing_inside_makes_a_set_id_program_or_touches_the_keyring(repo: Path) -> None:
    """Run by root, a process inside keeps uid 0: a file it made setuid in the repository would
    be a setuid-root program on the host, and root's kernel keyring would be shared."""
    import os
    import stat

    out = run_command(_ctx(repo), "cp /bin/true ./t && chmod 4755 ./t; chmod 2755 ./t; chmod 755 ./t && echo plain; "
                                  "python3 -c \"import os; os.open('u', os.O_CREAT | os.O_WRONLY, 0o4755)\"; "
                                  "python3 -c \"import ctypes, platform; libc = ctypes.CDLL(None, use_errno=True); "
                                  "nr = {'x86_64': 248, 'aarch64': 217}[platform.machine()]; "
                                  "print('add_key', libc.syscall(nr, b'user', b'once-test', b'v', 1, -4), ctypes.get_errno())\"")
    made = repo / "t"
    assert made.exists() and not made.stat().st_mode & (stat.S_ISUID | stat.S_ISGID), out.text
    assert "plain" in out.text and not (repo / "u").exists()
    assert "add_key -1 1" in out.text, out.text
    assert os.access(made, os.X_OK)


@needs_bwrap
def test_a_repository_that_holds_the_home_folder_still_hides_its_private_files(home: Path) -> None:
    """A dotfiles repository is the home folder: its own bind must not show ~/.ssh again."""
    (home / ".ssh").mkdir()
    (home / ".ssh" / "id_rsa").write_text("PRIVATE KEY\n")
    (home / ".azure").symlink_to(home / "azure-real")  # a linked private folder must not break the sandbox
    (home / "azure-real").mkdir()
    (home / "azure-real" / "token").write_text("AZURE TOKEN\n")
    make_repo(home, {"notes.md": "dotfiles\n"})
    import subprocess

    argv = wrap("cat .ssh/id_rsa azure-real/token .azure/token; echo x > .ssh/planted; cat /etc/shadow; echo end",
                str(home), "bwrap", home=str(home))
    done = subprocess.run(argv, cwd=home, capture_output=True, text=True, timeout=30)
    assert "end" in done.stdout, done.stderr
    assert "PRIVATE KEY" not in done.stdout and "AZURE TOKEN" not in done.stdout
    assert not (home / ".ssh" / "planted").exists() and "root:" not in done.stdout


@needs_bwrap
def test_private_files_are_hidden(repo: Path, home: Path) -> None:
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text("PRIVATE KEY\n")
    (home / ".netrc").write_text("machine x password hunter2\n")
    argv = wrap(f"cat {home}/.ssh/id_rsa {home}/.netrc; echo end", str(repo), "bwrap", home=str(home))
    import subprocess

    done = subprocess.run(argv, cwd=repo, capture_output=True, text=True, timeout=30)
    assert "PRIVATE KEY" not in done.stdout and "hunter2" not in done.stdout and "end" in done.stdout


@needs_bwrap
def test_tmp_is_private_and_kept_across_the_processes_commands(repo: Path, tmp_path: Path) -> None:
    """A write to /tmp stays inside: the host's /tmp (other programs' files and sockets) is not
    the sandbox's, and what one command leaves there the next still finds."""
    marker = f"once-sandbox-test-{tmp_path.name}"
    first = run_command(_ctx(repo), f"echo inside > /tmp/{marker}; echo $TMPDIR")
    assert not (Path("/tmp") / marker).exists() and first.text.strip().endswith("/tmp")
    second = run_command(_ctx(repo), f"cat /tmp/{marker}; ls /tmp/{tmp_path.parent.name} 2>&1 | head -1")
    assert "inside" in second.text and tmp_path.name not in second.text


@needs_bwrap
def test_an_interpreter_under_the_real_tmp_still_runs(repo: Path, tmp_path: Path) -> None:
    """CI makes its venv in a temporary folder: a check's `python` from PATH must still start."""
    venv = tmp_path / "venv" / "bin"
    venv.mkdir(parents=True)
    tool = venv / "hello-tool"
    tool.write_text("#!/bin/sh\necho hello from the venv\n")
    tool.chmod(0o755)
    ctx = ToolContext(workspace=Workspace(repo), sandbox=("bwrap", False),
                      command_env={"PATH": f"{venv}:/usr/bin:/bin"})
    import os

    old = os.environ["PATH"]
    os.environ["PATH"] = f"{venv}:{old}"
    try:
        out = run_command(ctx, "hello-tool; ls /tmp/" + tmp_path.parent.name + " 2>&1 | head -3")
    finally:
        os.environ["PATH"] = old
    assert "hello from the venv" in out.text


@needs_bwrap
def test_the_hosts_sockets_and_onces_own_files_are_hidden(repo: Path, home: Path, monkeypatch) -> None:
    """A socket is a way out of any sandbox (a D-Bus, docker or ssh-agent socket under /run or
    /tmp); once's database and config, keyrings and shell histories are not the model's to read."""
    import os
    import subprocess

    for name, text in ((".local/share/once/once.db", "DATABASE ROWS"), (".config/once/config.toml", "team_url"),
                       (".local/share/keyrings/login.keyring", "KEYRING"), (".bash_history", "export TOKEN"),
                       (".config/once/skills/tidy/run.sh", "echo skill script")):
        (home / name).parent.mkdir(parents=True, exist_ok=True)
        (home / name).write_text(text + "\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("ONCE_DB", raising=False)
    run_dir = Path("/run") / f"once-test-{os.getpid()}"
    try:
        run_dir.mkdir()
    except OSError:
        pytest.skip("cannot make a folder under /run here")
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(run_dir / "bus"))
        server.listen(1)
        probe = (f"cat {home}/.local/share/once/once.db {home}/.config/once/config.toml "
                 f"{home}/.local/share/keyrings/login.keyring {home}/.bash_history; "
                 f"sh {home}/.config/once/skills/tidy/run.sh; "
                 f"python3 -c \"import socket; s=socket.socket(socket.AF_UNIX); "
                 f"print('connected' if s.connect_ex('{run_dir}/bus') == 0 else 'no socket')\"")
        argv = wrap(probe, str(repo), "bwrap", home=str(home))
        done = subprocess.run(argv, cwd=repo, capture_output=True, text=True, timeout=30)
    finally:
        server.close()
        (run_dir / "bus").unlink(missing_ok=True)
        run_dir.rmdir()
    for secret in ("DATABASE ROWS", "team_url", "KEYRING", "export TOKEN", "connected"):
        assert secret not in done.stdout
    assert "no socket" in done.stdout
    assert "skill script" in done.stdout  # a user skill's own script still runs


@needs_bwrap
def test_no_network_unless_allowed(repo: Path) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    accepted: list[bool] = []

    def serve() -> None:
        server.settimeout(10)
        try:
            conn, _ = server.accept()
            accepted.append(True)
            conn.close()
        except OSError:
            pass

    thread = threading.Thread(target=serve)
    thread.start()
    probe = (f"python3 -c \"import socket; s=socket.socket(); s.settimeout(3); "
             f"print('connected' if s.connect_ex(('127.0.0.1', {port})) == 0 else 'refused')\"")
    try:
        closed = run_command(_ctx(repo), probe)
        assert "refused" in closed.text and not accepted
        opened = run_command(_ctx(repo, network=True), probe)
        assert "connected" in opened.text
    finally:
        thread.join(timeout=15)
        server.close()


@needs_bwrap
def test_a_check_runs_in_the_sandbox_too(repo: Path, outside: Path) -> None:
    check = Check("test", f"echo ran > result.txt; touch {outside}", "detected: conftest.py")
    outcome = run_check(check, repo, timeout=30, env={"PATH": "/usr/bin:/bin"}, sandbox=("bwrap", False))
    assert not outside.exists() and (repo / "result.txt").read_text() == "ran\n"
    assert not outcome.passed  # its write outside the repository failed, so the check did


def test_bwrap_mode_refuses_to_run_without_bubblewrap(repo: Path, monkeypatch) -> None:
    monkeypatch.setattr("once.safety.sandbox.bwrap_path", lambda: None)
    with pytest.raises(SandboxMissing):
        wrap("true", str(repo), "bwrap")
    assert wrap("true", str(repo), "auto") is None and wrap("true", str(repo), "off") is None
    out = run_command(_ctx(repo), "echo should-not-run > x.txt")
    assert out.is_error and "not installed" in out.text and not (repo / "x.txt").exists()


@needs_bwrap
def test_a_run_with_the_sandbox_setting_runs_its_commands_inside(cli, repo: Path, tmp_path: Path, outside: Path,
                                                               monkeypatch) -> None:
    from tests.conftest import write_cassette
    from tests.fakes.anthropic_server import message, tool_use_block

    command = f"echo evil > {outside}; echo inside > made.txt"  # /var/tmp: scratch, the policy lets it through
    cassette = write_cassette(tmp_path / "c.json", [
        message([tool_use_block("t1", "run_command", {"command": command})]), message("done")])

    def run(sandbox: str) -> None:
        monkeypatch.setenv("ONCE_SANDBOX", sandbox)
        result = cli("run", "--replay", str(cassette), "--db", str(tmp_path / "db"), "-o", "json",
                     "--permission-mode", "full-auto", "go", cwd=repo)
        assert result.code == 0, result.stderr

    try:
        run("bwrap")
        assert (repo / "made.txt").read_text() == "inside\n" and not outside.exists()
        run("off")  # the same run without the sandbox does write there: the sandbox is what stopped it
        assert outside.read_text() == "evil\n"
    finally:
        outside.unlink(missing_ok=True)


@needs_bwrap
def test_a_probe_started_ahead_gives_the_answer_a_probe_now_gives(monkeypatch) -> None:
    """A run starts finding out whether bubblewrap works while its modules load; the answer is the same."""
    from once.safety import sandbox

    program = bwrap_path()
    assert program is not None
    sandbox._works.cache_clear()
    now = sandbox._works(program)
    sandbox._works.cache_clear()
    sandbox.start_probe("auto")
    assert program in sandbox._probes
    assert sandbox._works(program) == now and program not in sandbox._probes
    sandbox.start_probe("auto")  # answered once per process: no second probe
    assert program not in sandbox._probes


def test_no_probe_is_started_with_the_sandbox_off_or_missing(monkeypatch) -> None:
    from once.safety import sandbox

    sandbox._works.cache_clear()
    sandbox.start_probe("off")
    monkeypatch.setattr("once.safety.sandbox.bwrap_path", lambda: None)
    sandbox.start_probe("auto")
    assert sandbox._probes == {}


def test_the_seccomp_filter_is_a_program_for_known_machines_only() -> None:
    from once.safety.seccomp import program

    for machine in ("x86_64", "aarch64"):
        bpf = program(machine)
        assert bpf is not None and len(bpf) % 8 == 0 and len(bpf) // 8 < 4096  # whole ops, under the kernel's cap
    assert program("riscv64") is None


@needs_bwrap
def test_a_submodules_git_link_is_read_only_too(tmp_path: Path) -> None:
    """A command that pointed `lib/.git` at a folder of its own would have the user's next `git status`
    look inside it with that folder's config."""
    repo = make_repo(tmp_path / "repo", {".gitmodules": '[submodule "lib"]\n\tpath = lib\n\turl = ../lib\n',
                                         "lib/README": "x\n"})
    (repo / "lib" / ".git").write_text("gitdir: ../.git/modules/lib\n")
    out = run_command(_ctx(repo), "echo 'gitdir: /somewhere/else' > lib/.git; cat lib/.git")
    assert (repo / "lib" / ".git").read_text() == "gitdir: ../.git/modules/lib\n", out.text
