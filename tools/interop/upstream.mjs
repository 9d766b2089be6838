// An authorization-code + PKCE upstream for the device-flow proxy tests (tools/deviceproxy):
// panva's oidc-provider with NO device flow, the way a maker's in-house server or a SaaS looks.
//
//   node tools/interop/upstream.mjs [PORT [ACCESS_TOKEN_TTL]]   (port 0 or none: a free port;
//   the access token lifetime in s, default 3600: short ones make a client refresh soon)
//
// Listens on 127.0.0.1 only; the first stdout line is "oidc-provider upstream listening on URL".
// One confidential client, deviceproxy / deviceproxy-test-secret (client_secret_basic; a
// test-only secret, never a real one), grants authorization_code + refresh_token, and a
// native-application loopback redirect URI http://127.0.0.1/auth/redirect: oidc-provider
// accepts it on any port (RFC 8252 7.3), so the proxy can listen on a dynamic port.
// offline_access yields a refresh token when the proxy asks with prompt=consent (OIDC Core 11).
// Any login/password is accepted by the dev pages (features.devInteractions): test use only;
// "[ Cancel ]" on them sends error=access_denied back to the proxy.
// The interop server for the device flow itself is server.mjs beside this file.
import http from 'node:http';

import Provider from 'oidc-provider';

const port = Number(process.argv[2] || 0);
const accessTtl = Number(process.argv[3] || 3600);
const server = http.createServer();

server.listen(port, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: 'deviceproxy',
      client_secret: 'deviceproxy-test-secret',
      application_type: 'native',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/auth/redirect'],
    }],
    features: {
      devInteractions: { enabled: true },
      revocation: { enabled: true },
    },
    pkce: { required: () => true },
    scopes: ['openid', 'profile', 'offline_access'],
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'] },
    async findAccount(ctx, sub) {
      return {
        accountId: sub,
        async claims() {
          return { sub, name: 'Upstream User', preferred_username: sub };
        },
      };
    },
    cookies: { keys: ['devicepair-upstream-test-only'] },
    ttl: { AuthorizationCode: 60, AccessToken: accessTtl, IdToken: 3600, RefreshToken: 86400,
      Grant: 86400, Interaction: 600, Session: 3600 },
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  server.on('request', provider.callback());
  console.log(`oidc-provider upstream listening on ${issuer}`);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections(); // browsers keep connections alive
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
