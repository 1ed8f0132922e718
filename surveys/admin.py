"""Django admin for every model. Published instrument versions and stored results are read-only:
they change only through the load/compute commands."""

from __future__ import annotations

from django.contrib import admin

from . import models as m


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:  # noqa: ARG002
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ARG002
        return False


@admin.register(m.Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "code_kemendagri", "name", "level", "parent", "valid_from", "valid_to"]
    list_filter = ["level"]
    search_fields = ["code", "code_kemendagri", "name"]
    raw_id_fields = ["parent"]


@admin.register(m.Instrument)
class InstrumentAdmin(admin.ModelAdmin):
    list_display = ["code", "title_id"]
    search_fields = ["code", "title_id", "title_en"]


class DimensionInline(admin.TabularInline):
    model = m.Dimension
    extra = 0
    can_delete = False
    readonly_fields = ["code", "name_id", "name_en", "weight", "position"]


@admin.register(m.InstrumentVersion)
class InstrumentVersionAdmin(ReadOnlyAdmin):
    list_display = ["instrument", "version", "scale_min", "scale_max", "published_at"]
    inlines = [DimensionInline]


@admin.register(m.Dimension)
class DimensionAdmin(ReadOnlyAdmin):
    list_display = ["code", "version", "name_id", "weight", "position"]
    list_filter = ["version"]


@admin.register(m.Item)
class ItemAdmin(ReadOnlyAdmin):
    list_display = ["code", "version", "dimension", "facet", "reverse", "position"]
    list_filter = ["version", "facet", "reverse"]
    search_fields = ["code", "text_id", "text_en"]


@admin.register(m.Wave)
class WaveAdmin(admin.ModelAdmin):
    list_display = ["instrument", "year", "version", "status", "fieldwork_start", "fieldwork_end"]
    list_filter = ["status", "instrument"]
    actions = ["create_invitations"]

    @admin.action(description="Buat 10 kode undangan / create 10 invitation codes")
    def create_invitations(self, request, queryset) -> None:
        from .services.accounts import invitation_create

        for wave in queryset:
            codes = invitation_create(wave=wave, count=10)
            # Codes are shown once: only their hashes are stored.
            self.message_user(request, f"{wave}: {' '.join(codes)}")


@admin.register(m.Respondent)
class RespondentAdmin(admin.ModelAdmin):
    list_display = ["panel_key", "created_at"]
    search_fields = ["panel_key"]


@admin.register(m.Response)
class ResponseAdmin(admin.ModelAdmin):
    list_display = ["effective_submission_id", "wave", "respondent", "region", "status",
                    "source"]
    list_filter = ["wave", "status", "source", "sex", "age_group"]
    raw_id_fields = ["respondent", "region", "created_by"]
    readonly_fields = ["answers", "content_hash", "created_at", "updated_at", "submitted_at"]
    list_select_related = ["wave__instrument", "respondent", "region"]


@admin.register(m.PopulationMargin)
class PopulationMarginAdmin(admin.ModelAdmin):
    list_display = ["year", "region", "sex", "age_group", "population"]
    list_filter = ["year", "sex", "age_group"]


@admin.register(m.Indicator)
class IndicatorAdmin(admin.ModelAdmin):
    list_display = ["code", "name_id", "level", "polarity", "unit", "dimension_code"]
    list_filter = ["level", "polarity"]


@admin.register(m.IndicatorValue)
class IndicatorValueAdmin(admin.ModelAdmin):
    list_display = ["indicator", "region", "year", "value"]
    list_filter = ["indicator", "year"]


@admin.register(m.Target)
class TargetAdmin(admin.ModelAdmin):
    list_display = ["indicator", "region", "year", "target"]
    list_filter = ["indicator", "year"]


@admin.register(m.IndexRun)
class IndexRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "status", "analysis_version", "created_at", "finished_at"]
    list_filter = ["status"]


@admin.register(m.WaveWeights)
class WaveWeightsAdmin(ReadOnlyAdmin):
    """A wave's packed weights: who ran them and how many; the arrays are not shown (export
    the ``weights`` table to read them)."""

    list_display = ["wave", "n", "run"]
    exclude = ["response_ids", "final_weights"]


for _model in (
    m.EstimateResult, m.ReliabilityResult, m.ItemResult, m.CfaResult,
    m.TrendResult, m.ChangeResult, m.ProxyValidationResult, m.AchievementResult,
):
    admin.site.register(_model, ReadOnlyAdmin)


@admin.register(m.Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    """Codes are created by `manage.py invite` or the wave action (shown once, stored hashed)."""

    list_display = ["id", "wave", "created_at", "redeemed_at", "redeemed_by"]
    list_filter = ["wave"]
    raw_id_fields = ["redeemed_by"]


class AuditAdmin(ReadOnlyAdmin):
    """Audit trail (issue 9): read-only and never deleted from the admin."""

    def has_delete_permission(self, request, obj=None) -> bool:  # noqa: ARG002
        return False


@admin.register(m.ExportJob)
class ExportJobAdmin(AuditAdmin):
    list_display = ["id", "created_at", "requested_by_name", "source", "table", "format", "k",
                    "status", "rows", "bytes", "finished_at"]
    list_filter = ["status", "source", "table", "format", "created_at"]
    search_fields = ["requested_by_name", "requested_by__username", "table", "sha256",
                     "file_path"]
    date_hierarchy = "created_at"


@admin.register(m.ExportDownload)
class ExportDownloadAdmin(AuditAdmin):
    list_display = ["id", "downloaded_at", "username", "table", "format", "job", "ip"]
    list_filter = ["table", "format", "downloaded_at"]
    search_fields = ["username", "user__username", "ip", "table", "job__sha256"]
    date_hierarchy = "downloaded_at"


@admin.register(m.ImportJob)
class ImportJobAdmin(AuditAdmin):
    list_display = ["id", "started_at", "command", "os_user", "file_name", "status",
                    "rows_inserted", "rows_updated", "rows_unchanged", "finished_at"]
    list_filter = ["status", "command", "started_at"]
    search_fields = ["command", "os_user", "file_name", "file_sha256"]
    date_hierarchy = "started_at"


@admin.register(m.Programme)
class ProgrammeAdmin(admin.ModelAdmin):
    list_display = ["code", "region", "type", "dimension_code", "start_year", "end_year",
                    "name_id", "budget", "participants", "rpjmd_code"]
    list_filter = ["type", "dimension_code", "start_year", "region"]
    search_fields = ["code", "name_id", "name_en", "rpjmd_code"]
    filter_horizontal = ["output_indicators"]
    readonly_fields = ["created_by", "created_at", "updated_at"]


@admin.register(m.ProgrammeEffectResult)
class ProgrammeEffectResultAdmin(admin.ModelAdmin):
    list_display = ["programme", "region_code", "type", "dimension", "pre_wave", "post_wave",
                    "did", "did_se", "p", "status"]
    list_filter = ["status", "type", "dimension"]


@admin.register(m.ProgrammeTypeResult)
class ProgrammeTypeResultAdmin(admin.ModelAdmin):
    list_display = ["type", "k", "fe_estimate", "re_estimate", "tau2", "i2"]
