"""Access control: a read-only ACL user for consumers, password and TLS URLs."""

from __future__ import annotations

import shutil
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest
import redis

from blissdata_core import (
    BlissdataError,
    CursorGroup,
    DataStore,
    EndOfStream,
    NoWritePermission,
    ScanState,
    ServerConnectionError,
    Stream,
)
from blissdata_core.acl import acl_file_line, create_readonly_user, readonly_rules

pytestmark = pytest.mark.reliability

READER, READER_PW = "reader", "s3cret-reader"


def publish_scan(store: DataStore, number: int = 1, close: bool = True):
    scan = store.create_scan(
        {"name": "acl", "number": number, "data_policy": "no_policy", "session": "demo"},
        info={"title": "acl test"},
    )
    x = scan.create_stream(Stream.make_definition("x", "float64"))
    img = scan.create_stream(Stream.make_definition("img", "uint16", (4, 3)))
    ev = scan.create_stream(Stream.make_definition("ev", "json"))
    scan.prepare()
    scan.start()
    for i in range(20):
        x.send(float(i))
        img.send(np.full((4, 3), i, np.uint16))
        ev.send({"i": i})
    if close:
        scan.stop()
        scan.close()
    return scan, (x, img, ev)


def snapshot(url: str) -> dict:
    """Every key with its type, TTL and content, to show nothing changed."""
    out = {}
    with redis.Redis.from_url(url) as client:
        for key in client.scan_iter(count=1000):
            kind = client.type(key)
            if kind == b"stream":
                content = client.xrange(key)
            elif kind == b"ReJSON-RL":
                content = client.execute_command("JSON.GET", key, "$")
            elif kind == b"string":
                content = client.get(key)
            else:
                content = None
            out[key] = (kind, client.ttl(key), content)
    return out


SPEC = Path(__file__).resolve().parents[4] / "spec" / "PROTOCOL.md"


def spec_wide_rule() -> list[str]:
    """The first consumer rule of spec §13 (the one checked with the reference
    reader too): readers must keep to it, deployed users may have no more."""
    line = next(
        line for line in SPEC.read_text().splitlines()
        if line.startswith("ACL SETUSER reader on >password resetkeys")
    )  # fmt: skip
    return line.split()[3:]


@pytest.fixture(params=["project rule", "spec wide rule"])
def acl_server(request, fault_server):
    if request.param == "project rule":
        create_readonly_user(fault_server.url, READER, READER_PW)
    else:
        rules = [f">{READER_PW}" if r == ">password" else r for r in spec_wide_rule()]
        with redis.Redis.from_url(fault_server.url) as admin:
            admin.execute_command("ACL", "SETUSER", READER, "reset", *rules)
    return fault_server


def reader_url(server) -> str:
    return f"redis://{READER}:{READER_PW}@127.0.0.1:{server.port}"


def test_rules_are_an_allow_list():
    rules = readonly_rules("pw")
    assert rules[:3] == ["reset", "on", ">pw"] and "-@all" in rules
    allowed = {r[1:] for r in rules if r.startswith("+")}
    for write in ("xadd", "json.set", "set", "del", "expire", "fcall", "eval", "xtrim", "config"):
        assert write not in allowed
    assert "nopass" in readonly_rules()
    line = acl_file_line("reader", "pw")
    assert line.startswith("user reader on #") and ">pw" not in line
    for bad in ("", "has space"):
        with pytest.raises(ValueError):
            readonly_rules(bad)


def test_reader_can_do_everything_a_consumer_does(acl_server):
    with DataStore(acl_server.url) as producer:
        closed, _ = publish_scan(producer, 1)
        running, (x, img, ev) = publish_scan(producer, 2, close=False)
        for stream in (x, img, ev):
            stream.join()
        with DataStore(reader_url(acl_server)) as reader:
            timetag, keys = reader.search_existing_scans(session="dem*")
            assert keys == sorted([closed.key, running.key])
            assert reader.search_existing_scans(number=1)[1] == [closed.key]
            assert reader.get_last_scan()[1] == running.key
            assert reader.get_scans_state(keys) == {
                closed.key: ScanState.CLOSED,
                running.key: ScanState.STARTED,
            }
            scan = reader.load_scan(closed.key)
            assert scan.info["title"] == "acl test"
            assert np.array_equal(scan.streams["x"][:], np.arange(20.0))
            assert scan.streams["img"][5].tolist() == [[5] * 3] * 4
            assert scan.streams["ev"][3:5] == [{"i": 3}, {"i": 4}]
            assert len(scan.streams["x"]) == 20 and scan.streams["x"].is_sealed()
            assert list(scan.streams["ev"])[-1] == {"i": 19}

            live = reader.load_scan(running.key)
            group = CursorGroup(live.streams)
            got = {s.name: 0 for s in live.streams.values()}
            for stream, view in group.read(timeout=2).items():
                got[stream.name] += len(view)
            assert got == {"x": 20, "img": 20, "ev": 20}
            assert not live.streams["x"].wait_seal(timeout=0.2)

            # follow the live scan to its end, and wait for a new scan
            def finish():
                running.stop()
                running.close()
                publish_scan(producer, 3)

            since = reader.get_last_scan_timetag()
            timer = threading.Timer(0.3, finish)
            timer.start()
            assert live.update(timeout=10)
            while live.state < ScanState.CLOSED:
                assert live.update(timeout=10)
            assert live.streams["x"].wait_seal(timeout=5)
            with pytest.raises(EndOfStream):
                while True:
                    group.read(timeout=2)
            _, key = reader.get_next_scan(since=since, timeout=10)
            timer.join()
            assert reader.load_scan(key).number == 3


