"""Property tests of the plugins' index arithmetic (no Redis needed)."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from blissdata_core.streams.cursor import EventRange
from blissdata_core.streams.plugins._lima_format import LimaLayout
from blissdata_core.streams.plugins.hdf5_fallback import Hdf5FallbackView

bounds = st.one_of(st.none(), st.integers(-30, 30))


@given(
    first=st.integers(0, 50),
    length=st.integers(1, 20),
    data=st.data(),
    start=bounds,
    stop=bounds,
)
def test_fallback_view_matches_a_plain_array(first, length, data, start, stop):
    expired = data.draw(st.integers(0, length))
    whole = np.arange(100.0)  # what the file holds
    points = whole[first : first + length]
    events = EventRange(first, expired, points[expired:], False)
    reads = []

    def read_file(key):
        reads.append(key)
        return whole[key]

    view = Hdf5FallbackView(events, read_file)
    np.testing.assert_array_equal(view.get_data(start, stop), points[start:stop])
    for key in reads:  # the file is only asked for what Redis no longer has
        assert first <= key.start and key.stop <= first + expired


def brute_force_layout(per_acq, per_file, offset, nframes):
    """Frame -> (file number, index) by replaying a detector that saves frame after frame."""
    out, number = [], offset - 1
    for frame in range(nframes):
        in_acq = frame % per_acq
        if in_acq % per_file == 0:
            number += 1  # a new file: at every per_file frames, and at every new acquisition
        out.append((number, in_acq % per_file))
    return out


@given(
    per_acq=st.integers(1, 12),
    per_file=st.integers(1, 12),
    offset=st.integers(0, 5),
    nacq=st.integers(1, 4),
)
def test_lima_layout_matches_a_saving_detector(per_acq, per_file, offset, nacq):
    saving = {"file_path": "f%d", "data_path": "/d", "file_format": "HDF5", "file_offset": offset,
              "frames_per_file": per_file}  # fmt: skip
    layout = LimaLayout.from_info(LimaLayout.make_info("x", 0, per_acq, 0, saving))
    nframes = per_acq * nacq
    expected = brute_force_layout(per_acq, per_file, offset, nframes)
    for frame, (number, index) in enumerate(expected):
        ref = layout.reference(frame)
        assert (ref.file_path, ref.index) == (f"f{number}", index)
    # a file is finished when a frame of a later file is saved
    for saved in range(nframes):
        current = expected[saved][0]
        finished = [f for f in range(saved + 1) if expected[f][0] < current]
        assert layout.last_closed_frame(saved, False) == (finished[-1] if finished else -1)
        assert layout.last_closed_frame(saved, True) == saved
