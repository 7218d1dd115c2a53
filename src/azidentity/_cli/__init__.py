"""The ``azidentity`` command line: ``token``, ``doctor`` and ``emulator``."""
