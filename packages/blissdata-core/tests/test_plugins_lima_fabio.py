"""Lima frames saved in formats fabio reads (EDF, gzip'ed EDF, CBF, TIFF), the files
written by fabio itself and the frames compared with the numpy arrays saved."""

import json

import numpy as np
import pytest

from blissdata_core.errors import ExternalDataError
from blissdata_core.streams import file_formats
from blissdata_core.streams.plugins.lima import LimaStream
from blissdata_core.testing import write_edf

pytest.importorskip("fabio")
import fabio.cbfimage  # noqa: E402
import fabio.edfimage  # noqa: E402
import fabio.tifimage  # noqa: E402

SHAPE = (4, 5)
NFRAMES = 5


def frame(i, dtype="uint16"):
    return (np.arange(20).reshape(SHAPE) * 7 + 1000 * i).astype(dtype)


def write_with_fabio(path, frames, file_format):
    if file_format.startswith("EDF"):
        image = fabio.edfimage.EdfImage(data=frames[0])
        for data in frames[1:]:
            image.append_frame(data=data)
    elif file_format == "CBF":
        (data,) = frames
        image = fabio.cbfimage.CbfImage(data=data)
    else:
        (data,) = frames
        image = fabio.tifimage.TifImage(data=data)
    image.write(str(path))


#: (lima file_format, file name extension, frames per file, dtype)
FORMATS = [
    ("EDF", "edf", 2, "uint16"),
    ("EDFGZ", "edf.gz", 2, "uint16"),
    ("CBF", "cbf", 1, "int32"),
    ("TIFF", "tif", 1, "uint16"),
]


@pytest.fixture
def saved_scan(data_store, tmp_path):
    """Factory: (reader stream, frames, scan key) of a finished scan whose lima frames
    were saved by fabio as ``file_format``."""

    def make(file_format, ext, per_file, dtype, write=write_with_fabio):
        scan = data_store.create_scan({"name": "ct", "number": 1, "data_policy": "no_policy"})
        saving = {
            "file_path": str(tmp_path / f"det_%04d.{ext}"),
            "data_path": "/entry_0000/measurement/data",
            "file_format": file_format,
            "file_offset": 0,
            "frames_per_file": per_file,
        }
        definition = LimaStream.make_definition(
            "det:image", dtype, SHAPE, "id00/limaccds/det", 0, NFRAMES, 0, saving=saving
        )
        stream = scan.create_stream(definition)
        scan.prepare()
        scan.start()
        frames = np.stack([frame(i, dtype) for i in range(NFRAMES)])
        for run in stream.file_runs(0, NFRAMES):
            write(run.file_path, frames[run.start : run.stop], file_format)
        stream.send_status(NFRAMES - 1, NFRAMES - 1)
        scan.stop()
        reader = data_store.load_scan(scan.key).streams["det:image"]
        return reader, frames, scan.key

    return make


@pytest.mark.parametrize("file_format, ext, per_file, dtype", FORMATS)
def test_frames_read_through_fabio(saved_scan, file_format, ext, per_file, dtype):
    reader, frames, _ = saved_scan(file_format, ext, per_file, dtype)
    assert len(reader) == NFRAMES
    np.testing.assert_array_equal(reader[:], frames)
    for i in range(NFRAMES):
        got = reader[i]
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(got, frames[i])
    np.testing.assert_array_equal(reader[1:5:2], frames[1:5:2])
    assert reader.get_references(3).format == file_format


def test_plain_edf_without_fabio(saved_scan, monkeypatch):
    """No fabio: uncompressed EDF is read by the client's own parser, fabio's files too."""
    monkeypatch.setattr(file_formats, "fabio_module", lambda: None)
    reader, frames, _ = saved_scan("EDF", "edf", 2, "uint16")
    np.testing.assert_array_equal(reader[:], frames)


def test_plain_edf_of_a_detector_without_fabio(saved_scan, monkeypatch):
    monkeypatch.setattr(file_formats, "fabio_module", lambda: None)
    reader, frames, _ = saved_scan("EDF", "edf", 2, "uint16", write=lambda p, f, _: write_edf(p, f))
    np.testing.assert_array_equal(reader[:], frames)
    monkeypatch.undo()  # and fabio reads the same file
    np.testing.assert_array_equal(reader[:], frames)


@pytest.mark.parametrize("file_format, ext, per_file, dtype", FORMATS[1:])
def test_other_formats_need_the_fabio_extra(saved_scan, monkeypatch, file_format, ext, per_file, dtype):  # fmt: skip
    monkeypatch.setattr(file_formats, "fabio_module", lambda: None)
    reader, _, _ = saved_scan(file_format, ext, per_file, dtype)
    with pytest.raises(ExternalDataError, match=r"needs fabio .*blissdata-core\[fabio\]"):
        reader[0]


def test_compressed_edf_named_edf_without_fabio(saved_scan, monkeypatch):
    """A detector saying ``EDF`` for gzip'ed frames: the parser names the extra."""

    def write_gzip_inside(path, frames, _):
        write_edf(path, frames, compression="gzip")

    monkeypatch.setattr(file_formats, "fabio_module", lambda: None)
    reader, _, _ = saved_scan("EDF", "edf", 2, "uint16", write=write_gzip_inside)
    with pytest.raises(ExternalDataError, match=r"compressed .*blissdata-core\[fabio\]"):
        reader[0]


def test_missing_or_short_files_are_external_data_errors(saved_scan, tmp_path):
    reader, _, _ = saved_scan("EDFGZ", "edf.gz", 2, "uint16")
    (tmp_path / "det_0001.edf.gz").unlink()
    with pytest.raises(ExternalDataError, match="det_0001.edf.gz"):
        reader[2]
    write_with_fabio(tmp_path / "det_0001.edf.gz", [frame(2)], "EDFGZ")  # one frame, not two
    with pytest.raises(ExternalDataError, match="holds 1 frame"):
        reader[3]


def test_edfconcat_is_refused(saved_scan):
    reader, _, _ = saved_scan("EDFConcat", "edf", 2, "uint16")
    with pytest.raises(ExternalDataError, match="'edfconcat'"):
        reader[0]


REFERENCE_READ = """
import json, sys, warnings
warnings.filterwarnings("ignore")
import numpy as np
from blissdata.redis_engine.store import DataStore

lima = DataStore(sys.argv[1]).load_scan(sys.argv[2]).streams["det:image"]
print(json.dumps(np.asarray(lima[0:len(lima)]).tolist()))
"""


@pytest.mark.interop
@pytest.mark.parametrize("file_format, ext, per_file, dtype", FORMATS[:2])
def test_the_reference_reads_the_same_frames(saved_scan, redis_url, file_format, ext, per_file, dtype):  # fmt: skip
    from blissdata_core.testing import run_reference

    reader, frames, scan_key = saved_scan(file_format, ext, per_file, dtype)
    out = run_reference(REFERENCE_READ, redis_url, scan_key)
    np.testing.assert_array_equal(np.array(json.loads(out.strip().splitlines()[-1])), frames)
    np.testing.assert_array_equal(reader[:], frames)
