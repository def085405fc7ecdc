from django.urls import path

from firstline.screening.assist import views

app_name = "assist"
urlpatterns = [
    path("", views.batch_list, name="list"),
    path("new/", views.batch_create, name="create"),
    path("<int:pk>/", views.batch_detail, name="detail"),
    path("<int:pk>/feedback/", views.batch_feedback, name="feedback"),
    path("<int:pk>/close/", views.batch_close, name="close"),
    path("items/<int:pk>/", views.item_detail, name="item"),
    path("items/<int:pk>/control/", views.item_control, name="item_control"),
    path("items/<int:pk>/<slug:action>/", views.item_action, name="item_action"),
]
