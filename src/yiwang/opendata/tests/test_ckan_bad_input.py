"""Bad input to every CKAN action is a CKAN error with a 4xx status, never a 500."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yiwang.opendata.ckan import ACTIONS

pytestmark = pytest.mark.django_db

WEIRD = [
    "",
    "-1",
    "abc",
    "1e309",
    "99999999999999999999",
    '"',
    "(",
    "*:*",
    "[1, 2]",
    '{"a": 1}',
    '["organization"',
    "null",
    "tags:",
    ":x",
    'name:"a b" OR x',
    "不存在",
    "00000000-0000-0000-0000-000000000000",
    "_id desc",
    "x desc desc",
]
PARAMS = [
    "q",
    "fq",
    "rows",
    "start",
    "sort",
    "facet.field",
    "facet.limit",
    "id",
    "resource_id",
    "filters",
    "limit",
    "offset",
    "fields",
    "all_fields",
    "include_datasets",
    "query",
    "fq_list",
]


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_each_weird_parameter_value_is_answered_without_a_server_error(world, client, action):
    resource_id = str(world.open_dataset.distributions.get().pk)
    for name in PARAMS:
        for value in WEIRD:
            params = {name: value}
            if action == "datastore_search" and name != "resource_id":
                params["resource_id"] = resource_id
            response = client.get(f"/api/3/action/{action}", params)
            assert response.status_code in (200, 400, 403, 404, 409), (action, params, response.status_code)
            body = response.json()
            assert body["success"] is (response.status_code == 200), (action, params)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.sampled_from(PARAMS), c, max_size=4),
        max_leaves=8,
    )
)
def test_any_json_body_is_answered_without_a_server_error(world, client, body):
    for action in ("package_search", "datastore_search", "package_show", "tag_list"):
        response = client.post(f"/api/action/{action}", data=json.dumps(body), content_type="application/json")
        assert response.status_code in (200, 400, 403, 404, 409), (action, body, response.content[:200])
