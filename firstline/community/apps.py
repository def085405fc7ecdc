from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommunityConfig(AppConfig):
    name = "firstline.community"
    label = "community"
    verbose_name = _("Community: frontline care, volunteers, notices")

    def ready(self) -> None:
        from firstline.community import wiring

        wiring.register()
