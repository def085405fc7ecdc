from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PolicyConfig(AppConfig):
    name = "firstline.policy"
    label = "policy"
    verbose_name = _("Policy")

    def ready(self) -> None:
        from firstline.core.links import register_record_page
        from firstline.policy import panels
        from firstline.policy.models import Measure

        panels.register()
        register_record_page(Measure, "policy:measure")
