"""Every exception of blissdata_core is defined in its errors module, under BlissdataError."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import blissdata_core
from blissdata_core import errors

PACKAGE = Path(blissdata_core.__file__).parent


def _exception_classes_outside_errors() -> list[str]:
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "errors.py" and path.parent == PACKAGE:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ClassDef):
                continue
            bases = [ast.unparse(b).rsplit(".", 1)[-1] for b in node.bases]
            if any(b.endswith(("Error", "Exception", "Unavailable")) for b in bases):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}")
    return found


def test_no_exception_class_outside_errors_py() -> None:
    assert _exception_classes_outside_errors() == []


def test_every_error_derives_from_the_one_base() -> None:
    classes = [
        c
        for _, c in inspect.getmembers(errors, inspect.isclass)
        if issubclass(c, BaseException) and c.__module__ == errors.__name__
    ]
    assert len(classes) > 30
    assert [c.__name__ for c in classes if not issubclass(c, errors.BlissdataError)] == []
