"""install_as_blissdata(): blissdata 2.x import paths, plugins, metadata and the launcher."""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import subprocess
import sys
import textwrap
import types

import numpy as np
import pytest

import blissdata_core
from blissdata_core import compat
from blissdata_core.compat.modules import PROVIDED_BY_UPPER_LAYERS, PROVIDED_MODULES
from blissdata_core.streams import plugins

#: What downstream code imports (ewoksdata 2.2.1, blissoda 1.11.0, blisswriter 3.0.0,
#: blissdata-lima2 2.0.2, blissdata-mosca 2.0.5), read from their sources.
DOWNSTREAM_IMPORTS = {
    "blissdata": ("DataStore", "Scan", "ScanState"),
    "blissdata.beacon.data": ("BeaconData",),
    "blissdata.redis_engine.store": ("DataStore",),
    "blissdata.redis_engine.scan": ("Scan", "ScanState"),
    "blissdata.redis_engine.exceptions": (
        "EndOfStream", "IndexNoMoreThereError", "IndexNotYetThereError", "IndexWontBeThereError",
    ),
    "blissdata.exceptions": (
        "EndOfStream", "IndexNoMoreThereError", "IndexNotYetThereError", "IndexWontBeThereError",
        "EmptyViewException", "ScanLoadError", "NoScanAvailable",
    ),
    "blissdata.streams": (
        "BaseStream", "BaseView", "CursorGroup", "EventRange", "StreamDefinition", "EventStream",
    ),
    "blissdata.streams.base": ("BaseStream", "CursorGroup"),
    "blissdata.streams.default": ("Stream", "BrokenStream"),
    "blissdata.streams.lima": ("LimaStream", "LimaView"),
    "blissdata.streams.lima.stream": ("LimaDirectAccess",),
    "blissdata.streams.lima_stream": ("LimaStream",),
    "blissdata.streams.hdf5_fallback": ("Hdf5BackedStream",),
    "blissdata.streams.event_stream": ("EventStream",),
    "blissdata.streams.encoding.json": ("JsonStreamEncoder",),
    "blissdata.streams.encoding.numeric": ("NumericStreamEncoder",),
    "blissdata.lima.image_utils": ("ImageData",),
    "blissdata.h5api.dynamic_hdf5": ("File",),
}  # fmt: skip


@pytest.fixture
def layer():
    compat.install_as_blissdata()
    yield compat
    compat.uninstall()


def _import_all(mapping):
    for path, names in mapping.items():
        module = importlib.import_module(path)
        missing = [n for n in names if not hasattr(module, n)]
        assert not missing, f"{path} lacks {missing}"


def test_every_provided_path_imports(layer):
    _import_all(PROVIDED_MODULES)  # the upper layers' paths: tests/integration


def test_every_downstream_import_is_provided(layer):
    provided = {**PROVIDED_MODULES, **PROVIDED_BY_UPPER_LAYERS}
    for path, names in DOWNSTREAM_IMPORTS.items():
        assert path in provided, path
        if path not in PROVIDED_MODULES:
            continue  # provided by blissdata-h5 or blissdata-writer: tests/integration
        module = importlib.import_module(path)
        for name in names:
            assert hasattr(module, name), f"{path}.{name}"


def test_aliases_are_the_projects_own_objects(layer):
    import blissdata
    import blissdata.exceptions
    import blissdata.streams
    from blissdata.redis_engine.scan import Scan
    from blissdata.streams.default import Stream

    assert blissdata.Scan is Scan is blissdata_core.Scan
    assert Stream is blissdata_core.Stream
    assert blissdata.streams.CursorGroup is blissdata_core.CursorGroup
    assert blissdata.exceptions.EndOfStream is blissdata_core.EndOfStream
    assert issubclass(blissdata.DataStore, blissdata_core.DataStore)
    assert (
        importlib.import_module("blissdata.streams.lima") is sys.modules["blissdata.streams.lima"]
    )


def test_metadata_reports_the_compatible_version(layer):
    assert importlib.metadata.version("blissdata") == compat.COMPAT_VERSION


