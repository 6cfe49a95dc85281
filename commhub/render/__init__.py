"""Rendering: the three accessible formats (large print, audio, relay text) as MIME messages.

`Renderer(settings, topics, catalogs, speech).render(topic, member, data, delivery_id)` is the
one call the workers make; the modules underneath are pure and usable on their own.
"""

from commhub.render.pipeline import Renderer, RenderResult

__all__ = ["RenderResult", "Renderer"]
