"""Quarantine sites, rooms and placements, included under /quarantine/sites/ in the ``quarantine`` namespace."""

from django.urls import path

from firstline.quarantine.sites import views

urlpatterns = [
    path("", views.facility_list, name="facility_list"),
    path("new/", views.facility_create, name="facility_create"),
    path("<int:pk>/", views.facility_detail, name="facility_detail"),
    path("<int:pk>/edit/", views.facility_edit, name="facility_edit"),
    path("<int:pk>/rooms/", views.facility_rooms_add, name="facility_rooms_add"),
    path("<int:pk>/staff/", views.facility_staff_add, name="facility_staff_add"),
    path("<int:pk>/board/", views.site_board, name="site_board"),
    path("<int:pk>/board/state/", views.site_board_state, name="site_board_state"),
    path("staff/<int:pk>/remove/", views.facility_staff_remove, name="facility_staff_remove"),
    path("rooms/<int:pk>/edit/", views.room_edit, name="room_edit"),
    path("rooms/<int:pk>/state/", views.room_state, name="room_state"),
    path("occupancy/", views.occupancy, name="occupancy"),
    path("placements/", views.placement_list, name="placement_list"),
    path("placements/new/", views.placement_create, name="placement_create"),
    path("placements/<int:pk>/", views.placement_detail, name="placement_detail"),
    path("placements/<int:pk>/transfer/", views.placement_transfer, name="placement_transfer"),
    path("placements/<int:pk>/release/", views.placement_release, name="placement_release"),
    path("placements/<int:pk>/end/", views.placement_end, name="placement_end"),
    path("placements/<int:pk>/numbers/", views.placement_numbers, name="placement_numbers"),
    path("placements/<int:pk>/certificate.pdf", views.placement_certificate, name="placement_certificate"),
    path("placements/<int:pk>/needs/", views.care_need_add, name="care_need_add"),
    path("needs/<int:pk>/close/", views.care_need_close, name="care_need_close"),
]
