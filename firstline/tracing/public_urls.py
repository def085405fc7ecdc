"""Public pages reached by a venue's printed QR code (场所码): no login, rate-limited."""

from django.urls import path

from firstline.tracing.venues import public

app_name = "venue_public"
urlpatterns: list = [
    path("<str:code>/", public.checkin, name="checkin"),
    path("<str:code>/done/<str:token>/", public.done, name="done"),
    path("<str:code>/checkout/<str:token>/", public.checkout, name="checkout"),
]
