"""The OpenAPI document is derived once per process (pydantic takes seconds for ~1,300 models)
and each caller gets a copy of its own."""

import pytest
from django.test import Client
from django.utils import translation

from yiwang.api import api


def test_document_is_built_once_and_each_caller_gets_its_own_copy():
    first = api.get_openapi_schema()
    cached = dict(api._openapi_cache)
    second = api.get_openapi_schema()
    assert api._openapi_cache == cached and all(api._openapi_cache[k] is cached[k] for k in cached)
    assert second == first and second is not first
    second["paths"].clear()  # a caller that edits its copy changes nothing for the next
    assert api.get_openapi_schema()["paths"] == first["paths"]
    assert type(first) is dict  # not ninja's OpenAPISchema, which holds the API itself


@pytest.mark.django_db
def test_served_document_is_the_cached_one():
    with translation.override("zh-hans"):
        expected = api.get_openapi_schema()
    served = Client().get("/api/v1/openapi.json", headers={"Accept-Language": "zh-hans"}).json()
    assert served["paths"].keys() == expected["paths"].keys()
    assert served["components"]["schemas"].keys() == expected["components"]["schemas"].keys()
