from django.utils.translation import gettext_lazy as _

from firstline.people.models import Person
from firstline.regions.stats import Counter, register_counter

register_counter(Counter("persons", _("persons"), lambda user: Person.objects.visible_to(user).active()))
