"""Venue pages, included under /tracing/venues/ in the ``tracing`` namespace."""

from django.urls import path

from firstline.tracing.venues import views

urlpatterns = [
    path("", views.venue_list, name="venue_list"),
    path("new/", views.venue_create, name="venue_create"),
    path("<int:pk>/", views.venue_detail, name="venue_detail"),
    path("<int:pk>/edit/", views.venue_edit, name="venue_edit"),
    path("<int:pk>/active/", views.venue_active, name="venue_active"),
    path("<int:pk>/poster/", views.venue_poster, name="venue_poster"),
    path("<int:pk>/poster.pdf", views.venue_poster_pdf, name="venue_poster_pdf"),
    path("<int:pk>/qr.<str:fmt>", views.venue_qr, name="venue_qr"),
]
