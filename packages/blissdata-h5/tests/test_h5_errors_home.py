"""Every exception of blissdata_h5 is defined in its errors module, under one base."""

from __future__ import annotations

import blissdata_h5
from blissdata_core.testing import exception_classes_outside_errors, exceptions_defined_in
from blissdata_h5 import errors


def test_no_exception_class_outside_errors_py() -> None:
    assert exception_classes_outside_errors(blissdata_h5) == []


def test_every_error_derives_from_the_one_base() -> None:
    classes = exceptions_defined_in(errors)
    assert len(classes) > 3
    assert [
        c.__name__
        for c in classes
        if not (issubclass(c, errors.BlissdataError) or c.__name__.startswith("_"))
    ] == []