def test_nothing_is_active_unless_asked():
    code = "import importlib.util as u; print(u.find_spec('blissdata') is None)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
    assert not compat.is_installed()


def test_refuses_when_the_reference_is_already_imported(monkeypatch):
    fake = types.ModuleType("blissdata")
    fake.__file__ = "/somewhere/blissdata/__init__.py"
    monkeypatch.setitem(sys.modules, "blissdata", fake)
    with pytest.raises(compat.ReferenceAlreadyImported, match="/somewhere/blissdata"):
        compat.install_as_blissdata()
    assert not compat.is_installed()


def test_publish_and_read_through_reference_paths(layer, redis_url):
    from blissdata.exceptions import EndOfStream, IndexNotYetThereError
    from blissdata.redis_engine.scan import ScanState
    from blissdata.redis_engine.store import DataStore
    from blissdata.streams import CursorGroup
    from blissdata.streams.default import Stream

    ds = DataStore(redis_url)
    assert ds._redis.ping() is True  # blissoda reaches for the raw client
    scan = ds.create_scan({"name": "ascan", "number": 1, "data_policy": "no_policy"})
    sx = scan.create_stream(Stream.make_definition("axis:sx", "float64"))
    scan.prepare()
    scan.start()
    reader = DataStore(redis_url).load_scan(scan.key)
    group = CursorGroup(reader.streams)
    assert group.read(block=False) == {}
    sx.send(np.arange(4.0))
    sx.join()
    views = group.read(timeout=10)
    (view,) = views.values()
    np.testing.assert_array_equal(view.get_data(), np.arange(4.0))
    with pytest.raises(IndexNotYetThereError):
        reader.streams["axis:sx"][10]
    scan.stop()
    scan.close()
    assert reader.update(timeout=10) and reader.state >= ScanState.STOPPED
    with pytest.raises(EndOfStream):
        while True:
            group.read(timeout=10)


PLUGIN_MODULE = '''
from blissdata.streams import BaseStream, BaseView, StreamDefinition
from blissdata.streams.encoding.json import JsonStreamEncoder
from blissdata.exceptions import EmptyViewException


class StatusView(BaseView):
    def __init__(self, start, stop):
        self._range = range(start, stop)

    @property
    def index(self):
        return self._range.start

    def __len__(self):
        return len(self._range)

    def get_data(self, start=None, stop=None):
        return [i * 10 for i in self._range[start:stop]]


class StatusStream(BaseStream):
    """Like mosca: JSON status events; the data is their last 'last_index'."""

    def __init__(self, event_stream):
        super().__init__(event_stream)
        self._option = event_stream.info["my_info"]["option"]

    @staticmethod
    def make_definition(name, option):
        info = {"plugin": "status_demo", "my_info": {"option": option}}
        return StreamDefinition(name, info, JsonStreamEncoder())

    kind = property(lambda self: "array")
    plugin = property(lambda self: "status_demo")
    dtype = property(lambda self: "int64")
    shape = property(lambda self: ())

    def __len__(self):
        return 0

    def __getitem__(self, key):
        raise IndexError(key)

    def _need_last_only(self, last_only):
        return True

    def _build_view_from_events(self, index, events, last_only):
        last = events.data[-1]["last_index"]
        if last < index:
            raise EmptyViewException
        return StatusView(index, last + 1)


stream_cls = StatusStream
view_cls = StatusView
'''


def _fake_distribution(root, module_name, source, group, entry_name):
    (root / f"{module_name}.py").write_text(source)
    dist = root / f"{module_name}-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module_name}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[{group}]\n{entry_name} = {module_name}\n")


