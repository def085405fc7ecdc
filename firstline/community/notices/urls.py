"""Staff pages of notices and public reports, included under /community/notices/ in the ``community`` namespace."""

from django.urls import path

from firstline.community.notices import views

urlpatterns: list = [
    path("", views.notice_list, name="notice_list"),
    path("new/", views.notice_create, name="notice_create"),
    path("<int:pk>/", views.notice_detail, name="notice_detail"),
    path("<int:pk>/edit/", views.notice_edit, name="notice_edit"),
    path("<int:pk>/publish/", views.notice_publish, name="notice_publish"),
    path("<int:pk>/withdraw/", views.notice_withdraw, name="notice_withdraw"),
    path("<int:pk>/attach/", views.notice_attach, name="notice_attach"),
    path("<int:pk>/files/<int:attachment_pk>/", views.notice_attachment, name="notice_attachment"),
    path(
        "<int:pk>/files/<int:attachment_pk>/remove/",
        views.notice_attachment_remove,
        name="notice_attachment_remove",
    ),
    path("<int:pk>/readers/", views.notice_readers, name="notice_readers"),
    path("reports/", views.report_list, name="report_list"),
    path("reports/<int:pk>/", views.report_detail, name="report_detail"),
    path("reports/<int:pk>/triage/", views.report_triage, name="report_triage"),
    path("reports/<int:pk>/note/", views.report_note, name="report_note"),
    path("reports/<int:pk>/answer/", views.report_answer, name="report_answer"),
    path("reports/<int:pk>/reveal/", views.report_reveal, name="report_reveal"),
    path("reports/<int:pk>/photo/", views.report_photo, name="report_photo"),
]
