from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PeopleConfig(AppConfig):
    name = "firstline.people"
    label = "people"
    verbose_name = _("People")

    def ready(self) -> None:
        from firstline.core.links import register_record_page
        from firstline.people import stats  # noqa: F401  (registers the person counter for division pages)
        from firstline.people.models import Person

        register_record_page(Person, "people:detail")
