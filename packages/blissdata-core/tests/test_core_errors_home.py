"""Every exception of blissdata_core is defined in its errors module, under BlissdataError."""

from __future__ import annotations

import blissdata_core
from blissdata_core import errors
from blissdata_core.testing import exception_classes_outside_errors, exceptions_defined_in


def test_no_exception_class_outside_errors_py() -> None:
    assert exception_classes_outside_errors(blissdata_core) == []


def test_every_error_derives_from_the_one_base() -> None:
    classes = exceptions_defined_in(errors)
    assert len(classes) > 30
    assert [c.__name__ for c in classes if not issubclass(c, errors.BlissdataError)] == []
