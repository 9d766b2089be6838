"""The provider presets as data, read by providers.resolve once at boot and dropped again.

A separate module because the table is only needed while resolving: providers imports it,
parses the one record the config names and removes the module from ``sys.modules``, so its
heap returns. One short string per preset (not one long table) so that loading it needs no
large contiguous block on a fragmented heap.

A record is space-separated: needs (comma-separated parameters), root ("host/path": {b} is
https://host/path, or base_url + "/path"), user-API host [",path under a base_url" (GHES:
/api/v3)] ({a}; api_base_url replaces it), device, token and who-am-I paths (under {b} unless
they start with {a}), default scope ("+" for spaces), "-" for none; then an optional JSON
[quirks, who-am-I headers]. {tenant}, {realm}, {domain} and {as} (Okta's authorization
server path) are filled from parameters.
"""

NAMES = "auth0 entra google github okta keycloak proxy generic"

auth0 = "domain {domain} - /oauth/device/code /oauth/token /userinfo \
openid+profile+email+offline_access"

entra = 'tenant login.microsoftonline.com/{tenant}/oauth2/v2.0 graph.microsoft.com /devicecode \
/token {a}/v1.0/me openid+profile+offline_access+User.Read [{"errors":{\
"authorization_declined":"access_denied","bad_verification_code":"expired_token",\
"interaction_required":"invalid_grant"}}]'

google = 'client_secret oauth2.googleapis.com openidconnect.googleapis.com /device/code /token \
{a}/v1/userinfo openid+profile+email [{"aliases":{"verification_url":"verification_uri"},\
"error_fields":["error","error_code"]}]'

github = '- github.com/login api.github.com,/api/v3 /device/code /oauth/access_token {a}/user \
read:user [{"headers":{"Accept":"application/json"},"errors":{"token_expired":\
"expired_token","incorrect_device_code":"expired_token","bad_refresh_token":"invalid_grant"},\
"slow_down_pad_ms":1000,"poll_pad_ms":1000},{"Accept":"application/vnd.github+json",\
"X-GitHub-Api-Version":"2022-11-28","User-Agent":"devicepair"}]'

okta = "domain {domain}{as} - /device/authorize /token /userinfo -"

keycloak = "base_url,realm /realms/{realm}/protocol/openid-connect - /auth/device /token \
/userinfo -"

proxy = 'base_url - - /device/code /device/token - - \
[{"complete_uri":"{verification_uri}?code={user_code}","errors":{"invalid_request":\
"invalid_grant"}}]'

generic = "- - - - - - -"
