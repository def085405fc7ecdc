"""/community/care/: frontline care requests and the frontline registry (names are ``community:<name>``)."""

from django.urls import path

from firstline.community.care import views

urlpatterns = [
    path("", views.care_mine, name="care_mine"),
    path("new/", views.care_file, name="care_file"),
    path("lookup/", views.care_worker_lookup, name="care_worker_lookup"),
    path("queue/", views.care_queue, name="care_queue"),
    path("summary/", views.care_summary, name="care_summary"),
    path("<int:pk>/", views.care_detail, name="care_detail"),
    path("<int:pk>/<slug:step>/", views.care_step, name="care_step"),
    path("workers/", views.frontline_list, name="frontline_list"),
    path("workers/new/", views.frontline_create, name="frontline_create"),
    path("workers/<int:pk>/", views.frontline_edit, name="frontline_edit"),
]
