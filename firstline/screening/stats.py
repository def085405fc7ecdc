"""Division-tree counts for screening: arrivals waiting for a household and people under a measure."""

from django.utils.translation import gettext_lazy as _

from firstline.policy.models import Measure
from firstline.regions.stats import Counter, register_counter
from firstline.screening.models import Arrival


def register() -> None:
    register_counter(
        Counter("arrivals_unresolved", _("arrivals to resolve"), lambda u: Arrival.objects.visible_to(u).unresolved())
    )
    register_counter(Counter("measures", _("under a measure"), lambda u: Measure.objects.visible_to(u).current()))
