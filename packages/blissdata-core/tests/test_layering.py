"""The core's objects meet through public names only (issue #20).

Scans, streams and cursors get what they need from the runtime a data store
hands them; no module reads or writes another object's ``_private``
attribute.  An object's own attributes (``self._x``, ``cls._x``) are its
business.
"""

from __future__ import annotations

import ast
from pathlib import Path

import blissdata_core

SRC = Path(blissdata_core.__file__).parent

#: (module, attribute): accesses to third-party internals that have no public form.
ALLOWED = {
    ("connection.py", "_sock"),  # redis-py's socket of a connection, for zero-copy reads
}


def private_accesses(path: Path, root: Path = SRC) -> list[str]:
    """``<module>:<line>: <expression>`` of each access to another object's private attribute."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Attribute):
            continue
        name = node.attr
        if not name.startswith("_") or name.startswith("__"):
            continue
        if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
            continue
        if (path.name, name) in ALLOWED:
            continue
        found.append(f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_module_reaches_into_private_attributes() -> None:
    found = [line for path in sorted(SRC.rglob("*.py")) for line in private_accesses(path)]
    assert not found, "\n".join(found)


def test_the_check_sees_a_reach_in(tmp_path: Path) -> None:
    path = tmp_path / "example.py"
    path.write_text("def f(scan, self):\n    return scan._doc, self._own, self._store._conn\n")
    found = sorted(line.split(": ", 1)[1] for line in private_accesses(path, tmp_path))
    assert found == ["scan._doc", "self._store._conn"]
