// A second, independent RFC 8628 server for the end-to-end tests: panva's oidc-provider
// (OpenID Certified) with the device flow and its development login/consent pages.
//
//   node tools/interop/server.mjs [PORT]      (0 or none: a free port)
//
// Listens on 127.0.0.1 only; the first stdout line is "oidc-provider listening on URL".
// One public client, devicepair-sim (no secret; device_code + refresh_token grants), scopes
// openid profile offline_access: offline_access yields a refresh token (oidc-provider's rule;
// the device authorization endpoint takes no prompt, so no prompt=consent is needed there).
// Any login/password is accepted by the dev pages (features.devInteractions): test use only.
// It sends no `interval` in the device authorization response: clients use 5 s (RFC 8628).
import http from 'node:http';

import Provider from 'oidc-provider';

const port = Number(process.argv[2] || 0);
const server = http.createServer();

server.listen(port, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: 'devicepair-sim',
      token_endpoint_auth_method: 'none',
      grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
      response_types: [],
      redirect_uris: [],
    }],
    features: {
      deviceFlow: { enabled: true },
      devInteractions: { enabled: true },
      revocation: { enabled: true },
    },
    scopes: ['openid', 'profile', 'offline_access'],
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'] },
    async findAccount(ctx, sub) {
      return {
        accountId: sub,
        async claims() {
          return { sub, name: 'Interop User', preferred_username: sub };
        },
      };
    },
    cookies: { keys: ['devicepair-interop-test-only'] },
    ttl: { DeviceCode: 600, AccessToken: 3600, IdToken: 3600, RefreshToken: 86400,
      Grant: 86400, Interaction: 600, Session: 3600 },
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  server.on('request', provider.callback());
  console.log(`oidc-provider listening on ${issuer}`);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections(); // browsers keep connections alive
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
