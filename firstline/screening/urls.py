from django.urls import include, path

from firstline.screening import views

app_name = "screening"
urlpatterns: list = [
    path("imports/", include("firstline.screening.imports.urls")),
    path("assist/", include("firstline.screening.assist.urls")),
    path("campaigns/", include("firstline.screening.campaigns.urls")),
    path("arrivals/", views.arrival_list, name="arrival_list"),
    path("arrivals/new/", views.arrival_create, name="arrival_create"),
    path("arrivals/<int:pk>/", views.arrival_detail, name="arrival_detail"),
    path("arrivals/<int:pk>/registered/", views.arrival_result, name="arrival_result"),
    path("arrivals/<int:pk>/verify/", views.arrival_verify, name="arrival_verify"),
    path("matches/<int:pk>/decide/", views.match_decide, name="match_decide"),
    path("lookup/person/", views.person_lookup, name="person_lookup"),
    path("lookup/households/", views.household_search, name="household_search"),
    path("checkpoint/", views.checkpoint, name="checkpoint"),
    path("queue/", views.queue, name="queue"),
    path("points/", views.point_list, name="point_list"),
    path("points/new/", views.point_create, name="point_create"),
    path("points/<int:pk>/poster/", views.point_poster, name="point_poster"),
    path("points/<int:pk>/qr.<str:fmt>", views.point_qr, name="point_qr"),
    path("points/<int:pk>/active/", views.point_active, name="point_active"),
    path("reevaluations/", views.reevaluation_list, name="reevaluation_list"),
    path("reevaluations/<int:pk>/", views.reevaluation_detail, name="reevaluation_detail"),
]
