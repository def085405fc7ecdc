"""/community/volunteers/…: names live in the app namespace "community" (unique across care, roster, notices)."""

from django.urls import path

from firstline.community.roster import views

urlpatterns: list = [
    path("", views.volunteer_list, name="volunteer_list"),
    path("new/", views.volunteer_create, name="volunteer_create"),
    path("<int:pk>/", views.volunteer_detail, name="volunteer_detail"),
    path("<int:pk>/edit/", views.volunteer_edit, name="volunteer_edit"),
    path("<int:pk>/pledges/", views.pledge_sign, name="pledge_sign"),
    path("<int:pk>/pledges/<int:signature_pk>/withdraw/", views.pledge_withdraw, name="pledge_withdraw"),
    path("<int:pk>/service/", views.service_entry_add, name="service_entry_add"),
    path("pledges/", views.pledge_list, name="pledge_list"),
    path("pledges/<int:pk>/edit/", views.commitment_edit, name="commitment_edit"),
    path("posts/", views.post_list, name="post_list"),
    path("posts/new/", views.post_create, name="post_create"),
    path("posts/<int:pk>/edit/", views.post_edit, name="post_edit"),
    path("posts/<int:pk>/roster/", views.post_roster, name="post_roster"),
    path("posts/<int:pk>/roster/copy/", views.roster_copy, name="roster_copy"),
    path("shifts/<int:pk>/cancel/", views.shift_cancel, name="shift_cancel"),
    path("duty/", views.my_duty, name="my_duty"),
    path("duty/<int:pk>/check-in/", views.shift_check_in, name="shift_check_in"),
    path("duty/<int:pk>/check-out/", views.shift_check_out, name="shift_check_out"),
    path("service/", views.service_list, name="service_list"),
]
