"""Word pools for the demo city: people's names, enterprise names, village names.

Every pool is a tuple (ordered), never a set, so a seeded ``random.Random`` picks the
same items in every process regardless of ``PYTHONHASHSEED``.
"""

import random

# The most common surnames, roughly in order of frequency; repeated entries weight the draw.
SURNAMES = (
    "王王王李李李张张张刘刘陈陈杨杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董"
    "袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷"
    "侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛")

MALE_GIVEN = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宁浩凯健俊帆帅旭宇晨龙振国建文志东海峰亮"
FEMALE_GIVEN = "芳娜敏静丽艳娟霞秀玲桂英华燕萍红琳丹雪慧颖婷倩琪璐瑶佳欣怡悦蕾薇晶妍洁梅兰"
NEUTRAL_GIVEN = "子佳晓嘉思雨欣一明文春秋云安宏立新永玉"


def person_name(rng: random.Random, gender: str) -> str:
    """A plausible Chinese name: a surname and one or two given characters."""
    surname = rng.choice(COMPOUND_SURNAMES) if rng.random() < 0.02 else rng.choice(SURNAMES)
    pool = MALE_GIVEN if gender == "male" else FEMALE_GIVEN
    if rng.random() < 0.35:
        return surname + rng.choice(pool)
    return surname + rng.choice(NEUTRAL_GIVEN + pool) + rng.choice(pool)


# 字号 (trade names) and 行业 (industries) for fictional enterprises: 示范市<字号><行业>有限公司.
TRADE_NAMES = (
    "瑞丰",
    "鑫源",
    "华通",
    "恒泰",
    "嘉禾",
    "同福",
    "安康",
    "宏远",
    "金穗",
    "明德",
    "和顺",
    "润泽",
    "长青",
    "永兴",
    "汇众",
    "天禾",
    "佳美",
    "诚信",
    "百川",
    "欣悦",
)
INDUSTRIES = (
    ("餐饮管理", "有限公司"),
    ("商贸", "有限公司"),
    ("建筑工程", "有限公司"),
    ("物流", "有限公司"),
    ("信息科技", "有限公司"),
    ("农业开发", "有限公司"),
    ("食品", "有限责任公司"),
    ("医药连锁", "有限公司"),
    ("家政服务", "有限公司"),
    ("文化传媒", "有限公司"),
    ("机械制造", "有限公司"),
    ("旅游开发", "有限公司"),
)

# Stems for village and community names (…村民委员会, …社区居民委员会).
VILLAGE_STEMS = (
    "杨家庄",
    "王家沟",
    "李家湾",
    "桃园",
    "柳林",
    "河西",
    "东坡",
    "石桥",
    "枣园",
    "马家堡",
    "红星",
    "高家岭",
    "白杨",
    "青龙",
    "槐树",
    "上河",
    "下河",
    "南庄",
    "北堡",
    "新庄",
    "张家塬",
    "孙家坪",
    "杏树湾",
    "双泉",
)
COMMUNITY_STEMS = (
    "滨河",
    "文昌",
    "明湖",
    "幸福里",
    "康乐",
    "和平",
    "新华",
    "金台",
    "育才",
    "锦绣",
    "朝阳",
    "建设",
    "民主",
    "友谊",
    "翠苑",
    "书香",
)
