from django.urls import path

from firstline.quarantine.testing import views

urlpatterns = [
    path("samplings/", views.sampling_list, name="sampling_list"),
    path("samplings/due-today/", views.samplings_due_today, name="samplings_due_today"),
    path("samplings/overdue/", views.samplings_overdue, name="samplings_overdue"),
    path("samplings/new/", views.sampling_add, name="sampling_add"),
    path("samplings/<int:pk>/", views.sampling_detail, name="sampling_detail"),
    path("samplings/<int:pk>/record/", views.sampling_record, name="sampling_record"),
    path("samplings/<int:pk>/result/", views.sampling_result, name="sampling_result"),
    path("results/import/", views.results_import, name="results_import"),
]
