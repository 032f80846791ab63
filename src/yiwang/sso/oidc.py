"""django-oauth-toolkit's validator, shaped by Yiwang's rules (docs/sso.md):

* redirect URIs match exactly (no loopback port or query leniency);
* a client asks only for the scopes the security admin allowed it; a deactivated client is unknown;
* ``sub`` is an opaque keyed digest, the same for every client or per client (pairwise);
* phone and 身份证号 only with their own scopes, masked unless the client was granted full values,
  and never inside the ID token (a JWT travels through browsers): userinfo only;
* an enterprise agent's enterprise (统一社会信用代码 and name) with the ``enterprise`` scope;
* with the ``delegation`` scope, ``delegations``: whom the user may act for now as an agent
  (授权代办), persons masked; userinfo only.
"""

from oauth2_provider.oauth2_validators import OAuth2Validator

from yiwang.sso import selectors

# Claim → the scope that releases it (DOT filters the claims with it).
CLAIM_SCOPES = {
    "sub": "openid",
    "name": "profile",
    "preferred_username": "profile",
    "user_kind": "profile",
    "real_name_level": "profile",
    "phone_number": "phone",
    "phone_number_masked": "phone",
    "id_number": "id_number",
    "id_number_masked": "id_number",
    "enterprise_uscc": "enterprise",
    "enterprise_name": "enterprise",
    "delegations": "delegation",
}
# Personal data: in userinfo (fetched with the access token over TLS), never in the ID token.
USERINFO_ONLY = frozenset({"phone_number", "phone_number_masked", "id_number", "id_number_masked", "delegations"})


class YiwangValidator(OAuth2Validator):
    oidc_claim_scope = CLAIM_SCOPES

    def _load_application(self, client_id, request):
        client = super()._load_application(client_id, request)
        if client is not None and not selectors.client_is_active(application=client):
            request.client = None
            return None
        return client

    def validate_redirect_uri(self, client_id, redirect_uri, request, *args, **kwargs):
        return redirect_uri in request.client.redirect_uris.split()

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs):
        if not super().validate_scopes(client_id, scopes, client, request, *args, **kwargs):
            return False
        return set(scopes) <= selectors.client_allowed_scopes(application=client)

    def get_additional_claims(self, request):
        return {}

    def get_claim_dict(self, request):
        return selectors.claims_for(user=request.user, application=request.client)

    def get_discovery_claims(self, request):
        return list(CLAIM_SCOPES)

    def get_id_token_dictionary(self, token, token_handler, request):
        claims, expiration_time = super().get_id_token_dictionary(token, token_handler, request)
        for name in USERINFO_ONLY:
            claims.pop(name, None)
        return claims, expiration_time
