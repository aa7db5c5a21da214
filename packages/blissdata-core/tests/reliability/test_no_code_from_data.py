"""No code runs because of data: no pickle, eval, exec or data-driven import.

The source of every package is parsed (ast) and searched for the constructs
that turn bytes into code.  Entry points are the only plugin mechanism: a name
read from Redis selects among installed entry points (see
``test_bad_input.test_plugin_and_encoding_names_from_redis_import_nothing``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.reliability

ROOT = Path(__file__).resolve().parents[4]
SOURCES = sorted(
    path
    for package in ("blissdata-core", "blissdata-h5", "blissdata-writer")
    for path in (ROOT / "packages" / package / "src").rglob("*.py")
)

FORBIDDEN_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "marshal", "shelve",
                     "jsonpickle", "yaml"}  # fmt: skip
FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__"}
#: import_module calls allowed, with why: (file name, first argument as source text).
ALLOWED_IMPORTS = {
    # the console script imports its own subcommand modules from a constant tuple
    ("cli.py", "f'blissdata_core.commands.{name}'"),
    # install_as_blissdata: an `import blissdata.X` statement of the program itself
    # names the module, mapped onto the layer's own shims (compat/finder.target_of)
    ("finder.py", "self.target"),
}


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return f"{_name(func.value)}.{func.attr}"
    return ""


def test_sources_found():
    assert len(SOURCES) > 20, ROOT


def find_problems(source: str, filename: str) -> list[str]:
    tree = ast.parse(source, filename)
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [(node.module or "").split(".")[0]]
        else:
            continue
        problems += [f"line {node.lineno}: imports {n}" for n in names if n in FORBIDDEN_MODULES]
    for call in _calls(tree):
        name = _name(call.func)
        last = name.rsplit(".", 1)[-1]
        if name in FORBIDDEN_CALLS or (last in FORBIDDEN_CALLS and name.startswith("builtins")):
            problems.append(f"line {call.lineno}: calls {name}()")
        if last == "import_module" or name == "importlib.__import__":
            arg = ast.unparse(call.args[0]) if call.args else ""
            if (filename, arg) not in ALLOWED_IMPORTS:
                problems.append(f"line {call.lineno}: dynamic import of {arg}")
        if last in ("load", "loads") and _name(call.func).split(".")[0] in ("np", "numpy"):
            for keyword in call.keywords:
                if keyword.arg == "allow_pickle":
                    problems.append(f"line {call.lineno}: numpy load with allow_pickle")
    return problems


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_code_from_data(path: Path):
    problems = find_problems(path.read_text(), path.name)
    assert not problems, f"{path}: " + "; ".join(problems)


def test_the_checker_finds_what_it_looks_for():
    planted = """
import pickle
from yaml import load
import importlib
eval(payload)
exec(code)
__import__(name)
importlib.import_module(plugin_name)
np.load(f, allow_pickle=True)
"""
    assert len(find_problems(planted, "x.py")) == 7


def test_cli_imports_only_its_own_commands():
    from blissdata_core import cli

    assert all(name.replace("-", "_").isidentifier() for name in cli.COMMANDS)
