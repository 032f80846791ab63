"""A throwaway API, mounted only by test_api_errors.py, that fails in every way an endpoint can."""

from django.core.exceptions import PermissionDenied
from django.urls import path
from ninja import Field, Schema

from yiwang import urls as site_urls
from yiwang.core.api_errors import YiwangAPI
from yiwang.core.codes import validate_region_code
from yiwang.core.errors import Conflict, ValidationFailed
from yiwang.identity.auth import api_auth
from yiwang.identity.models import User

api = YiwangAPI(title="errors", urls_namespace="errors_test", docs_url=None)


class Address(Schema):
    city: str
    postcode: str = Field(pattern=r"^\d{6}$")


class Thing(Schema):
    name: str = Field(min_length=1, max_length=5)
    count: int = Field(ge=1)
    address: Address
    tags: list[int] = []


@api.post("/things")
def create_thing(request, payload: Thing):
    return {"name": payload.name}


@api.get("/boom")
def boom(request):
    raise RuntimeError("secret detail: password=hunter2")


@api.get("/conflict")
def conflict(request):
    raise Conflict(code="case_already_accepted")


@api.get("/denied")
def denied(request):
    raise PermissionDenied


@api.get("/missing-row")
def missing_row(request):
    return {"id": User.objects.get(pk=-1).pk}


@api.get("/service-refuses")
def service_refuses(request):
    raise ValidationFailed(fields={"region_code": ["行政区划代码 329999 不存在"]})


@api.get("/unchecked-code")
def unchecked_code(request):
    return {"code": validate_region_code("12ab")}


@api.get("/private", auth=api_auth)
def private(request):
    return {"ok": True}


@api.post("/private", auth=api_auth)
def private_write(request):
    return {"ok": True}


# The site's own routes too: middleware reverses them (sign-in page, MFA).
urlpatterns = [path("api/test/", api.urls), *site_urls.urlpatterns]
