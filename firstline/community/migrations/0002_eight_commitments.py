"""The eight take-the-leads (八个带头) of the letter, shipped as data (editable on the pledges page)."""

from django.db import migrations

COMMITMENTS = [
    ("front_line", "站在第一线", "冲锋在前，站在疫情防控第一线，确保各项防控措施落实到位。"),
    ("discipline", "严守纪律", "严守政治纪律和工作纪律，确保政令畅通、令行禁止。"),
    ("step_forward", "挺身而出", "在关键时刻挺身而出，不畏艰险、勇于担当。"),
    ("trace_isolate", "配合追踪排查和隔离防护", "协助有关部门做好密切接触人群的追踪排查和隔离防护工作。"),
    ("explain_care", "宣传解读、关心群众", "向群众宣传防控知识、解读防控政策，关心关爱群众。"),
    ("no_rumours", "不信谣不造谣不传谣", "不信谣、不造谣、不传谣，敢于同违规违法行为作斗争。"),
    ("duty", "履职尽责", "做好本职工作的同时积极参与疫情防控工作，履职尽责。"),
    ("no_gatherings", "不组织集会、不参加聚会", "养成良好卫生习惯，不组织集会、不参加聚会。"),
]


def ship(apps, schema_editor):
    Commitment = apps.get_model("community", "Commitment")
    for number, (code, title, text) in enumerate(COMMITMENTS, start=1):
        Commitment.objects.update_or_create(code=code, defaults={"number": number, "title": title, "text": text})


def unship(apps, schema_editor):
    apps.get_model("community", "Commitment").objects.filter(code__in=[c[0] for c in COMMITMENTS]).delete()


class Migration(migrations.Migration):
    dependencies = [("community", "0001_initial")]

    operations = [migrations.RunPython(ship, unship)]
