from rest_framework.routers import DefaultRouter

from firstline.dispatch.api import TaskViewSet
from firstline.people.api import PersonViewSet
from firstline.regions.api import DivisionViewSet, GridViewSet, HouseholdViewSet

router = DefaultRouter()
router.register("persons", PersonViewSet, basename="person")
router.register("divisions", DivisionViewSet, basename="division")
router.register("grids", GridViewSet, basename="grid")
router.register("households", HouseholdViewSet, basename="household")
router.register("tasks", TaskViewSet, basename="task")

urlpatterns = router.urls
