"""The export file formats and their HTTP content types.

A module of its own, free of heavy imports, so that the API can declare its export endpoint
(OpenAPI enum and media types) at start-up without loading `surveys.services.exports` and
pyarrow; the exports re-export both names.
"""

FORMATS = ("csv", "xlsx", "parquet", "sav", "dta")
#: HTTP content type per format, for streaming responses.
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "parquet": "application/vnd.apache.parquet",
    "sav": "application/x-spss-sav",
    "dta": "application/x-stata-dta",
}
