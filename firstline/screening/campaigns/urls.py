from django.urls import path

from firstline.screening.campaigns import views

app_name = "campaigns"
urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("new/", views.campaign_create, name="create"),
    path("<int:pk>/", views.campaign_detail, name="detail"),
    path("<int:pk>/edit/", views.campaign_edit, name="edit"),
    path("<int:pk>/coverage/", views.campaign_coverage, name="coverage"),
    path("<int:pk>/unvisited/", views.unvisited_list, name="unvisited"),
    path("<int:pk>/visits/", views.visit_list, name="visits"),
    path("<int:pk>/round/", views.visit_round, name="round"),
    path("<int:pk>/round/<int:household_pk>/", views.visit_record, name="visit"),
]
