"""The OpenID provider's patterns come second in the root URLconf (right after the API) so that
userinfo and the token endpoint are resolved without trying every page's pattern first. That is
only harmless while no other pattern answers one of its paths: checked here for every one."""

from django.urls import URLResolver, get_resolver
from django.urls.exceptions import Resolver404
from django.urls.resolvers import RegexPattern

from yiwang import urls as root
from yiwang.sso import urls as sso


def test_no_other_pattern_answers_an_oidc_path():
    others = [p for p in root.urlpatterns if getattr(p, "urlconf_name", None) is not sso]
    assert len(others) == len(root.urlpatterns) - 1  # the sso include is there, once
    without_sso = URLResolver(RegexPattern(r"^/"), others)
    paths = [str(p.pattern) for p in sso.urlpatterns]
    assert "oidc/userinfo/" in paths and all("<" not in p for p in paths)  # literal routes only
    for path in paths:
        try:
            match = without_sso.resolve("/" + path)
        except Resolver404:
            match = None
        assert match is None, f"/{path} is also answered by {match.view_name}"
        assert get_resolver().resolve("/" + path).namespace == "oauth2_provider"
