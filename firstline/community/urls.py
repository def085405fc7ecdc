from django.urls import include, path

app_name = "community"
urlpatterns: list = [
    path("care/", include("firstline.community.care.urls")),
    path("volunteers/", include("firstline.community.roster.urls")),
    path("notices/", include("firstline.community.notices.urls")),
]
