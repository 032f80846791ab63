"""An app contributes panels with a plain ``panels`` module, found at start-up."""

import types

from yiwang.analytics import registry


def test_an_apps_panels_module_is_discovered(monkeypatch):
    module = types.ModuleType("yiwang.hotline.panels")
    module.INDICATORS = [{"code": "hotline.test_lights", "label": "重点任务", "unit": "项", "snapshot": True}]
    module.PANELS = [
        {
            "code": "hotline_test_lights",
            "title": "重点任务红黄绿灯",
            "indicators": ["hotline.test_lights"],
            "chart": "pie",
            "period": "snapshot",
            "drill": ("workbench:home", (), {}),
            "by_dimension": True,
            "order": 70,
        }
    ]

    def collect(*, since, until, today):
        yield {
            "indicator": "hotline.test_lights",
            "dimension": "red",
            "department_id": None,
            "region_code": "",
            "day": today,
            "numerator": 2,
            "denominator": None,
        }

    module.collect = collect
    real_find, real_import = registry.importlib.util.find_spec, registry.importlib.import_module
    monkeypatch.setattr(
        registry.importlib.util, "find_spec", lambda name: object() if name == module.__name__ else real_find(name)
    )
    monkeypatch.setattr(
        registry.importlib, "import_module", lambda name: module if name == module.__name__ else real_import(name)
    )
    monkeypatch.setattr(registry, "_discovered", False)
    monkeypatch.setattr(registry, "_indicators", {})
    monkeypatch.setattr(registry, "_panels", {})
    monkeypatch.setattr(registry, "_collectors", {})

    panel = registry.panel("hotline_test_lights")
    assert panel is not None and panel.app == "hotline" and panel.indicators == ("hotline.test_lights",)
    assert registry.indicator("hotline.test_lights").snapshot
    assert registry.collectors()["hotline"] is collect
    assert registry.panel("cases_volume") is not None  # the built-in ones still there
    assert [p.code for p in registry.panels()].index("hotline_test_lights") > 0
