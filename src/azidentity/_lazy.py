"""The import-cost rule, in one place.

``import azidentity`` must not load azure-core's pipeline, requests, aiohttp or cryptography
(``tests/test_package.py`` checks it; the benchmarks measure it): public names resolve lazily
(``azidentity/__init__.py``), and modules import those packages inside the functions that
need them. Names needed only in annotations are imported under ``if TYPE_CHECKING:`` with
this constant, which is ``False`` at run time and which type checkers (mypy, pyright) read
as true by its name; it spares the modules on the import path ``import typing``.
"""

TYPE_CHECKING = False
