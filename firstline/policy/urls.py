from django.urls import path

from firstline.policy import views

app_name = "policy"
urlpatterns = [
    path("", views.edition_list, name="list"),
    path("<int:pk>/", views.edition_detail, name="detail"),
    path("<int:pk>/copy/", views.edition_copy, name="copy"),
    path("<int:pk>/edit/", views.edition_edit, name="edit"),
    path("<int:pk>/publish/", views.edition_publish, name="publish"),
    path("<int:pk>/try/", views.edition_try, name="try"),
    path("<int:pk>/rules/<slug:trigger>/", views.rule_edit, name="rule"),
    path("<int:pk>/rules/<slug:trigger>/delete/", views.rule_delete, name="rule_delete"),
    path("measures/<int:pk>/", views.measure_detail, name="measure"),
]
