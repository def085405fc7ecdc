from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QuarantineConfig(AppConfig):
    name = "firstline.quarantine"
    label = "quarantine"
    verbose_name = _("Quarantine and health monitoring")

    def ready(self) -> None:
        from firstline.quarantine import wiring

        wiring.register()
