"""Wiring: build the hub's parts from settings, and run them (serve, worker, migrate, ...).

This and `cli.py` are the only places where concrete stores, transports, engines and the
HTTP app meet. Each resource is opened and closed in one place, in reverse order.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from commhub.content.i18n import Catalogs
from commhub.content.pinned import ContentFiles
from commhub.content.topics import Topic
from commhub.dkim.process import SigningProcess
from commhub.domain import Format
from commhub.errors import ConfigError
from commhub.pinning import CampaignRenderers
from commhub.render.pipeline import Renderer
from commhub.settings import Settings
from commhub.speech.service import SpeechService
from commhub.store.base import Store
from commhub.store.factory import open_store
from commhub.transports.base import Transport
from commhub.transports.factory import build_transports
from commhub.worker import OutcomeHook, Worker

if TYPE_CHECKING:
    from aiohttp import web

    from commhub.api.metrics import Metrics

log = logging.getLogger("commhub")


@dataclass
class Hub:
    """Everything a running hub holds: built once at start, closed once at stop."""

    settings: Settings
    store: Store
    topics: dict[str, Topic]
    catalogs: Catalogs
    speech: SpeechService
    renderer: Renderer
    transports: dict[Format, Transport]
    signing: SigningProcess | None = None  # DKIM, when [dkim] is set: signs for the workers
    content: ContentFiles | None = None  # the content files loaded at start (pinned per campaign)
    _renderers: CampaignRenderers | None = field(default=None, init=False, repr=False)

    @property
    def renderers(self) -> CampaignRenderers:
        """Each campaign's renderer, from the content pinned at its creation."""
        if self._renderers is None:
            content = self.content or ContentFiles.read(self.settings.templates_dir)
            self._renderers = CampaignRenderers(
                self.renderer,
                content,
                self.store,
                lambda topics, catalogs: Renderer(
                    self.settings,
                    topics,
                    catalogs,
                    self.speech,
                    templates_dir=self.settings.templates_dir,
                ),
            )
        return self._renderers

    def worker(self, *, on_outcome: OutcomeHook | None = None) -> Worker:
        """A worker over this hub's store, renderer and transports."""
        return Worker(
            self.settings,
            self.store,
            self.renderers.render,
            self.transports,
            on_outcome=on_outcome,
            sign=self.signing.submit if self.signing is not None else None,
        )

    def api_app(self, metrics: Metrics) -> web.Application:
        """The HTTP API over this hub's store and content (`serve`, and the tests' hubs)."""
        from commhub.api.app import ApiDeps, create_app

        return create_app(
            ApiDeps(
                settings=self.settings,
                store=self.store,
                topics=self.topics,
                catalogs=self.catalogs,
                voices=self.speech,
                renderer=self.renderer,
                metrics=metrics,
                content=self.content,
                tokens=self.renderer.tokens,
            )
        )


@contextlib.asynccontextmanager
async def open_hub(settings: Settings, *, with_transports: bool = True) -> AsyncIterator[Hub]:
    """Open the store (and migrate it), load content, start transports; close all on exit."""
    content = ContentFiles.read(settings.templates_dir)
    topics, catalogs = content.load(settings.templates_dir)
    # Readiness (GET /v1/templates) and rendering follow `language.require`.
    catalogs = catalogs.requiring(settings.language.require)
    # The neural voice is loaded when the first English audio needs it (~1.5 s, once), not
    # at start: it holds ~110 MB, which a hub that imports members or sends email only would
    # carry for nothing (a 1,000,000-row import peaked at 296 MB with it, 250 is the target).
    # The studio, where QA staff listen at once, warms it up at start.
    speech = SpeechService(settings.speech, settings.voices_dir)
    renderer = Renderer(settings, topics, catalogs, speech, templates_dir=settings.templates_dir)
    store = open_store(settings.database_url)
    try:
        await store.migrate()
        transports = build_transports(settings) if with_transports else {}
        started: list[Transport] = []
        # Signing runs beside the senders: only a hub that sends starts its process.
        signing = (
            SigningProcess(settings.dkim, settings.root)
            if settings.dkim.domain and transports
            else None
        )
        try:
            if signing is not None:
                await signing.start()
            for t in {id(t): t for t in transports.values()}.values():
                await t.start()
                started.append(t)
            yield Hub(
                settings,
                store,
                topics,
                catalogs,
                speech,
                renderer,
                transports,
                signing,
                content,
            )
        finally:
            for t in reversed(started):
                await t.close()
            if signing is not None:
                await signing.close()
    finally:
        await store.close()