def test_reference_group_plugin_loads_through_the_layer(tmp_path, redis_url):
    """A third-party plugin registered under the group 'blissdata' publishes and reads back."""
    _fake_distribution(tmp_path, "status_demo_plugin", PLUGIN_MODULE, "blissdata", "status_demo")
    script = textwrap.dedent(
        """
        import sys
        import blissdata_core
        blissdata_core.install_as_blissdata()
        from blissdata import DataStore
        from blissdata.streams import CursorGroup
        from blissdata.exceptions import EndOfStream
        from status_demo_plugin import StatusStream

        ds = DataStore(sys.argv[1])
        scan = ds.create_scan({"name": "p", "number": 1, "data_policy": "no_policy"})
        st = scan.create_stream(StatusStream.make_definition("mca:status", option=3))
        assert type(st) is StatusStream, type(st)
        scan.prepare(); scan.start()
        st.send({"last_index": 2}); st.send({"last_index": 4}); st.join()
        reader = ds.load_scan(scan.key)
        stream = reader.streams["mca:status"]
        assert type(stream).__name__ == "StatusStream", type(stream)
        (view,) = CursorGroup([stream]).read(timeout=10).values()
        print(view.index, view.get_data())
        scan.stop(); scan.close()
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    proc = subprocess.run(
        [sys.executable, "-c", script, redis_url],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[0] == "0 [0, 10, 20, 30, 40]"


def test_reference_group_is_ignored_without_the_layer(tmp_path, monkeypatch):
    _fake_distribution(tmp_path, "status_demo_plugin2", "stream_cls = None\n", "blissdata", "x2")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(plugins, "_entry_points", None)
    monkeypatch.setattr(plugins, "_loaded", {})
    assert "x2" not in plugins.available_plugins()
    plugins.add_entry_point_group("blissdata")
    try:
        assert "x2" in plugins.available_plugins()
        assert "lima" in plugins.available_plugins()  # the project's own still there
    finally:
        plugins.remove_entry_point_group("blissdata")
    assert "x2" not in plugins.available_plugins()


CHECK = (
    "import blissdata, importlib.metadata as m; from blissdata.redis_engine.store import DataStore;"
    "print(m.version('blissdata'), DataStore.__mro__[1].__module__)"
)


def _launch(args, env=None, **kw):
    return subprocess.run(
        [sys.executable, "-m", "blissdata_core.compat", *args],
        capture_output=True, text=True, timeout=120, env=env, **kw,
    )  # fmt: skip


def test_launcher_runs_an_unmodified_program():
    proc = _launch(["--", sys.executable, "-c", CHECK])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [compat.COMPAT_VERSION, "blissdata_core.store"]
    assert "'import blissdata' runs blissdata_core" in proc.stderr


def test_launcher_reaches_child_processes_and_keeps_exit_status():
    child = (
        f"import subprocess, sys; sys.exit(subprocess.call([sys.executable, '-c', {CHECK!r}]) + 3)"
    )
    proc = _launch(["-q", sys.executable, "-c", child])
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout.split()[0] == compat.COMPAT_VERSION
    assert proc.stderr == ""


def test_launcher_keeps_an_existing_sitecustomize(tmp_path):
    (tmp_path / "sitecustomize.py").write_text("import os; os.environ['SITE_RAN'] = 'yes'\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    code = "import os, blissdata; print(os.environ.get('SITE_RAN'))"
    proc = _launch(["-q", sys.executable, "-c", code], env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "yes"


def test_blissdata_compat_command_without_program():
    proc = subprocess.run(
        [sys.executable, "-m", "blissdata_core.cli", "compat"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "no command given" in proc.stderr


def test_an_installed_blissdata_is_shadowed_only_when_asked_and_said(tmp_path):
    fake = tmp_path / "blissdata"
    fake.mkdir()
    (fake / "__init__.py").write_text("REAL = True\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    plain = subprocess.run(
        [sys.executable, "-c", "import blissdata; print(blissdata.REAL)"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert plain.stdout.strip() == "True"  # nothing changes unless asked
    code = "import blissdata_core; blissdata_core.install_as_blissdata(); import blissdata; "
    code += "print(hasattr(blissdata, 'REAL'))"
    proc = subprocess.run(
        [sys.executable, "-W", "always", "-c", code],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"
    assert f"the installed blissdata at {fake} is shadowed" in proc.stderr
    launched = _launch(["--", sys.executable, "-c", "import blissdata"], env=env)
    assert launched.returncode == 0, launched.stderr
    assert f"the blissdata installed at {fake} is shadowed" in launched.stderr
