from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegionsConfig(AppConfig):
    name = "firstline.regions"
    label = "regions"
    verbose_name = _("Regions")

    def ready(self) -> None:
        from firstline.core.links import register_record_page
        from firstline.regions.models import Household

        register_record_page(Household, "regions:household")
