from django.apps import AppConfig


class SurveysConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "surveys"
    verbose_name = "Survei Nilai Pancasila"

    def ready(self) -> None:
        # caller-cache invalidation (signals) and the deploy checks
        from surveys import checks, signals  # noqa: F401
