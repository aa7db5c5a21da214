"""A Redis Sentinel run by the project's own server binary (issue #18).

Sentinel promotes a replica when the primary dies and tells clients of
``redis+sentinel://`` URLs where the primary is now.  Any Redis server binary
runs as one (``redis-server sentinel.conf --sentinel``); :class:`EmbeddedSentinel`
uses the one :func:`~blissdata_core.server.locate_server` finds, writes the
configuration in a private directory (Sentinel rewrites that file as it learns
replicas and failovers) and checks, before starting, that the primary answers
as a primary: a typo'd URL otherwise gives a Sentinel that waits forever.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from blissdata_core.errors import SentinelConfigError, ServerStartError
from blissdata_core.server import (
    START_TIMEOUT,
    ServerCommand,
    free_port,
    locate_server,
    reap_process,
    redact_url,
)

__all__ = ["EmbeddedSentinel", "MonitoredPrimary", "parse_monitor_url"]

SERVICE = "bd"
#: Server options that name the TLS files a Sentinel presents to the servers.
_TLS_FILE_OPTIONS = {
    "tls-ca-cert-file": "ssl_ca_certs",
    "tls-cert-file": "ssl_certfile",
    "tls-key-file": "ssl_keyfile",
}


@dataclass(frozen=True)
class MonitoredPrimary:
    """Where the primary is and how Sentinel logs in to it and its replicas."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False


def parse_monitor_url(url: str) -> MonitoredPrimary:
    """``redis[s]://[[user]:password@]host[:port]`` -> :class:`MonitoredPrimary`."""
    try:
        parts = urlsplit(url)
        port = parts.port or 6379
    except ValueError as exc:
        raise SentinelConfigError(f"bad --monitor URL {redact_url(url)!r} ({exc})") from None
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise SentinelConfigError(
            f"--monitor needs the primary's redis://[:password@]host:port URL "
            f"(rediss:// for TLS), not {redact_url(url)!r}"
        )
    return MonitoredPrimary(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=parts.scheme == "rediss",
    )


def _option_lines(extra_args: Sequence[str]) -> list[str]:
    """``--name value...`` arguments as configuration lines ``name value...``
    (what redis-server does with its own command line), so that Sentinel
    directives pass too: ``--sentinel announce-ip 10.0.0.5``."""
    lines: list[list[str]] = []
    for arg in extra_args:
        if arg.startswith("--"):
            lines.append([arg[2:]])
        elif lines:
            lines[-1].append(arg)
        else:
            raise SentinelConfigError(
                f"extra Sentinel option {arg!r} does not start with --; "
                "write them as after `--`: --name value"
            )
    return [" ".join(_quote(w) for w in line) for line in lines]