WRITES = [
    ("SET", "esrf:x", "1"),
    ("SET", "_PROTOCOL_VERSION_", "2"),
    ("XADD", "_SCAN_HISTORY_", "*", "key", "esrf:scan:fake"),
    ("XTRIM", "_SCAN_HISTORY_", "MAXLEN", "0"),
    ("FLUSHALL",),
    ("FLUSHDB",),
    ("FT.DROPINDEX", "esrf:scan:index"),
    ("FT.CREATE", "esrf:idx2", "ON", "JSON", "SCHEMA", "$.pk", "AS", "pk", "TAG"),
    ("CONFIG", "SET", "maxmemory", "1"),
    ("EVAL", "return redis.call('DEL', KEYS[1])", "1", "_PROTOCOL_VERSION_"),
    ("FUNCTION", "DELETE", "mylib"),
    ("ACL", "SETUSER", "reader", "+@all"),
    ("KEYS", "*"),
    ("SHUTDOWN", "NOSAVE"),
    ("CLIENT", "KILL", "TYPE", "normal"),
    ("XGROUP", "CREATE", "_SCAN_HISTORY_", "g", "0"),
    ("RENAME", "_PROTOCOL_VERSION_", "esrf:y"),
]


def scan_writes(scan, stream):
    return [
        ("JSON.SET", scan.key, "$.info.title", '"hacked"'),
        ("JSON.DEL", scan.key, "$.info"),
        ("DEL", scan.key),
        ("UNLINK", stream.key),
        ("EXPIRE", scan.key, "1"),
        ("PERSIST", scan.key),
        ("XADD", stream.key, "*", "payload", "x"),
        ("XDEL", stream.key, "0-1"),
        ("XTRIM", stream.key, "MAXLEN", "0"),
        ("FCALL", "seal_stream", "1", stream.key),
        ("XGROUP", "CREATE", stream.key, "g", "0"),
    ]


def test_every_write_is_refused_by_the_server(acl_server):
    with DataStore(acl_server.url) as producer:
        scan, (x, _, _) = publish_scan(producer, 1, close=False)
        x.join()
        before = snapshot(acl_server.url)
        with redis.Redis.from_url(reader_url(acl_server)) as client:
            for command in WRITES + scan_writes(scan, x):
                with pytest.raises(redis.exceptions.NoPermissionError):
                    client.execute_command(*command)
            # nor inside a transaction
            pipe = client.pipeline(transaction=True)
            pipe.get("_PROTOCOL_VERSION_")
            pipe.delete(scan.key)
            with pytest.raises(redis.exceptions.RedisError):
                pipe.execute()
        with DataStore(reader_url(acl_server)) as reader:
            with pytest.raises(NoWritePermission):
                reader.create_scan({"name": "no", "number": 1, "data_policy": "no_policy"})
            with pytest.raises(BlissdataError):
                reader.delete_scan(scan.key, force=True)
            writer = reader.load_scan_for_writing(scan.key)
            stream = writer.get_writer_stream("x")
            stream.send(1.0)
            with pytest.raises(BlissdataError):
                stream.join()
            with pytest.raises(BlissdataError):
                writer.close()
        with pytest.raises(NoWritePermission):
            DataStore(reader_url(acl_server), init_db=True)
        assert snapshot(acl_server.url) == before


