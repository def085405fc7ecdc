"""The self-report page of home monitoring reached by a signed link or its QR code: no login, rate-limited."""

from django.urls import path

from firstline.quarantine.monitoring import public

app_name = "health_public"
urlpatterns = [
    path("<str:token>/", public.report, name="report"),
]