def _quote(word: str) -> str:
    if word and not any(c in word for c in " \"'\\\n\t"):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class EmbeddedSentinel:
    """One Sentinel process on ``bind`` (127.0.0.1), monitoring one primary.

    ``monitor`` is the primary's URL (its password, if any, is the one
    Sentinel uses for the primary and its replicas; ``rediss://`` makes
    Sentinel talk TLS to them, with the certificate options given in
    ``extra_args``).  ``port=None`` picks a free port; ``dir=None`` makes a
    private temporary directory, removed by :meth:`close`.  :attr:`url` is
    what clients give ``DataStore``.
    """

    def __init__(
        self,
        monitor: str,
        *,
        name: str = SERVICE,
        quorum: int = 1,
        port: int | None = None,
        dir: str | os.PathLike[str] | None = None,  # noqa: A002 - mirrors --dir
        bind: str = "127.0.0.1",
        down_after_ms: int = 5000,
        failover_timeout_ms: int = 60000,
        extra_args: Sequence[str] = (),
        command: ServerCommand | None = None,
        die_with_parent: bool = True,
    ) -> None:
        self.primary = parse_monitor_url(monitor)
        self.monitor = monitor
        if not name or any(c.isspace() for c in name) or "/" in name:
            raise SentinelConfigError(f"--name {name!r}: a service name has no spaces or '/'")
        for label, value in (
            ("--quorum", quorum),
            ("--down-after-ms", down_after_ms),
            ("--failover-timeout-ms", failover_timeout_ms),
        ):
            if value < 1:
                raise SentinelConfigError(f"{label} must be at least 1, not {value}")
        self.name = name
        self.quorum = quorum
        self.bind = bind
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        self.extra_lines = _option_lines(extra_args)
        self._extra_args = list(extra_args)
        self._requested_port = port or None
        self.port: int | None = self._requested_port
        self._own_dir = dir is None
        self.dir: Path | None = Path(dir).resolve() if dir is not None else None
        self._command = command
        self._die_with_parent = die_with_parent
        self._proc: subprocess.Popen[bytes] | None = None

    # -- addresses
    @property
    def url(self) -> str:
        """``redis+sentinel://HOST:PORT/NAME`` (``rediss+sentinel`` for a TLS primary)."""
        if self.port is None:
            raise ServerStartError("the sentinel has not been started")
        scheme = "rediss+sentinel" if self.primary.tls else "redis+sentinel"
        return f"{scheme}://{self.host}:{self.port}/{self.name}"

    @property
    def host(self) -> str:
        """Where to reach the Sentinel from this host (the bound address, or loopback)."""
        return "127.0.0.1" if self.bind in ("0.0.0.0", "::", "*") else self.bind

    @property
    def config_path(self) -> Path | None:
        return self.dir / "sentinel.conf" if self.dir is not None else None

    @property
    def log_path(self) -> Path | None:
        return self.dir / "sentinel.log" if self.dir is not None else None

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

    def client(self, timeout: float = 5.0):  # type: ignore[no-untyped-def]
        """A redis-py client of the Sentinel itself (SENTINEL commands)."""
        import redis

        return redis.Redis(
            host=self.host,
            port=self.port or 0,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            decode_responses=True,
        )

    def master_info(self) -> dict:
        """``SENTINEL MASTER name``: what this Sentinel knows of the primary."""
        with self.client() as client:
            return dict(client.sentinel_master(self.name))

    def wait_for_replicas(self, count: int, timeout: float = START_TIMEOUT) -> int:
        """Wait until this Sentinel has discovered ``count`` replicas (it needs
        them to fail over); return how many it knows (fewer on timeout)."""
        import redis

        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            with contextlib.suppress(redis.RedisError):
                seen = int(self.master_info().get("num-slaves", 0))
            if seen >= count or time.monotonic() >= deadline:
                return seen
            time.sleep(0.1)

    # -- lifecycle
    def check_primary(self, timeout: float = 5.0) -> None:
        """Raise :class:`SentinelConfigError` unless the primary answers as a primary."""
        import redis

        kwargs: dict = {}
        if self.primary.tls:
            kwargs["ssl"] = True
            for option, key in _TLS_FILE_OPTIONS.items():
                with contextlib.suppress(ValueError, IndexError):
                    kwargs[key] = self._extra_args[self._extra_args.index("--" + option) + 1]
        shown = redact_url(self.monitor)
        try:
            with redis.Redis(
                host=self.primary.host,
                port=self.primary.port,
                username=self.primary.username,
                password=self.primary.password,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                decode_responses=True,
                **kwargs,
            ) as client:
                role = client.info("replication").get("role")
        except redis.AuthenticationError as exc:
            raise SentinelConfigError(
                f"the primary at {shown} refused the credentials ({exc}); "
                "put its password in the --monitor URL: redis://:PASSWORD@host:port"
            ) from None
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise SentinelConfigError(
                f"cannot reach the primary at {shown} ({first}); "
                "start it first (blissdata server) or fix the --monitor URL"
            ) from None
        except redis.RedisError as exc:
            raise SentinelConfigError(f"the primary at {shown} answered: {exc}") from None
        if role != "master":
            raise SentinelConfigError(
                f"{shown} is a replica, not a primary; give --monitor the primary's URL"
            )

    def config_text(self, port: int) -> str:
        assert self.dir is not None
        p = self.primary
        host = p.host
        lines = [
            f"port {port}",
            f"bind {self.bind}",
            f"dir {_quote(str(self.dir))}",
            "daemonize no",
        ]
        try:
            ipaddress.ip_address(host)
        except ValueError:  # Sentinel wants addresses unless told to resolve names
            lines += ["sentinel resolve-hostnames yes", "sentinel announce-hostnames yes"]
        lines.append(f"sentinel monitor {self.name} {host} {p.port} {self.quorum}")
        if p.password:
            lines.append(f"sentinel auth-pass {self.name} {_quote(p.password)}")
        if p.username:
            lines.append(f"sentinel auth-user {self.name} {_quote(p.username)}")
        lines += [
            f"sentinel down-after-milliseconds {self.name} {self.down_after_ms}",
            f"sentinel failover-timeout {self.name} {self.failover_timeout_ms}",
        ]
        if p.tls:
            lines.append("tls-replication yes")
        return "\n".join(lines + self.extra_lines) + "\n"

    def start(self, check_primary: bool = True) -> EmbeddedSentinel:
        """Check the primary, write the configuration, start and wait until Sentinel
        is connected to the primary."""
        if self.is_running():
            return self
        command = self.command
        if check_primary:
            self.check_primary()
        if self.dir is None:
            self.dir = Path(tempfile.mkdtemp(prefix="blissdata-sentinel-"))
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        attempts = 1 if self._requested_port else 5
        for attempt in range(attempts):
            port = self._requested_port or free_port()
            try:
                self._spawn(command, port)
                self.port = self._requested_port = port
                return self
            except ServerStartError as exc:
                if "already in use" not in str(exc) or attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    def _spawn(self, command: ServerCommand, port: int) -> None:
        assert self.config_path is not None and self.log_path is not None
        # The password of the primary is in the file: readable by us only.
        fd = os.open(self.config_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(self.config_text(port))
        with open(self.log_path, "wb") as log:
            self._proc = subprocess.Popen(
                [command.executable, str(self.config_path), "--sentinel"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=command.process_env(),
                start_new_session=True,  # Ctrl-C in a terminal is ours to handle
                preexec_fn=self._preexec,
            )
        try:
            self._wait_ready(port)
        except BaseException:
            self._reap(signal.SIGKILL)
            raise

    def _preexec(self) -> None:  # pragma: no cover - runs in the child
        """Sentinel rewrites its configuration (the primary's password) with this umask."""
        from blissdata_core.server import die_with_parent_hook

        os.umask(0o077)
        if self._die_with_parent:
            die_with_parent_hook()

    def _log_text(self) -> str:
        path = self.log_path
        return path.read_text(errors="replace") if path is not None and path.exists() else ""

    def _wait_ready(self, port: int) -> None:
        import redis

        self.port = port
        deadline = time.monotonic() + START_TIMEOUT
        last: object = None
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise ServerStartError(self._exit_reason(port))
            try:
                with self.client() as client:
                    if int(client.info("server").get("process_id", -1)) != self._proc.pid:
                        raise ServerStartError(
                            f"port {port} is already in use by another server; "
                            "choose another --port (or 0 for a free one)"
                        )
                    info = client.sentinel_master(self.name)
                    flags = str(info.get("flags", ""))
                    if info.get("role-reported") == "master" and "disconnected" not in flags:
                        return
                    last = f"flags {flags}"
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                last = exc
            except redis.ResponseError as exc:
                last = exc
            time.sleep(0.05)
        raise ServerStartError(
            f"sentinel not connected to the primary after {START_TIMEOUT}s ({last}); "
            f"see {self.log_path}"
        )

    def _exit_reason(self, port: int) -> str:
        assert self._proc is not None
        log = self._log_text()
        if "already in use" in log:
            return f"port {port} is already in use; choose another --port (or 0 for a free one)"
        lines = [ln for ln in log.splitlines() if ln.strip()]
        bad = [ln for ln in lines if "Bad directive" in ln or ">>>" in ln or "FATAL" in ln]
        detail = " ".join(x.strip() for x in (bad or lines[-1:]))
        where = "" if self._own_dir else f" (log: {self.log_path})"
        return (
            f"sentinel exited with code {self._proc.returncode} at start: {detail[:300]}; "
            f"check the options{where}"
        )

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM the Sentinel and wait for it to end."""
        self._reap(signal.SIGTERM, timeout)

    def _reap(self, sig: int, timeout: float = 30.0) -> None:
        if self._proc is not None:
            reap_process(self._proc, sig, timeout)
        self._proc = None

    def kill(self) -> None:
        """SIGKILL the Sentinel, like a crash."""
        self._reap(signal.SIGKILL)

    def close(self) -> None:
        """Stop the Sentinel and remove the directory if this object made it."""
        self.stop()
        if self._own_dir and self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self) -> EmbeddedSentinel:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.is_running() else "stopped"
        return f"<EmbeddedSentinel {self.port} {state} monitor={redact_url(self.monitor)}>"
