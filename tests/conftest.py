"""Shared test setup.

Tests marked `real` need a real external component (PostgreSQL, Chromium + axe-core,
espeak-ng, argostranslate). On a developer machine without one they skip with the reason;
in CI (COMMHUB_REQUIRE_REAL=1) every skip is a failure, so nothing hides, not even a test
that needs a component and forgot its marker: the suite has no skip meant to stay.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

REQUIRE_REAL = os.environ.get("COMMHUB_REQUIRE_REAL") == "1"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, None, None]:
    """A module skipped while it is collected (`importorskip`, a module-level skip) fails
    too: the per-test hook below never sees it."""
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_REAL and report.skipped:
        report.outcome = "failed"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, None, None]:
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_REAL and report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"real component missing in CI (COMMHUB_REQUIRE_REAL=1): {reason}"


from tests.smtp_server import smtp_server  # noqa: E402, F401  (fixture: a real aiosmtpd server)
