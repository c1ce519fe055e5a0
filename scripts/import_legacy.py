"""Import a legacy data directory: the same as ``docstore import`` (see ``docstore import --help``).

python scripts/import_legacy.py LEGACY_DIR [--url URL] [--namespace NS] [--dry-run] ...
"""

import runpy
import sys

if __name__ == "__main__":
    # `python -m docstore import ...`: the command's public entry point, nothing private.
    sys.argv = ["docstore", "import", *sys.argv[1:]]
    runpy.run_module("docstore", run_name="__main__", alter_sys=True)
