"""Daily health monitoring, included under /quarantine/ in the ``quarantine`` namespace."""

from django.urls import path

from firstline.quarantine.monitoring import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("today/", views.today, name="today"),
    path("today/print/", views.today_print, name="today_print"),
    path("today/save/", views.today_save, name="today_save"),
    path("checks/", views.check_list, name="check_list"),
    path("lost/", views.lost_list, name="lost_list"),
    path("placements/<int:pk>/self-report/", views.self_report_link, name="self_report_link"),
]