def test_acl_file_user(private_server, tmp_path):
    aclfile = tmp_path / "users.acl"
    aclfile.write_text(
        "user default on nopass ~* &* +@all\n" + acl_file_line("viewer", "pw") + "\n"
    )
    server = private_server(["--aclfile", str(aclfile)])
    with DataStore(server.url, init_db=True) as producer:
        scan, _ = publish_scan(producer)
    url = f"redis://viewer:pw@127.0.0.1:{server.port}"
    with DataStore(url) as reader:
        assert len(reader.load_scan(scan.key).streams["x"]) == 20
    with redis.Redis.from_url(url) as client:
        with pytest.raises(redis.exceptions.NoPermissionError):
            client.delete(scan.key)


def test_password_server(private_server):
    server = private_server(["--requirepass", "p4ss"], password="p4ss")
    url = f"redis://:p4ss@127.0.0.1:{server.port}"
    with DataStore(url, init_db=True) as store:
        scan, _ = publish_scan(store)
    with DataStore(f"redis://default:p4ss@127.0.0.1:{server.port}") as store:
        assert store.load_scan(scan.key).streams["x"][19] == 19.0
    for bad in (server.url, f"redis://:wrong@127.0.0.1:{server.port}"):
        with pytest.raises(BlissdataError) as info:
            DataStore(bad)
        assert "wrong" not in str(info.value), "passwords never appear in messages"


# --- TLS -------------------------------------------------------------------------


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cryptography if installed, else openssl)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    try:
        _certificate_with_cryptography(cert, key)
        return cert, key
    except ImportError:
        pass
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the cryptography package or the openssl command to make a certificate")
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def _certificate_with_cryptography(cert_path: Path, key_path: Path) -> None:
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


@pytest.fixture
def tls_server(private_server, tmp_path):
    from conftest import suite_port

    cert, key = make_certificate(tmp_path)
    tls_port = suite_port()
    args = ["--tls-port", str(tls_port), "--tls-cert-file", str(cert), "--tls-key-file", str(key),
            "--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no"]  # fmt: skip
    try:
        server = private_server(args)
    except AssertionError as exc:
        if "tls" in str(exc).lower():
            pytest.skip(f"this redis-server has no TLS support: {exc}")
        raise
    return server, tls_port, cert


def test_tls_url(tls_server):
    server, tls_port, cert = tls_server
    url = f"rediss://127.0.0.1:{tls_port}?ssl_ca_certs={cert}&ssl_cert_reqs=required"
    with DataStore(url, init_db=True) as store:
        scan, _ = publish_scan(store)
        assert np.array_equal(store.load_scan(scan.key).streams["x"][:], np.arange(20.0))
    # the same data through DataStore options rather than the URL
    with DataStore(f"rediss://127.0.0.1:{tls_port}", ssl_ca_certs=str(cert)) as store:
        assert store.get_last_scan()[1] == scan.key
    # a certificate nobody vouches for is refused; so is plain text on the TLS port
    with pytest.raises(ServerConnectionError):
        DataStore(f"rediss://127.0.0.1:{tls_port}")
    with pytest.raises(ServerConnectionError):
        DataStore(f"redis://127.0.0.1:{tls_port}", socket_timeout=2)


def test_tls_with_readonly_user(tls_server):
    server, tls_port, cert = tls_server
    with DataStore(server.url, init_db=True) as producer:
        scan, _ = publish_scan(producer)
    create_readonly_user(server.url, READER, READER_PW)
    url = f"rediss://{READER}:{READER_PW}@127.0.0.1:{tls_port}?ssl_ca_certs={cert}"
    with DataStore(url) as reader:
        assert reader.load_scan(scan.key).streams["ev"][0] == {"i": 0}
    with redis.Redis.from_url(url) as client:
        with pytest.raises(redis.exceptions.NoPermissionError):
            client.delete(scan.key)


REFERENCE_READER = r"""
import sys
from blissdata.redis_engine.store import DataStore
url, key = sys.argv[1], sys.argv[2]
store = DataStore(url)
_, keys = store.search_existing_scans(name="acl")
assert key in keys, keys
scan = store.load_scan(key)
x = scan.streams["x"]
print(len(x), float(x[19]), scan.streams["ev"][3])
try:
    store._redis.delete(key)
except Exception as exc:
    print(type(exc).__name__)
"""


@pytest.mark.interop
def test_reference_client_reads_as_the_readonly_user(acl_server):
    from blissdata_core.testing import run_reference

    with DataStore(acl_server.url) as producer:
        scan, _ = publish_scan(producer)
    out = run_reference(REFERENCE_READER, reader_url(acl_server), scan.key).split("\n")
    assert out[0] == "20 19.0 {'i': 3}", out
    assert out[1] == "NoPermissionError", out
