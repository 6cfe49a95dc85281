"""DKIM signing (RFC 6376): `signer` computes the DKIM-Signature fields of a message;
`process` runs that in a child process beside the worker, so signing takes another core.

Apart from `commhub.render` on purpose: the child imports only this package, the settings
and the domain types, and starts in ~0.15 s instead of the ~0.6 s the renderer's imports
(speech, templates, translation catalogues) would cost on every start and restart.
"""
