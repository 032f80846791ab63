"""Issue #18: the dataset page draws a chart of its preview rows with the ECharts the app serves
itself (the npm package's file; no CDN), from a json_script block (no inline script)."""

import json
import re

from yiwang.opendata.selectors import preview_chart


def test_the_dataset_page_charts_its_preview_rows(world, client):
    html = client.get("/opendata/datasets/enterprises-by-district/").content.decode()
    assert "/static/evaluation/vendor/echarts.min.js" in html and "/static/opendata/chart.js" in html
    assert "cdn" not in html.lower() and "<script>" not in html
    data = json.loads(re.search(r'<script id="od-chart-data" type="application/json">(.*?)</script>', html).group(1))
    assert data["categories"] == ["姑苏区 · 2025", "吴中区 · 2025", "高新区 · 2025"]  # the year labels, not a bar
    assert data["series"] == [{"name": "企业数", "data": [120, 98, 143]}]
    assert 'id="od-chart"' in html and 'role="img"' in html  # the table beside it has the numbers
    assert client.get("/static/opendata/chart.js").status_code == 200


def test_a_dataset_the_visitor_may_not_read_has_no_chart(world, client):
    html = client.get("/opendata/datasets/population-by-region/").content.decode()
    assert "od-chart" not in html and "echarts.min.js" not in html


def test_no_chart_without_a_numeric_column_or_rows():
    text_only = [{"id": "区县", "type": "text"}, {"id": "说明", "type": "text"}]
    assert preview_chart(fields=text_only, rows=[{"区县": "姑苏区", "说明": "—"}]) is None
    assert preview_chart(fields=[{"id": "数量", "type": "int"}], rows=[]) is None
    chart = preview_chart(
        fields=[{"id": "区县", "type": "text"}, {"id": "面积", "type": "numeric"}],
        rows=[{"区县": "姑苏区", "面积": 83.4}, {"区县": "", "面积": None}],
    )
    assert chart == {"categories": ["姑苏区", "2"], "series": [{"name": "面积", "data": [83.4, None]}]}