async def migrate(settings: Settings) -> int:
    store = open_store(settings.database_url)
    try:
        return await store.migrate()
    finally:
        await store.close()


async def with_store(settings: Settings, run: Callable[[Store], Awaitable[int]]) -> int:
    """Open the store (migrated), run a command with it, close it (token, campaign, audit)."""
    store = open_store(settings.database_url)
    try:
        await store.migrate()
        return await run(store)
    finally:
        await store.close()


@contextlib.asynccontextmanager
async def bounce_intake(hub: Hub, stop: asyncio.Event) -> AsyncIterator[None]:
    """While open: accept DSNs and complaint reports on `bounces.listen` and read them from
    `bounces.maildir`, when set (both for `serve` and `worker`)."""
    from commhub.bounces import BounceIntake, bounce_listener

    b = hub.settings.bounces
    if not b.listen and not b.maildir:
        yield
        return
    intake = BounceIntake(hub.store, hub.renderer.tokens, b)
    async with contextlib.AsyncExitStack() as stack:
        if b.listen:
            await stack.enter_async_context(bounce_listener(intake, b.listen))
        watcher = None
        if b.maildir:
            watcher = asyncio.create_task(intake.watch_maildir(hub.settings.path(b.maildir), stop))
        try:
            yield
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)


async def run_workers(settings: Settings, *, until_idle: bool = False) -> int:
    """`commhub worker`: workers only, until SIGTERM (or until nothing is due)."""
    async with open_hub(settings) as hub:
        worker = hub.worker()
        if until_idle:
            n = await worker.run_until_idle()
            log.info("worker %s: processed %d deliveries", worker.id, n)
            return 0
        stop = asyncio.Event()
        _stop_on_signals(stop)
        log.info("worker %s started", worker.id)
        async with bounce_intake(hub, stop):
            await worker.run(stop)
        log.info("worker %s stopped", worker.id)
    return 0


async def serve(settings: Settings) -> int:
    """`commhub serve`: the HTTP API and workers in one process, until SIGTERM."""
    from aiohttp import web

    from commhub.api.metrics import Metrics
    from commhub.api.protocol import ApiRunner

    async with open_hub(settings) as hub:
        metrics = Metrics()
        app = hub.api_app(metrics)
        # aiohttp's keep-alive timer runs from the connection's start (and from each response)
        # until a whole request head has arrived, so it is also the header read timeout.
        # ApiRunner: a malformed request's raw line (a bearer token) is never logged or echoed.
        runner = ApiRunner(
            app, access_log=None, keepalive_timeout=settings.server.header_timeout_seconds
        )
        await runner.setup()
        server = settings.server
        site = web.TCPSite(runner, server.host, server.port, reuse_port=server.reuse_port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            # The errno's own text: the loop's message repeats the address.
            reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
            hint = "" if server.reuse_port else " (server.reuse_port = true lets serves share it)"
            raise ConfigError(
                f"server: cannot listen on {server.host}:{server.port}: {reason}{hint}"
            ) from None
        log.info("commhub listening on http://%s:%d", server.host, server.port)
        stop = asyncio.Event()
        _stop_on_signals(stop)
        worker = hub.worker(on_outcome=metrics.observe_outcome)
        try:
            async with bounce_intake(hub, stop):
                await worker.run(stop)
        finally:
            await runner.cleanup()
    return 0


def translate(settings: Settings, args: argparse.Namespace) -> int:
    from commhub.translate import commands

    return commands.run(settings, args)
