"""Public pages (no login) under /n/: a division's notices, printable notices, QR poster, reports and receipts."""

from django.urls import path

from firstline.community.notices import public

app_name = "notices_public"
urlpatterns: list = [
    path("receipt/<str:token>/", public.receipt, name="receipt"),
    path("<str:code>/", public.division_page, name="division"),
    path("<str:code>/report/", public.report, name="report"),
    path("<str:code>/poster/", public.division_poster, name="poster"),
    path("<str:code>/qr.<str:fmt>", public.division_qr, name="qr"),
    path("<str:code>/<int:pk>/", public.notice_page, name="notice"),
    path("<str:code>/<int:pk>/print/", public.notice_print, name="print"),
    path("<str:code>/<int:pk>/files/<int:attachment_pk>/", public.notice_attachment, name="attachment"),
]
