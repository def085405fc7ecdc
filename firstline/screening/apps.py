from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScreeningConfig(AppConfig):
    name = "firstline.screening"
    label = "screening"
    verbose_name = _("Arrival screening")

    def ready(self) -> None:
        from firstline.core.links import register_record_page
        from firstline.policy.hooks import register_edition_listener
        from firstline.riskareas.hooks import register_area_listener
        from firstline.screening import panels, reevaluation, stats
        from firstline.screening.assist import visibility
        from firstline.screening.models import Arrival, AssistItem, Campaign

        register_area_listener(reevaluation.on_areas_changed)
        register_edition_listener(reevaluation.on_edition_changed)
        panels.register()
        stats.register()
        visibility.register()

        register_record_page(Arrival, "screening:arrival_detail")
        register_record_page(AssistItem, "screening:assist:item")
        register_record_page(Campaign, "screening:campaigns:detail")
