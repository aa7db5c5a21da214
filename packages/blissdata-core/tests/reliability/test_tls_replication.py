"""A replica following its primary over TLS, read over TLS (issue #18, DEPLOYMENT.md §6).

Both servers listen on TLS only (no plain port) and ask clients for a
certificate, so the replica can only sync through ``--tls-replication`` with
its own certificate, and producer and reader only through ``rediss://``
with the CA and a client certificate passed as ``DataStore`` keyword arguments.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from blissdata_core import DataStore, EndOfStream, Stream

pytestmark = pytest.mark.reliability

HANG_GUARD = 180
NPOINTS = 500


def make_ca_and_certificate(directory: Path) -> dict[str, Path]:
    """A throwaway CA and a certificate it signs for 127.0.0.1 (server and client use)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test CA and certificate")
    files = {name: directory / name for name in ("ca.crt", "ca.key", "tls.crt", "tls.key")}
    ext = directory / "ext.cnf"
    ext.write_text(
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n"
    )
    steps = [
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=blissdata test CA", "-keyout", files["ca.key"], "-out", files["ca.crt"],
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
         "-keyout", files["tls.key"], "-out", directory / "tls.csr"],
        ["x509", "-req", "-in", directory / "tls.csr", "-CA", files["ca.crt"],
         "-CAkey", files["ca.key"], "-CAcreateserial", "-days", "1",
         "-extfile", ext, "-out", files["tls.crt"]],
    ]  # fmt: skip
    for step in steps:
        subprocess.run([openssl, *map(str, step)], check=True, capture_output=True, timeout=60)
    return files


def tls_args(tls_port: int, files: dict[str, Path]) -> list[str]:
    """TLS only, client certificates required; the certificate is also the one
    the replica presents to its primary."""
    return ["--port", "0", "--tls-port", str(tls_port),
            "--tls-cert-file", str(files["tls.crt"]), "--tls-key-file", str(files["tls.key"]),
            "--tls-ca-cert-file", str(files["ca.crt"]), "--tls-auth-clients", "yes"]  # fmt: skip


@pytest.fixture
def tls_pair(private_server, pick_port, tmp_path):
    """(primary TLS URL, replica TLS URL, replica, DataStore TLS options)."""
    files = make_ca_and_certificate(tmp_path)
    primary_port = pick_port()
    try:
        private_server(tls_args(primary_port, files))
    except AssertionError as exc:  # private_server's "could not start" carries the log
        if "tls" in str(exc).lower():
            pytest.skip(f"this redis-server was not built with TLS: {exc}")
        raise
    primary_url = f"rediss://127.0.0.1:{primary_port}"
    ssl = {
        "ssl_ca_certs": str(files["ca.crt"]),
        "ssl_certfile": str(files["tls.crt"]),
        "ssl_keyfile": str(files["tls.key"]),
    }
    replica_port = pick_port()
    replica = private_server(tls_args(replica_port, files), replica_of=primary_url)
    return primary_url, f"rediss://127.0.0.1:{replica_port}", replica, ssl


@pytest.mark.timeout(600)
def test_scan_written_over_tls_read_complete_from_tls_replica(tls_pair):
    primary_url, replica_url, replica, ssl = tls_pair
    info = replica.replication_info()
    assert info["role"] == "slave" and info["master_link_status"] == "up"
    assert int(info["master_port"]) == int(primary_url.rsplit(":", 1)[1])  # the TLS port

    producer = DataStore(primary_url, init_db=True, **ssl)
    scan = producer.create_scan({"name": "tls", "number": 1, "data_policy": "no_policy"})
    x = scan.create_stream(Stream.make_definition("x", "float64"))
    img = scan.create_stream(Stream.make_definition("img", "uint16", (8, 6)))
    scan.prepare()
    scan.start()
    for i in range(NPOINTS):
        x.send(float(i))
        img.send(np.full((8, 6), i, dtype=np.uint16))
    x.seal()
    img.seal()
    scan.stop()
    scan.close()
    producer.close()

    reader = DataStore(replica_url, read_only=True, **ssl)
    deadline = time.monotonic() + HANG_GUARD
    while True:  # asynchronous replication: the scan appears on the replica a moment later
        keys = reader.search_existing_scans(name="tls")[1]
        if keys:
            break
        assert time.monotonic() < deadline, "the scan never reached the replica"
        time.sleep(0.1)
    (key,) = keys
    streams = reader.load_scan(key).streams
    got: dict[str, list] = {"x": [], "img": []}
    for name in got:
        cursor = streams[name].cursor()
        while True:
            assert time.monotonic() < deadline, f"stream {name} never ended"
            try:
                view = cursor.read(timeout=1)
            except EndOfStream:
                break
            if view is not None:
                got[name].extend(view.get_data())
    reader.close()
    assert got["x"] == [float(i) for i in range(NPOINTS)]
    assert [int(frame[0, 0]) for frame in got["img"]] == list(range(NPOINTS))
    assert all(frame.shape == (8, 6) for frame in got["img"])


