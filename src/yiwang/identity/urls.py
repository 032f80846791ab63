from django.urls import path

from yiwang.identity import delegation_views, views

app_name = "identity"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("sign-out-everywhere/", views.sign_out_everywhere_view, name="sign_out_everywhere"),
    path("password/", views.password_change_view, name="password_change"),
    path("activate/", views.activate_view, name="activate"),
    path("tokens/", views.tokens_view, name="tokens"),
    path("mfa/verify/", views.mfa_verify_view, name="mfa_verify"),
    path("mfa/setup/", views.mfa_setup_view, name="mfa_setup"),
    path("mfa/disable/", views.mfa_disable_view, name="mfa_disable"),
    path("real-name/", views.real_name_view, name="real_name"),
    # 授权代办 and 帮办 (identity.delegation_views)
    path("delegations/", delegation_views.delegations_view, name="delegations"),
    path("delegations/<int:delegation_id>/", delegation_views.delegation_agent_view, name="delegation_agent"),
    path("delegations/<int:delegation_id>/revoke/", delegation_views.delegation_revoke_view, name="delegation_revoke"),
    path(
        "delegations/<int:delegation_id>/cases/<int:case_id>/",
        delegation_views.delegation_case_view,
        name="delegation_case",
    ),
    path(
        "delegations/<int:delegation_id>/cases/<int:case_id>/supplement/",
        delegation_views.delegation_case_supplement_view,
        name="delegation_case_supplement",
    ),
    path(
        "delegations/<int:delegation_id>/cases/<int:case_id>/withdraw/",
        delegation_views.delegation_case_withdraw_view,
        name="delegation_case_withdraw",
    ),
    path("assist/", delegation_views.assist_citizen_view, name="assist"),
]
