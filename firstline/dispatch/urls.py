from django.urls import path

from firstline.dispatch import views

app_name = "dispatch"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("new/", views.task_create, name="create"),
    path("<int:pk>/", views.task_detail, name="detail"),
]
