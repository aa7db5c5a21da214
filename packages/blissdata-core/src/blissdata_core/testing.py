"""pytest plugin shared by every blissdata package, opted into by a top-level ``conftest.py``::

    pytest_plugins = ["blissdata_core.testing"]

It is not registered through ``pytest11``: installing blissdata-core adds no
fixture to other projects' test suites.

Fixtures
--------
``redis_url``
    URL of an empty database (FLUSHALL) initialised with
    ``DataStore(url, init_db=True)``.  Function scope: every test starts clean.
``data_store``
    A :class:`blissdata_core.DataStore` on ``redis_url``.
``redis_server``
    The session's server as a :class:`RedisServer`: ``.url``, ``.kind`` and,
    for the embedded server only, ``.stop() .kill() .pause() .resume()
    .restart() .start()`` for fault tests (they skip the test when the server
    is external).  Whatever the test did, the server runs again afterwards.
``redis_server_factory``
    ``factory(extra_args=(), password=None, ...) -> EmbeddedRedis``: a private
    embedded server (``--requirepass``, ``--aclfile``, TLS...), closed after the
    test.
``reference_python``
    Path of a Python whose venv holds the reference peers (blissdata 2.4.5,
    blisswriter 3.0.0, redis 5.2.1, pydantic 2.11.7), created on first use
    under ``~/.cache/blissdata/reference-venv-2.4.5``.  The test is skipped,
    with the reason, when it cannot be created (no network...).
    ``$BLISSDATA_REFERENCE_PYTHON`` names an existing interpreter instead.

Helper :func:`gevent_patched` tells whether the process runs under gevent's
monkey-patching (``nox -s gevent``), for the few tests that cannot make sense there.

Helper :func:`run_reference` runs a Python snippet with that interpreter and
returns its stdout (``sys.argv[1:]`` are the extra arguments)::

    def test_reference_reads_our_scan(reference_python, redis_url):
        out = run_reference("import sys; print(sys.argv[1])", redis_url)

Which server
------------
``$BLISSDATA_REDIS_URL`` if set (it is FLUSHALL'ed: never point it at a
database you care about); else a ``redis/redis-stack-server:7.4.0-v1``
container through testcontainers when a Docker engine answers; else the
embedded server (:mod:`blissdata_core.server`).  ``$BLISSDATA_TEST_SERVER``
(``url``, ``docker`` or ``embedded``) forces a choice.

With pytest-xdist every worker has its own server.  An external URL cannot be
shared between workers (each one flushes it): give one URL per worker, comma
separated, ``BLISSDATA_REDIS_URL=redis://h:6379,redis://h:6380`` for ``-n 2``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from blissdata_core.errors import ReferenceRunError, ReferenceUnavailable
from blissdata_core.server import (
    EmbeddedRedis,
    ServerNotFoundError,
    ServerStartError,
    _file_lock,
    cache_dir,
)

ENV_URL = "BLISSDATA_REDIS_URL"
ENV_BACKEND = "BLISSDATA_TEST_SERVER"
ENV_REFERENCE = "BLISSDATA_REFERENCE_PYTHON"
DOCKER_IMAGE = "redis/redis-stack-server:7.4.0-v1"

REFERENCE_VERSION = "2.4.5"
REFERENCE_REQUIREMENTS = (
    "blissdata==2.4.5",
    "blisswriter==3.0.0",
    "redis==5.2.1",
    "pydantic==2.11.7",
)


def gevent_patched() -> bool:
    """Whether gevent's monkey-patching made threads greenlets here (gevent is not imported)."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and bool(monkey.is_module_patched("threading"))


def pytest_configure(config: pytest.Config) -> None:
    for line in (
        "interop: tests that drive the reference client/writer in their own venv",
        "reliability: fault injection tests (kill/pause servers)",
        "slow: long-running tests",
    ):
        config.addinivalue_line("markers", line)


# --- the server -------------------------------------------------------------------


