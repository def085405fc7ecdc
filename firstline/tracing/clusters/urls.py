from django.urls import path

from firstline.tracing.clusters import views

urlpatterns = [
    path("", views.cluster_list, name="cluster_list"),
    path("<int:pk>/", views.cluster_detail, name="cluster_detail"),
    path("<int:pk>/graph.json", views.cluster_graph, name="cluster_graph"),
    path("<int:pk>/export.<str:fmt>", views.cluster_export, name="cluster_export"),
]
