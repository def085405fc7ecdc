from django.urls import path

from firstline.riskareas import views

app_name = "riskareas"
urlpatterns = [
    path("", views.risk_area_list, name="list"),
    path("new/", views.risk_area_create, name="create"),
    path("paste/", views.risk_area_paste, name="paste"),
    path("upload/", views.risk_area_upload, name="upload"),
    path("<int:pk>/", views.risk_area_detail, name="detail"),
    path("<int:pk>/edit/", views.risk_area_edit, name="edit"),
    path("<int:pk>/level/", views.risk_area_level, name="level"),
    path("<int:pk>/lift/", views.risk_area_lift, name="lift"),
]
