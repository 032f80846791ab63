"""The hotline's notification templates and its starting categories (the Open311 service list).

Creates what is missing and never overwrites what an operator has edited."""

from django.db import migrations

from yiwang.core.migration_helpers import seed_message_templates

LINK = "{{ site_url }}{{ url }}"
TEMPLATES = [
    ("hotline.dispatched", "热线工单派单(承办部门)", {
        "in_app": ("新的热线工单:{{ number }}", "{{ department_name }}收到 12345 热线工单“{{ title }}”,办结期限 {{ due_date }},请及时签收办理。"),
        "email": ("【一网】新的热线工单:{{ number }}", "{{ recipient_name }},您好:\n\n{{ department_name }}收到 12345 热线工单“{{ title }}”,办结期限 {{ due_date }}。\n\n查看工单:" + LINK),
    }),
    ("hotline.warning", "热线工单临近超期(承办部门)", {
        "in_app": ("热线工单临近超期:{{ number }}", "{{ department_name }}办理的热线工单“{{ title }}”已用去时限的 80% 以上,办结期限 {{ due_date }}。"),
    }),
    ("hotline.overdue", "热线工单已超期(承办部门、热线中心)", {
        "in_app": ("热线工单已超期:{{ number }}", "{{ department_name }}办理的热线工单“{{ title }}”已超过办结期限 {{ due_date }},请立即办理。"),
        "sms": ("热线工单已超期", "热线工单{{ number }}已超过办结期限{{ due_date }},请立即办理。"),
    }),
    ("hotline.supervised", "热线工单督办(部门负责人)", {
        "in_app": ("热线中心督办:{{ number }}", "热线中心对{{ department_name }}办理的工单“{{ title }}”发出督办:{{ note }}"),
        "sms": ("热线督办", "热线中心督办工单{{ number }}:{{ note }}"),
    }),
    ("hotline.replied", "热线工单已答复(诉求人)", {
        "in_app": ("您的诉求已答复:{{ number }}", "您反映的“{{ title }}”已有办理结果,请查看;热线将回访了解您的评价。"),
    }),
    ("hotline.hotspot", "未诉先办热点预警(责任部门)", {
        "in_app": ("热点预警:{{ terms }}", "近期{{ count }}件同类诉求集中在同一地点(关键词:{{ terms }}),请{{ department_name }}主动排查处置。"),
    }),
]

CATEGORIES = [
    # code, name, group, keywords, attributes
    ("noise", "噪声扰民", "城市管理", "噪音 噪声 施工 广场舞 装修", []),
    ("road", "道路设施损坏", "城市管理", "道路 路面 坑洼 井盖 路灯", [
        {"variable": True, "code": "hazard", "datatype": "singlevaluelist", "required": False,
         "datatype_description": "", "order": 1, "description": "是否影响通行安全",
         "values": [{"key": "yes", "name": "影响通行"}, {"key": "no", "name": "不影响通行"}]},
    ]),
    ("sanitation", "环境卫生", "城市管理", "垃圾 卫生 清运 污水 异味", []),
    ("water", "供水排水", "公用事业", "停水 水压 水管 漏水 积水", []),
    ("heating", "供暖", "公用事业", "暖气 供暖 不热 采暖", []),
    ("traffic", "交通出行", "交通", "公交 停车 拥堵 信号灯 出租车", []),
    ("market", "市场监管", "市场", "价格 食品 假冒 消费 商家", []),
    ("labour", "劳动就业", "人社", "工资 拖欠 社保 劳动 就业", []),
    ("social", "社会保障", "民政", "低保 养老 救助 残疾", []),
    ("education", "教育", "教育", "学校 入学 学位 培训", []),
    ("housing", "住房物业", "住建", "物业 电梯 房屋 漏雨", []),
    ("government", "政务服务", "政务服务", "办事 窗口 审批 办理 证照", []),
    ("other", "其他", "其他", "", []),
]


def seed(apps, schema_editor):
    seed_message_templates(apps, TEMPLATES)
    Category = apps.get_model("hotline", "Category")
    for code, name, group, keywords, attributes in CATEGORIES:
        Category.objects.get_or_create(
            code=code, defaults={"name": name, "group": group, "keywords": keywords, "attributes": attributes,
                                 "description": name}
        )


class Migration(migrations.Migration):
    dependencies = [
        ("hotline", "0001_tickets_rules_knowledge_hotspots_sensors"),
        ("messaging", "0002_seed_templates"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
