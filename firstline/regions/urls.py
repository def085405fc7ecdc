from django.urls import path

from firstline.regions import views

app_name = "regions"
urlpatterns = [
    path("", views.division_tree, name="tree"),
    path("d/<str:code>/", views.division_detail, name="division"),
    path("g/<str:code>/", views.grid_detail, name="grid"),
    path("h/<int:pk>/", views.household_detail, name="household"),
    path("h/<int:pk>/responsible/", views.household_assign, name="household_assign"),
]
