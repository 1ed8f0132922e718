"""The one publish path: every published result number is read through this package.

* `catalogue` - one column list per result table (name, type, labels id/en, width, source),
  feeding the API serializers, the exports, the charts and the dashboard;
* `read` - the published rows: region scope and the suppression rule applied in the query.

Who may read at all (`READER_ROLES`) and which regions (`visible_region_codes`) live in
`surveys.selectors.access`.
"""

from surveys.publish.catalogue import SUPPRESSED_FIELDS, TABLES, Column, ResultTable
from surveys.publish.read import (
    PublishedEstimate,
    achievements,
    changes,
    estimates,
    index_targets,
    indicators,
    latest_instrument,
    proxy_validation,
    published_estimates,
    published_series,
    region_names,
    regions_with_estimates,
    rows,
    scope_regions,
    trends,
)

__all__ = [
    "SUPPRESSED_FIELDS", "TABLES", "Column", "PublishedEstimate", "ResultTable", "achievements",
    "changes", "estimates", "index_targets", "indicators", "latest_instrument",
    "proxy_validation", "published_estimates", "published_series", "region_names",
    "regions_with_estimates", "rows", "scope_regions", "trends",
]
