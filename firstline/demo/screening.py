"""The demo city's screening work: a risk-area list, registration points, a campaign and imported arrivals.

Everything goes through the same services a user would use (risk-area loader, importer, campaign service), so the
demo shows real measures, explanations and tasks. The risk areas are places named in October 2021 notices, with
their dates moved to the present so that the demo's measures are running; the arrivals are invented.
"""

from __future__ import annotations

import csv
import datetime
import random
import tempfile
from pathlib import Path
from typing import Any

from django.utils import timezone

from firstline.accounts.models import User
from firstline.core.identity import resident_id_check_char
from firstline.regions.models import Division, Household
from firstline.riskareas.services import risk_areas_load
from firstline.screening.campaigns.services import campaign_create
from firstline.screening.imports.services import import_file
from firstline.screening.models import PointKind
from firstline.screening.points import point_create

NOTICE = "演示数据：2021年10月通报中的地区，日期已移至今天附近（demo: October 2021 places, dates moved)"
# (place, level, days ago the area was listed)
RISK_AREAS = [
    ("内蒙古自治区阿拉善盟额济纳旗", "high", 12),
    ("甘肃省兰州市城关区", "medium", 9),
    ("宁夏回族自治区银川市兴庆区", "medium", 8),
    ("陕西省西安市雁塔区", "high", 10),
    ("北京市昌平区", "medium", 7),
    ("青海省西宁市城中区", "low", 6),
]
OTHER_ORIGINS = [
    "四川省成都市武侯区",
    "青海省西宁市城北区",
    "西藏自治区拉萨市城关区",
    "青海省海西蒙古族藏族自治州格尔木市",
]
NAMES = ["扎西", "才仁", "尼玛", "卓玛", "多杰", "拉毛", "旦增", "索南", "次仁", "格桑", "央金", "白玛"]


def seed_screening(*, users: dict[str, User], township_code: str, arrivals: int, seed: int) -> dict[str, int]:
    """Load the demo's screening data; returns counts for the seed report."""
    rng = random.Random(f"{seed}:screening")
    today = timezone.localdate()
    rows = [
        {
            "row": index,
            "place": place,
            "division_code": "",
            "level": level,
            "effective_from": today - datetime.timedelta(days=days),
            "lifted_at": None,
        }
        for index, (place, level, days) in enumerate(RISK_AREAS, start=2)
    ]
    report = risk_areas_load(actor=None, rows=rows, source_notice=NOTICE)
    township = users["township"]
    division = Division.objects.get(code=township_code)
    community = Division.objects.filter(parent_id=township_code).order_by("code").first() or division
    point_create(actor=township, kind=PointKind.COMMUNITY, name=f"{community.name}返乡人员自助登记", division=community)
    point_create(actor=township, kind=PointKind.CHECKPOINT, name=f"{division.name}入城检查站", division=division)
    campaign_create(
        actor=township,
        name=f"{division.name}全覆盖入户排查（演示）",
        division=division,
        date_from=today - datetime.timedelta(days=1),
        date_to=today + datetime.timedelta(days=6),
    )
    imported = _import_arrivals(township, township_code=township_code, count=arrivals, rng=rng, today=today)
    return {"risk_areas": report.created, "registration_points": 2, "campaigns": 1, "arrivals": imported}


def _import_arrivals(actor: User, *, township_code: str, count: int, rng: random.Random, today: datetime.date) -> int:
    addresses = list(
        Household.objects.filter(path__startswith=township_code)
        .order_by("code")
        .values_list("address", flat=True)[:400]
    )
    if not addresses or count <= 0:
        return 0
    risk_places = [place for place, _level, _days in RISK_AREAS]
    header = [
        "姓名",
        "身份证号",
        "手机号",
        "来源地",
        "抵达日期",
        "交通方式",
        "车次航班",
        "现住址",
        "健康码",
        "疫苗接种",
    ]
    data: list[list[Any]] = []
    for index in range(count):
        born = datetime.date(1950, 1, 1) + datetime.timedelta(days=rng.randint(0, 20000))
        body = f"632701{born:%Y%m%d}{rng.randint(0, 999):03d}"
        origin = rng.choice(risk_places) if index % 3 == 0 else rng.choice(OTHER_ORIGINS)
        data.append(
            [
                rng.choice(NAMES) + rng.choice(NAMES),
                body + resident_id_check_char(body),
                f"1{rng.choice('3456789')}{rng.randint(0, 999_999_999):09d}",
                origin,
                (today - datetime.timedelta(days=rng.randint(0, 5))).isoformat(),
                rng.choice(["火车", "飞机", "自驾", "大巴"]),
                f"Z{rng.randint(100, 9999)}",
                # the first households first, so the demo's `grid` account has arrivals of its own
                addresses[index % min(len(addresses), 12)] if index % 2 == 0 else rng.choice(addresses),
                "绿码",
                str(rng.randint(0, 3)),
            ]
        )
    with tempfile.TemporaryDirectory(prefix="firstline-demo-") as folder:
        path = Path(folder) / "演示返乡人员名单.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(data)
        _job, summary = import_file(actor=actor, path=path, dry_run=False, valid_only=True)
    return summary.created + summary.updated
