"""Public pages reached by printed QR codes: no login, rate-limited."""

from django.urls import path

from firstline.screening import public

app_name = "public"
urlpatterns = [
    path("<str:token>/", public.register, name="register"),
    path("<str:token>/thanks/", public.thanks, name="thanks"),
]