class RedisServer:
    """The Redis a test session talks to, and what a test may do to it."""

    def __init__(
        self,
        url: str,
        kind: str,
        embedded: EmbeddedRedis | None = None,
        closer: Callable[[], None] | None = None,
    ) -> None:
        self._url = url
        self.kind = kind  # "url", "docker" or "embedded"
        self.embedded = embedded
        self._closer = closer
        self._paused = False

    @property
    def url(self) -> str:
        return self.embedded.url if self.embedded is not None else self._url

    @property
    def controllable(self) -> bool:
        return self.embedded is not None

    def _require(self) -> EmbeddedRedis:
        if self.embedded is None:
            pytest.skip(f"needs the embedded server to control; this session uses {self.kind}")
        return self.embedded

    @property
    def pid(self) -> int | None:
        return self._require().pid

    def stop(self) -> None:
        self._require().stop()

    def kill(self) -> None:
        self._require().kill()

    def terminate(self) -> None:
        self._require().terminate()

    def pause(self) -> None:
        self._require().pause()
        self._paused = True

    def resume(self) -> None:
        self._require().resume()
        self._paused = False

    def start(self) -> None:
        self._require().start()

    def restart(self) -> None:
        self._require().restart()
        self._paused = False

    def ensure_running(self) -> None:
        """Undo what a fault test left behind."""
        if self.embedded is None:
            return
        if self._paused:
            self.embedded.resume()
            self._paused = False
        if not self.embedded.is_running():
            self.embedded.start()

    def close(self) -> None:
        if self.embedded is not None:
            self.embedded.close()
        if self._closer is not None:
            self._closer()

    def __repr__(self) -> str:
        return f"<RedisServer {self.kind} {self.url}>"


def _worker_index() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    digits = "".join(c for c in worker if c.isdigit())
    return int(digits or 0)


def _url_from_env() -> str:
    urls = [u.strip() for u in os.environ[ENV_URL].split(",") if u.strip()]
    index = _worker_index()
    if index >= len(urls):
        pytest.fail(
            f"{ENV_URL} lists {len(urls)} URL(s) but this is xdist worker {index}: "
            "give one URL per worker (comma separated) or run without -n",
            pytrace=False,
        )
    return urls[index]


def docker_available(timeout: float = 2.0) -> bool:
    """Whether a Docker engine answers a ping, without waiting on a missing daemon."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        if host.startswith("unix://"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            address: Any = host[len("unix://") :]
        elif host.startswith("tcp://"):
            hostport = host[len("tcp://") :].rstrip("/")
            name, _, port = hostport.rpartition(":")
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            address = (name, int(port))
        else:
            return False
        with sock:
            sock.settimeout(timeout)
            sock.connect(address)
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            return b" 200 " in sock.recv(256)
    except (OSError, ValueError):
        return False


def _docker_server() -> RedisServer | None:
    try:
        from testcontainers.core.container import DockerContainer
        from testcontainers.core.waiting_utils import wait_for_logs
    except ImportError:
        return None
    container = None
    try:
        container = DockerContainer(DOCKER_IMAGE).with_exposed_ports(6379)
        container.start()
        wait_for_logs(container, "Ready to accept connections", timeout=120)
        host = container.get_container_host_ip()
        port = container.get_exposed_port(6379)
    except Exception as exc:
        warnings.warn(f"Docker answered but {DOCKER_IMAGE} did not start: {exc}", stacklevel=2)
        if container is not None:
            with contextlib.suppress(Exception):
                container.stop()
        return None
    return RedisServer(f"redis://{host}:{port}", "docker", closer=container.stop)


def start_session_server() -> RedisServer:
    """Pick and start the session's server (see the module docstring for the order)."""
    backend = os.environ.get(ENV_BACKEND, "auto").lower()
    if backend in ("auto", "url") and os.environ.get(ENV_URL):
        return RedisServer(_url_from_env(), "url")
    if backend == "url":
        pytest.fail(f"{ENV_BACKEND}=url but {ENV_URL} is not set", pytrace=False)
    if backend in ("auto", "docker") and docker_available():
        server = _docker_server()
        if server is not None:
            return server
    if backend == "docker":
        pytest.fail(f"{ENV_BACKEND}=docker but no container could be started", pytrace=False)
    embedded = EmbeddedRedis()
    try:
        embedded.start()
    except (ServerNotFoundError, ServerStartError) as exc:
        embedded.close()
        pytest.fail(f"no Redis for the tests:\n{exc}", pytrace=False)
    return RedisServer(embedded.url, "embedded", embedded)


@pytest.fixture(scope="session")
def blissdata_session_server() -> Iterator[RedisServer]:
    server = start_session_server()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def redis_server(blissdata_session_server: RedisServer) -> Iterator[RedisServer]:
    """The session's server; running again after the test whatever it did to it."""
    yield blissdata_session_server
    blissdata_session_server.ensure_running()


def init_database(url: str) -> None:
    """Empty the database at ``url`` and initialise it for protocol 1."""
    import redis

    from blissdata_core import DataStore

    with redis.Redis.from_url(url) as client:
        client.flushall()
    _close(DataStore(url, init_db=True))


