"""Fixtures of the writer tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from writer_helpers import BlissWriter


@pytest.fixture
def blisswriter(reference_python: Path, redis_url: str, tmp_path: Path) -> Iterator[BlissWriter]:
    writer = BlissWriter(reference_python, redis_url, tmp_path / "blisswriter.log")
    try:
        yield writer
    finally:
        writer.stop()


@pytest.fixture
def writer_service(redis_url: str) -> Iterator:
    """``start(roots=None) -> ServiceThread``; every service started is stopped after the test."""
    from writer_helpers import ServiceThread

    started = []

    def start(roots=None):
        service = ServiceThread(redis_url, roots)
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()
