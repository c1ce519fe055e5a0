"""The ``docstore`` command: a thin shell over the library, one module per group of commands.

Exit codes: 0 done; 1 done, with rejected records; 2 could not run (bad
arguments, unreadable directory, unreachable database), with one line saying why.
"""

from . import _check, _import, _ops, _serve, _tokens  # noqa: F401  # each module registers its commands on `main`
from ._app import main

__all__ = ["main"]