def _close(obj: Any) -> None:
    close = getattr(obj, "close", None)
    if callable(close):
        close()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    url = redis_server.url
    init_database(url)
    return url


@pytest.fixture
def data_store(redis_url: str) -> Iterator[Any]:
    from blissdata_core import DataStore

    store = DataStore(redis_url)
    try:
        yield store
    finally:
        _close(store)


@pytest.fixture
def redis_server_factory(tmp_path: Path) -> Iterator[Callable[..., EmbeddedRedis]]:
    """Start private embedded servers with their own options; all closed after the test."""
    servers: list[EmbeddedRedis] = []

    def factory(extra_args: Sequence[str] = (), **kwargs: Any) -> EmbeddedRedis:
        kwargs.setdefault("dir", tmp_path / f"redis-{len(servers)}")
        server = EmbeddedRedis(extra_args=extra_args, **kwargs)
        servers.append(server)
        try:
            server.start()
        except ServerNotFoundError as exc:
            pytest.skip(f"no embedded server available: {exc}")
        return server

    try:
        yield factory
    finally:
        for server in servers:
            server.close()


# --- where a package's exceptions live ---------------------------------------------------


def exception_classes_outside_errors(package: Any) -> list[str]:
    """Classes deriving from an ``...Error``/``...Exception`` defined anywhere in
    ``package`` but its top-level ``errors.py`` (``path:line name`` each)."""
    import ast

    root = Path(package.__file__).parent
    found = []
    for path in root.rglob("*.py"):
        if path.name == "errors.py" and path.parent == root:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ClassDef):
                continue
            bases = [ast.unparse(b).rsplit(".", 1)[-1] for b in node.bases]
            if any(b.endswith(("Error", "Exception", "Unavailable")) for b in bases):
                found.append(f"{path.relative_to(root)}:{node.lineno} {node.name}")
    return found


def exceptions_defined_in(errors_module: Any) -> list[type[BaseException]]:
    """The exception classes ``errors_module`` defines itself (not those it imports)."""
    import inspect

    return [
        c
        for _, c in inspect.getmembers(errors_module, inspect.isclass)
        if issubclass(c, BaseException) and c.__module__ == errors_module.__name__
    ]


# --- the reference implementation ---------------------------------------------------


def reference_venv_dir() -> Path:
    return cache_dir() / f"reference-venv-{REFERENCE_VERSION}"


_reference_failure: str | None = None


def reference_python_path() -> Path:
    """The reference interpreter, creating its venv once (raises :class:`ReferenceUnavailable`)."""
    global _reference_failure
    if os.environ.get(ENV_REFERENCE):
        return Path(os.environ[ENV_REFERENCE])
    if _reference_failure is not None:
        raise ReferenceUnavailable(_reference_failure)
    venv = reference_venv_dir()
    python = venv / "bin" / "python"
    marker = venv / ".blissdata-complete"
    wanted = "\n".join(REFERENCE_REQUIREMENTS)
    if marker.exists() and marker.read_text() == wanted and python.exists():
        return python
    with _file_lock(cache_dir() / "reference-venv.lock"):
        if marker.exists() and marker.read_text() == wanted and python.exists():
            return python
        try:
            _create_reference_venv(venv)
        except (OSError, subprocess.SubprocessError) as exc:
            _reference_failure = f"cannot create the reference venv in {venv}: {exc}"
            raise ReferenceUnavailable(_reference_failure) from None
        marker.write_text(wanted)
    return python


def _create_reference_venv(venv: Path) -> None:
    python = str(venv / "bin" / "python")
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    _run_steps(venv, [[sys.executable, "-m", "venv", str(venv)], [*pip, *REFERENCE_REQUIREMENTS]])


@pytest.fixture(scope="session")
def reference_python() -> Path:
    try:
        return reference_python_path()
    except ReferenceUnavailable as exc:
        pytest.skip(str(exc))


