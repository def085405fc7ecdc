from celery import shared_task

from firstline.screening.assist import services


@shared_task(name="firstline.screening.assist.tasks.escalate_assist")
def escalate_assist() -> int:
    """Escalate the people of open 协查 batches that are overdue to locate or to control."""
    return services.escalate_assist()
