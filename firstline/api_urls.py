from rest_framework.routers import DefaultRouter

from firstline.community import api as community_api
from firstline.dispatch.api import TaskViewSet
from firstline.people.api import PersonViewSet
from firstline.policy import api as policy_api
from firstline.quarantine import api as quarantine_api
from firstline.regions.api import DivisionViewSet, GridViewSet, HouseholdViewSet
from firstline.riskareas import api as riskareas_api
from firstline.screening import api as screening_api
from firstline.tracing import api as tracing_api

router = DefaultRouter()
router.register("persons", PersonViewSet, basename="person")
router.register("divisions", DivisionViewSet, basename="division")
router.register("grids", GridViewSet, basename="grid")
router.register("households", HouseholdViewSet, basename="household")
router.register("tasks", TaskViewSet, basename="task")
riskareas_api.register(router)
policy_api.register(router)
screening_api.register(router)
tracing_api.register(router)
quarantine_api.register(router)
community_api.register(router)

urlpatterns = router.urls