def run_reference(
    script: str, *args: str, timeout: float = 300.0, env: dict[str, str] | None = None
) -> str:
    """Run ``script`` with the reference interpreter; its stdout, or :class:`ReferenceRunError`.

    Skips the calling test when the reference venv cannot be created.
    """
    try:
        python = reference_python_path()
    except ReferenceUnavailable as exc:
        pytest.skip(str(exc))
    full_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    full_env.update(env or {})
    proc = subprocess.run(
        [str(python), "-c", script, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )
    if proc.returncode != 0:
        raise ReferenceRunError(proc.returncode, proc.stdout, proc.stderr)
    return proc.stdout


# -- the compatibility layer's interop venv -----------------------------------------------------

#: Downstream programs of the real blissdata, installed with --no-deps so that the real
#: blissdata is absent and install_as_blissdata() stands in for it.
COMPAT_PEERS = (
    "ewoksdata==2.2.1",
    "blissoda==1.11.0",
    "blisswriter==3.0.0",
    "blissdata-lima2==2.0.2",
    "blissdata-mosca==2.0.5",
)
#: The peers' own requirements, less blissdata (read from their metadata).
COMPAT_PEER_DEPENDENCIES = (
    "packaging",
    "numpy",
    "h5py>=3.10",
    "silx>=1.1.0",
    "hdf5plugin",
    "redis!=5.3.0b1,!=5.3.0b3",
    "redis-om",
    "pydantic",
    "lima2-client~=4.1",
    "mosca-client",
    "ewoksjob>=1.4.0",  # blissoda[server]: its workflow_server package imports it
)
ENV_COMPAT = "BLISSDATA_COMPAT_PYTHON"
_compat_failure: str | None = None


def compat_venv_dir() -> Path:
    """One interop venv per checkout: it installs that checkout's packages in
    editable mode, so two checkouts sharing one would rebuild it under each other."""
    digest = hashlib.sha256(str(_project_root()).encode()).hexdigest()[:12]
    return cache_dir() / f"compat-venv-{digest}"


def _project_root() -> Path:
    return Path(__file__).resolve().parents[4]


def compat_python_path() -> Path:
    """A Python with the project (editable), the peers and their dependencies but no blissdata."""
    global _compat_failure
    if os.environ.get(ENV_COMPAT):
        return Path(os.environ[ENV_COMPAT])
    if _compat_failure is not None:
        raise ReferenceUnavailable(_compat_failure)
    root = _project_root()
    packages = [
        root / "packages" / name for name in ("blissdata-core", "blissdata-h5", "blissdata-writer")
    ]
    if not all((p / "pyproject.toml").exists() for p in packages):
        raise ReferenceUnavailable(f"the project's packages are not under {root}")
    venv = compat_venv_dir()
    python = venv / "bin" / "python"
    marker = venv / ".blissdata-complete"
    # The pyprojects' digests too: an editable install's entry points are read at install time.
    digests = [hashlib.sha256((p / "pyproject.toml").read_bytes()).hexdigest() for p in packages]
    wanted = "\n".join([*map(str, packages), *digests, *COMPAT_PEERS, *COMPAT_PEER_DEPENDENCIES])
    if marker.exists() and marker.read_text() == wanted and python.exists():
        return python
    with _file_lock(venv.with_name(venv.name + ".lock")):
        if marker.exists() and marker.read_text() == wanted and python.exists():
            return python
        pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        editable = [arg for p in packages for arg in ("-e", str(p))]
        editable[1] += "[hdf5,fast]"
        no_blissdata = "import importlib.util, sys; sys.exit(importlib.util.find_spec('blissdata') is not None)"
        steps = [
            [sys.executable, "-m", "venv", str(venv)],
            [*pip, *editable, *COMPAT_PEER_DEPENDENCIES, "pytest", "pytest-timeout"],
            [*pip, "--no-deps", *COMPAT_PEERS],
            [str(python), "-c", no_blissdata],
        ]
        try:
            _run_steps(venv, steps)
        except (OSError, subprocess.SubprocessError) as exc:
            _compat_failure = f"cannot create the interop venv in {venv}: {exc}"
            raise ReferenceUnavailable(_compat_failure) from None
        marker.write_text(wanted)
    return python


def _run_steps(venv: Path, steps: list[list[str]]) -> None:
    import shutil

    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    for cmd in steps:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        if proc.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-5:])
            raise OSError(f"`{' '.join(cmd[:4])} ...` failed: {tail}")


@pytest.fixture(scope="session")
def compat_python() -> Path:
    """Python of the interop venv (peers of the real blissdata, without it); skips if unavailable."""
    try:
        return compat_python_path()
    except ReferenceUnavailable as exc:
        pytest.skip(str(exc))


# -- files a detector saves ---------------------------------------------------------------------

#: EDF ``DataType`` of :func:`write_edf` frames, by numpy kind.
_EDF_TYPES = {"u1": "UnsignedByte", "i1": "SignedByte", "u2": "UnsignedShort",
              "i2": "SignedShort", "u4": "UnsignedInteger", "i4": "SignedInteger",
              "f4": "FloatValue", "f8": "DoubleValue"}  # fmt: skip


