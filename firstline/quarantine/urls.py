from django.urls import include, path

app_name = "quarantine"
urlpatterns: list = [
    path("sites/", include("firstline.quarantine.sites.urls")),
    path("testing/", include("firstline.quarantine.testing.urls")),
    path("", include("firstline.quarantine.monitoring.urls")),
]
