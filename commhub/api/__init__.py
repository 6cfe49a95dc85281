"""The HTTP API (v1): an aiohttp application built by `create_app(ApiDeps(...))`."""

from commhub.api.app import create_app
from commhub.api.deps import ApiDeps
from commhub.api.metrics import Metrics

__all__ = ["ApiDeps", "Metrics", "create_app"]
