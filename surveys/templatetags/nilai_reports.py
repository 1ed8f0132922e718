"""``{% report_options region as options %}``: what the dashboard's report button needs (the
years the region has estimates), or None when the signed-in account may not produce
that region's report (an office on another region or on the province-wide view)."""

from __future__ import annotations

from django import template

from surveys import publish
from surveys.models import OVERALL
from surveys.reports.jobs import report_regions
from surveys.selectors.access import visible_region_codes

register = template.Library()


@register.simple_tag(takes_context=True)
def report_options(context: template.Context, region: str) -> dict | None:
    request = context.get("request")
    if request is None or not region:
        return None
    allowed = report_regions(request.user)
    if allowed is not None and region not in allowed:
        return None
    years = sorted(set(publish.rows(
        "estimates", regions=visible_region_codes(request.user), region=region,
        dimension=OVERALL).values_list("wave__year", flat=True)))
    if not years:
        return None
    return {"years": years}
