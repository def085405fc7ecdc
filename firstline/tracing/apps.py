from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TracingConfig(AppConfig):
    name = "firstline.tracing"
    label = "tracing"
    verbose_name = _("Cases and contact tracing")

    def ready(self) -> None:
        from firstline.core.links import register_record_page
        from firstline.tracing import panels, visibility
        from firstline.tracing.models import Case, Cluster, Contact, Venue

        panels.register()
        visibility.register()

        register_record_page(Case, "tracing:case_detail")
        register_record_page(Contact, "tracing:contact_detail")
        register_record_page(Venue, "tracing:venue_detail")
        register_record_page(Cluster, "tracing:cluster_detail")
