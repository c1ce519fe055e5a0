"""``python -m docstore``: the same as the ``docstore`` command."""

from ._cli import main

main()
