"""The QA and translation studio: `commhub preview serve`.

A local web page that shows one template in every language and format side by side (the
large-print email as a mail client shows it, the relay text as a TTY prints it, the audio
with a player), the rule checks of each, and a translator view that reviews and certifies
catalog entries on disk. Sample or typed-in data only: the studio never opens the member
store (except, when bound beyond loopback, to check a `qa` token).

Modules: `content` (templates, topics and catalogs, reloaded when they change on disk),
`cells` (one rendered language × format cell and its checks), `tty` (TTY timing),
`translator` (the strings of a template in one language), `app` (the aiohttp app and the
command).
"""
