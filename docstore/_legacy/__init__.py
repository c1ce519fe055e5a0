"""Import of the original tool's legacy JSON data directories (see ``_importer``)."""

from ._importer import import_legacy
from ._report import FileOutcome, ImportReport, KindCounts

__all__ = ["FileOutcome", "ImportReport", "KindCounts", "import_legacy"]
