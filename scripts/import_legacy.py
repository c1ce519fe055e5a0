"""Import a legacy data directory: the same as ``docstore import`` (see ``docstore import --help``).

python scripts/import_legacy.py LEGACY_DIR [--url URL] [--namespace NS] [--dry-run] ...
"""

import sys

from docstore._cli import main

if __name__ == "__main__":
    main(["import", *sys.argv[1:]])
