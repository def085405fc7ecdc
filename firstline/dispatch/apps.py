from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DispatchConfig(AppConfig):
    name = "firstline.dispatch"
    label = "dispatch"
    verbose_name = _("Tasks")

    def ready(self) -> None:
        from firstline.dispatch import panels, visibility

        visibility.register()
        panels.register()
