"""File imports: regions, populations, indicators, targets and survey responses.

Each loader validates a whole file, collects every problem (ImportFailed lists them with file,
row and column) and writes in one transaction, or writes nothing. Re-loading the same file is a
no-op that says so. Instruments load through surveys.services.instruments.
"""

from ._common import ERROR_LIMIT, ImportFailed, LoadReport
from .indicators import indicators_load, targets_load
from .population import population_load
from .regions import regions_load
from .responses import ResponsesImportReport, responses_import

__all__ = [
    "ERROR_LIMIT", "ImportFailed", "LoadReport", "ResponsesImportReport", "indicators_load",
    "population_load", "regions_load", "responses_import", "targets_load",
]
