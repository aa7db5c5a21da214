"""Fixtures of the writer tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


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
