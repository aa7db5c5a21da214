"""The served roots: whatever a request names, only paths inside a root come out."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("h5grove")

from blissdata_h5.web.roots import OutsideRootsError, Roots  # noqa: E402

PARTS = st.sampled_from(["..", ".", "", "a", "b", "link", "out", "x.h5", "/", "//", "~"])


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    base = tmp_path_factory.mktemp("roots")
    root = base / "root"
    (root / "a" / "b").mkdir(parents=True)
    (base / "out").mkdir()
    (root / "link").symlink_to(base / "out")  # a directory link leaving the root
    (root / "a" / "inner").symlink_to(root / "a" / "b")  # one staying inside
    return base, root


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(PARTS, max_size=8))
def test_candidates_never_leave_the_root(tree, parts):
    base, root = tree
    relative = "/".join(parts)
    roots = Roots([root])
    real_root = os.path.realpath(root)
    # the path opened is the normalised one ("link/.." is the root itself, not link's parent)
    opened = os.path.normpath(os.path.join(root, relative))
    real = os.path.realpath(opened)
    stays = (
        os.path.commonpath([opened, str(root)]) == str(root)
        and os.path.commonpath([real, real_root]) == real_root
    )
    try:
        found = roots.candidates(relative)
    except OutsideRootsError:
        assert not stays
        return
    assert stays and found == [opened]
    for path in found:
        assert os.path.commonpath([os.path.realpath(path), real_root]) == real_root


def test_known_escapes(tree):
    base, root = tree
    roots = Roots([root])
    for relative in ("../out/x.h5", str(base / "out" / "x.h5"), "link/x.h5", "a/../../out"):
        with pytest.raises(OutsideRootsError):
            roots.candidates(relative)
    assert roots.candidates("a/inner/x.h5") == [str(root / "a" / "inner" / "x.h5")]
    with pytest.raises(OutsideRootsError):
        roots.candidates("a\0b")