def write_edf(
    path: str | os.PathLike, frames: Sequence[Any], compression: str | None = None
) -> None:
    """Save ``frames`` (2D arrays) as an uncompressed multi-frame EDF file, as a
    detector does: per frame, an ASCII header padded to 512 bytes, then the raw
    little-endian data.  ``compression`` only labels the headers (to test readers)."""
    import numpy as np

    with open(path, "wb") as handle:
        for number, frame in enumerate(frames, 1):
            data = np.ascontiguousarray(frame, dtype=np.asarray(frame).dtype.newbyteorder("<"))
            lines = [
                f"HeaderID = EH:{number:06d}:000000:000000 ;",
                f"Image = {number} ;",
                "ByteOrder = LowByteFirst ;",
                f"DataType = {_EDF_TYPES[data.dtype.str[1:]]} ;",
                f"Dim_1 = {data.shape[1]} ;",
                f"Dim_2 = {data.shape[0]} ;",
                f"Size = {data.nbytes} ;",
            ]
            if compression:
                lines.append(f"Compression = {compression} ;")
            text = "{\n" + "\n".join(lines) + "\n"
            text += " " * (-(len(text) + 2) % 512) + "}\n"
            handle.write(text.encode("ascii"))
            handle.write(data.tobytes())


# -- third-party stream plugins with the reference client -----------------------------------------

#: The mosca plugin and its client, installed (--no-deps) into a directory that
#: goes on the reference interpreter's PYTHONPATH: blisswriter 3.0.0 brings
#: blissdata-lima2 into the reference venv, not blissdata-mosca.
REFERENCE_MOSCA_PACKAGES = (
    "blissdata-mosca==2.0.5",
    "mosca-client==2.0.5",
    "ruamel.yaml",
    "tabulate",
)


def reference_mosca_path() -> Path:
    """A directory holding blissdata-mosca for the reference interpreter (built once, cached)."""
    python = reference_python_path()
    target = cache_dir() / "reference-mosca-2.0.5"
    marker = target / ".blissdata-complete"
    wanted = "\n".join(REFERENCE_MOSCA_PACKAGES)
    if marker.exists() and marker.read_text() == wanted:
        return target
    with _file_lock(cache_dir() / "reference-mosca.lock"):
        if marker.exists() and marker.read_text() == wanted:
            return target
        import shutil

        shutil.rmtree(target, ignore_errors=True)
        cmd = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
               "--no-deps", "--target", str(target), *REFERENCE_MOSCA_PACKAGES]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        if proc.returncode != 0:
            shutil.rmtree(target, ignore_errors=True)
            raise ReferenceUnavailable(f"cannot install blissdata-mosca: {proc.stderr[-500:]}")
        marker.write_text(wanted)
    return target


class FakeLima2Conductor:
    """A Lima2 conductor answering only its version (all blissdata-lima2 asks when it
    opens a stream); frames asked of it get 404.  A context manager; ``port`` is its port."""

    VERSION = "4.3.2"  # the lima2-client the peers install

    def __init__(self) -> None:
        import http.server
        import threading

        version = self.VERSION

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                found = self.path == "/version/conductor"
                body = f'"{version}"'.encode() if found else b"null"
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeLima2Conductor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# -- scans for tests: a started scan, points sent and acknowledged, an h5maps entry ------


def make_scan(
    data_store: Any,
    path: str,
    number: int = 1,
    h5maps: dict | None = None,
    streams: dict[str, tuple[str, tuple]] | None = None,
    info: dict | None = None,
) -> Any:
    """A PREPARED+STARTED scan whose h5maps (if any) names ``path``."""
    from blissdata_core import Stream

    scan = data_store.create_scan(
        {"name": "test", "number": number, "data_policy": "no_policy", "path": path},
        info=dict(info or {}),
    )
    for name, (dtype, shape) in (streams or {}).items():
        scan.create_stream(Stream.make_definition(name, dtype, shape))
    if h5maps is not None:
        info = scan.info
        info["h5maps"] = {path: h5maps}
        scan.info = info
    scan.prepare()
    scan.start()
    return scan


def send(scan: Any, name: str, data: Any) -> None:
    """Send to one stream of ``scan`` and wait until the server holds it."""
    stream = scan.streams[name]
    stream.send(data)
    stream.join()


def entry_map(number: int, children: dict, attributes: dict | None = None) -> dict:
    """An ``h5maps`` tree: an NXroot holding entry ``{number}.1`` with ``children``."""
    return {
        "type": "group",
        "attributes": {"NX_class": "NXroot"},
        "children": {
            f"{number}.1": {
                "type": "group",
                "attributes": attributes or {"NX_class": "NXentry"},
                "children": children,
            }
        },
    }
