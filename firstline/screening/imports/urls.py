from django.urls import path

from firstline.screening.imports import views

app_name = "imports"
urlpatterns = [
    path("", views.import_list, name="list"),
    path("upload/", views.import_upload, name="upload"),
    path("<int:pk>/", views.import_detail, name="detail"),
    path("<int:pk>/run/", views.import_run, name="run"),
    path("<int:pk>/progress/", views.import_progress, name="progress"),
    path("<int:pk>/errors.xlsx", views.import_errors, name="errors"),
    path("<int:pk>/report.json", views.import_report, name="report"),
]
