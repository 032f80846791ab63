"""The OpenID provider's endpoints, mounted at the site root: discovery at
/.well-known/openid-configuration (so the issuer is the site itself), the rest under /oidc/.
The namespace is django-oauth-toolkit's, whose views reverse these names."""

from django.urls import path
from oauth2_provider import views as dot

from yiwang.sso import views

app_name = "oauth2_provider"
guarded = views.refuse_malformed_authorization
urlpatterns = [
    path(".well-known/openid-configuration", views.DiscoveryView.as_view(), name="oidc-connect-discovery-info"),
    path("oidc/jwks.json", dot.JwksInfoView.as_view(), name="jwks-info"),
    path("oidc/authorize/", guarded(views.AuthorizeView.as_view()), name="authorize"),
    path("oidc/token/", guarded(dot.TokenView.as_view()), name="token"),
    path("oidc/revoke/", guarded(dot.RevokeTokenView.as_view()), name="revoke-token"),
    path("oidc/introspect/", guarded(views.IntrospectView.as_view()), name="introspect"),
    path("oidc/userinfo/", guarded(views.UserInfoView.as_view()), name="user-info"),
    path("oidc/logout/", guarded(views.LogoutView.as_view()), name="rp-initiated-logout"),
]