@pytest.mark.timeout(600)
def test_sentinel_follows_tls_servers(tls_pair, private_sentinel):
    """``blissdata sentinel --monitor rediss://... -- TLS options``: Sentinel talks
    TLS to the servers, clients of ``rediss+sentinel://`` reach them over TLS."""
    primary_url, replica_url, replica, ssl = tls_pair
    tls = ["--tls-cert-file", ssl["ssl_certfile"], "--tls-key-file", ssl["ssl_keyfile"],
           "--tls-ca-cert-file", ssl["ssl_ca_certs"]]  # fmt: skip
    sentinel = private_sentinel(primary_url, extra_args=tls)
    assert sentinel.url.startswith("rediss+sentinel://")
    assert sentinel.wait_for_replicas(1, HANG_GUARD) >= 1, "sentinel never saw the replica"
    with DataStore(sentinel.url, init_db=True, **ssl) as producer:
        scan = producer.create_scan({"name": "tls-s", "number": 1, "data_policy": "no_policy"})
        x = scan.create_stream(Stream.make_definition("x", "float64"))
        scan.prepare()
        scan.start()
        for i in range(NPOINTS):
            x.send(float(i))
        x.seal()
        scan.stop()
        scan.close()
    with DataStore(primary_url, **ssl) as direct:  # Sentinel named the TLS primary
        assert scan.key in direct.search_existing_scans()[1]


@pytest.mark.timeout(600)
def test_cli_tls_only_primary_and_replica(pick_port, tmp_path):
    """DEPLOYMENT.md §6 as typed: ``blissdata server`` with TLS options after ``--``
    (paths relative to the shell's directory, plain port off, a password), and a
    replica following it with a ``rediss://`` ``--replica-of`` URL."""
    import sys
    import threading

    files = make_ca_and_certificate(tmp_path)
    tls = ["--tls-cert-file", "tls.crt", "--tls-key-file", "tls.key",
           "--tls-ca-cert-file", "ca.crt"]  # fmt: skip
    pw = "admin pw"
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str) -> str:
        proc = subprocess.Popen(
            [sys.executable, "-m", "blissdata_core.cli", "server", *args],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        procs.append(proc)
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(HANG_GUARD)
        assert line and line[0].startswith("redis://"), proc.stderr.read() if line else "hung"  # type: ignore[union-attr]
        return line[0].strip()

    try:
        primary_port = pick_port()
        start("--", "--port", "0", "--requirepass", pw, "--tls-port", str(primary_port), *tls)
        replica_port = pick_port()
        start("--replica-of", f"rediss://:admin%20pw@127.0.0.1:{primary_port}",
              "--", "--port", "0", "--requirepass", pw, "--tls-port", str(replica_port), *tls)  # fmt: skip
        ssl = {"ssl_ca_certs": str(files["ca.crt"]), "ssl_certfile": str(files["tls.crt"]),
               "ssl_keyfile": str(files["tls.key"]), "password": pw}  # fmt: skip
        # the primary was initialised (over its unix socket) and that reached the replica
        with DataStore(f"rediss://127.0.0.1:{replica_port}", read_only=True, **ssl) as reader:
            assert reader.search_existing_scans()[1] == []
    finally:
        for proc in procs:
            proc.terminate()
        codes = [proc.wait(HANG_GUARD) for proc in procs]
        for proc in procs:
            proc.stdout.close()  # type: ignore[union-attr]
            proc.stderr.close()  # type: ignore[union-attr]
    assert codes == [0, 0]
