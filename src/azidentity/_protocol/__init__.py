"""The sans-IO core: request builders and response parsers.

Nothing in this package opens a socket, starts a process, sleeps or touches asyncio
(``tests/test_package.py`` enforces it). A credential's acquisition is a generator
that *yields* effects (:class:`HttpRequest`, :class:`RunProcess`, :class:`Sleep`) and
receives their results; ``azidentity._driver`` runs the same generator synchronously or
under asyncio, so the sync and async credentials share every line of protocol logic.
"""
