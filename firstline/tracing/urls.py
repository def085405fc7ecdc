from django.urls import include, path

from firstline.tracing import views

app_name = "tracing"
urlpatterns: list = [
    path("venues/", include("firstline.tracing.venues.urls")),
    path("clusters/", include("firstline.tracing.clusters.urls")),
    *views.urlpatterns,
]
