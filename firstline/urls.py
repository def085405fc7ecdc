from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from firstline import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/", include("firstline.accounts.urls")),
    path("people/", include("firstline.people.urls")),
    path("regions/", include("firstline.regions.urls")),
    path("tasks/", include("firstline.dispatch.urls")),
    path("risk-areas/", include("firstline.riskareas.urls")),
    path("policy/", include("firstline.policy.urls")),
    path("screening/", include("firstline.screening.urls")),
    path("tracing/", include("firstline.tracing.urls")),
    path("quarantine/", include("firstline.quarantine.urls")),
    path("community/", include("firstline.community.urls")),
    # Short public addresses printed as QR codes (self-registration): no login.
    path("r/", include("firstline.screening.public_urls")),
    # Venue QR codes (场所码): the public check-in page.
    path("v/", include("firstline.tracing.public_urls")),
    # Home-monitoring self-report links (signed, one per placement): no login.
    path("h/", include("firstline.quarantine.monitoring.public_urls")),
    # Public notices per division and public reports (rumours, violations, unregistered arrivals): no login.
    path("n/", include("firstline.community.notices.public_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("firstline.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
]
