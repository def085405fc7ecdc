from celery import shared_task

from firstline.dispatch import services


@shared_task(name="firstline.dispatch.tasks.escalate_overdue")
def escalate_overdue() -> dict[str, list[int]]:
    report = services.escalate_overdue()
    return {"escalated": report.escalated, "no_supervisor": report.no_supervisor}
