"""A Lima-like Tango device for the lima plugin tests: the part of a LimaCCDs
device that the blissdata 2.x client reads, plus controls for the tests.

Run in a process of its own (``python -m tango.test_context
fake_lima_device.FakeLima``), as a real Lima server is: so the tests run the
same with and without gevent's patch, which would turn an in-process server's
thread into a greenlet that omniORB cannot serve from.
"""

import json
import struct

import numpy as np
from tango import AttrWriteType, DevEncoded, Except
from tango.server import Device, attribute, command

SHAPE = (4, 5)  # height, width
BUFFER = 4


def lima_frame(acquisition, index):
    return (
        np.arange(20, dtype=np.uint16).reshape(SHAPE) + 1000 * index + 100 * acquisition
    ).astype(np.uint16)


def encode(frame, frame_id, version=4, acq_tag=7):
    """A DATA_ARRAY image as Lima sends it: preamble, header of ``version``, raw data."""
    dims = (frame.shape[1], frame.shape[0], 1, 1, 1, 1)
    common = (0, 1, 0, 2) + dims  # category, data type (uint16), endianness, ndim, dims
    if version >= 4:
        body = struct.pack("<IIHHHHHHHH6IQQII", *common, *[0] * 6, frame_id, acq_tag, 0, 0)
    elif version == 3:
        body = struct.pack("<IIHHHHHHHH6IQ", *common, *[0] * 6, frame_id)
    else:
        body = struct.pack("<IIHHHHHHHH8I", *common, *[0] * 8)
    size = 8 + len(body)
    preamble = struct.pack("<IHH", int.from_bytes(b"DTAY", "big"), version, size)
    return preamble + body + frame.astype("<u2").tobytes()


class FakeLima(Device):
    """The part of a LimaCCDs device the client reads, plus test controls."""

    def init_device(self):
        super().init_device()
        self._last = -1
        self._acquisition = 0
        self._acq_mode = "SINGLE"
        self._version = "1.10.1"
        self._trigger = "INTERNAL_TRIGGER"
        self._header_version = 4
        self._asked = []

    def _rw(name, dtype):  # noqa: N805 - builds attributes
        def read(self):
            return getattr(self, name)

        def write(self, value):
            setattr(self, name, value)

        return attribute(dtype=dtype, access=AttrWriteType.READ_WRITE, fget=read, fset=write)

    last_image_ready = _rw("_last", int)
    acq_mode = _rw("_acq_mode", str)
    lima_version = _rw("_version", str)
    acq_trigger_mode = _rw("_trigger", str)
    # test controls
    acquisition = _rw("_acquisition", int)
    header_version = _rw("_header_version", int)

    @attribute(dtype=str)
    def asked(self):
        return json.dumps(self._asked)

    @command(dtype_in=int, dtype_out=DevEncoded)
    def readImage(self, index):  # noqa: N802 - Lima's name
        self._asked.append(index)
        if self._last < 0 or index > self._last:
            Except.throw_exception("LimaCCDs", "Frame(s) not available yet", "readImage")
        if index < 0:
            index = self._last
        if index <= self._last - BUFFER:
            Except.throw_exception("LimaCCDs", "Frame no more in the buffer", "readImage")
        frame = lima_frame(self._acquisition, index)
        return "DATA_ARRAY", encode(frame, index, self._header_version)
