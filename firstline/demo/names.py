"""Name pools for the synthetic demo city.

Tibetan names in Yushu have no surname and repeat heavily (扎西, 才仁, 卓玛 …); many are two common names joined
(扎西多杰, 才仁卓玛). Han and Hui names have a surname. Pools are ordered from most to least common: the
generator weights them with a Zipf-like curve, so the first entries dominate as they do in real registers.
"""

from __future__ import annotations

from typing import Final

# Common first parts of Tibetan names, used for both sexes.
TIBETAN_COMMON: Final = (
    "扎西",
    "才仁",
    "尼玛",
    "索南",
    "旦增",
    "格桑",
    "达瓦",
    "次仁",
    "仁青",
    "公保",
    "更尕",
    "昂文",
    "江才",
    "求培",
    "巴桑",
    "洛桑",
    "土登",
    "尕玛",
    "久美",
    "桑杰",
)

TIBETAN_MALE: Final = (
    "多杰",
    "扎西",
    "尼玛",
    "才仁",
    "索南",
    "旦增",
    "达瓦",
    "公保",
    "仁青",
    "文德",
    "巴丁",
    "江措",
    "才旦",
    "周加",
    "松保",
    "丹巴",
    "布周",
    "永丁",
    "昂江",
    "拉加",
)

TIBETAN_FEMALE: Final = (
    "卓玛",
    "拉毛",
    "求吉",
    "央金",
    "措姆",
    "才仁",
    "尼玛",
    "白玛",
    "德吉",
    "旦措",
    "永措",
    "巴毛",
    "拉措",
    "曲珍",
    "卓嘎",
    "吉毛",
    "然毛",
    "梅朵",
    "周措",
    "文毛",
)

HAN_SURNAMES: Final = (
    "王",
    "李",
    "张",
    "刘",
    "陈",
    "杨",
    "赵",
    "黄",
    "周",
    "吴",
    "徐",
    "孙",
    "胡",
    "朱",
    "高",
    "林",
    "何",
    "郭",
    "罗",
    "郑",
    "梁",
    "谢",
    "宋",
    "唐",
    "许",
    "韩",
    "冯",
    "邓",
    "曹",
    "彭",
)

# Hui families in Qinghai: 马 is by far the most common surname.
HUI_SURNAMES: Final = ("马", "韩", "冶", "喇", "沈", "白", "穆", "何")

HAN_GIVEN_MALE: Final = (
    "伟",
    "强",
    "磊",
    "军",
    "勇",
    "杰",
    "涛",
    "明",
    "超",
    "斌",
    "建国",
    "志强",
    "海军",
    "文斌",
    "俊杰",
    "浩然",
    "子轩",
    "宇航",
    "国庆",
    "德福",
)

HAN_GIVEN_FEMALE: Final = (
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "艳",
    "霞",
    "娟",
    "燕",
    "玲",
    "秀英",
    "桂兰",
    "丽华",
    "晓燕",
    "欣怡",
    "梓涵",
    "雨萱",
    "海燕",
    "春梅",
    "淑珍",
)

# Same-sounding variants people type when registering someone twice (扎西多杰 / 扎西多吉).
HOMOPHONES: Final = {
    "杰": "吉",
    "吉": "杰",
    "玛": "马",
    "毛": "茂",
    "措": "错",
    "仁": "任",
    "西": "喜",
    "才": "财",
    "尼": "妮",
    "珍": "真",
    "金": "今",
    "丁": "顶",
    "加": "家",
    "保": "宝",
    "德": "得",
    "文": "闻",
    "明": "铭",
    "伟": "玮",
    "芳": "方",
    "静": "晶",
}

# Summer/winter pastures of herding households: invented place names, marked as such.
PASTURES: Final = (
    "夏季牧场·查拉沟（虚构）",
    "夏季牧场·扎曲河谷（虚构）",
    "夏季牧场·通天河北岸（虚构）",
    "夏季牧场·巴颜喀拉南麓（虚构）",
    "冬季牧场·隆宝滩（虚构）",
    "冬季牧场·拉秀沟（虚构）",
    "冬季牧场·仲达河谷（虚构）",
)

DEDICATED_INSTITUTION: Final = "玉树市第一完全小学（虚构）"

# Ethnic groups seen in Yushu registers besides 藏族/汉族/回族.
OTHER_ETHNICITIES: Final = ("土族", "撒拉族", "蒙古族")


def zipf_cum_weights(count: int, exponent: float = 0.9) -> list[float]:
    """Cumulative Zipf weights for a pool of ``count`` names (for ``random.choices(cum_weights=...)``)."""
    total = 0.0
    result: list[float] = []
    for rank in range(1, count + 1):
        total += 1.0 / rank**exponent
        result.append(total)
    return result


def similar_name(name: str) -> str:
    """A look-alike of ``name`` (one character swapped for a homophone), as a second registration would have."""
    for index in range(len(name) - 1, -1, -1):
        variant = HOMOPHONES.get(name[index])
        if variant:
            return name[:index] + variant + name[index + 1 :]
    return name  # no homophone known: the same name typed twice is the commonest duplicate anyway
