// A real OpenID Connect provider (node-oidc-provider) on loopback, for tests.
//
// Usage: node provider.mjs CONFIG.json
// CONFIG.json:
//   {
//     "port": 0,                      // 0: any free port (the ready line says which)
//     "host": "127.0.0.1",
//     "jwks": {"keys": [...]},        // private signing keys; the first of a type signs
//     "clients": [{"client_id": "...", "client_secret": "...",
//                  "grant_types": ["client_credentials"], ...}],
//     "resources": {"urn:lastmile:test": {"scope": "lastmile.call", "ttl_s": 300}},
//     "default_resource": "urn:lastmile:test",
//     "accounts": {"maria@idp": {"groups": ["lm-approvers"], "email": "maria@acme.example"}}
//   }
// With "accounts", a login name listed there gets those claims in its ID token (any
// other login name only "sub"), as a provider emitting a groups claim would.
// Prints one JSON line {"issuer": "http://127.0.0.1:PORT"} once listening; callers
// should still poll {issuer}/.well-known/openid-configuration before using it.
// Access tokens for the configured resources are JWTs (RFC 9068) signed with "jwks";
// a client_credentials token's "sub" is the client_id.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider, { errors } from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const host = config.host ?? '127.0.0.1';
const resources = config.resources ?? {};

const server = createServer();
server.listen(config.port ?? 0, host, () => {
  const { port } = server.address();
  const issuer = `http://${host}:${port}`;
  const accounts = config.accounts ?? {};
  const accountClaims = [...new Set(Object.values(accounts).flatMap((c) => Object.keys(c)))];
  const provider = new Provider(issuer, {
    clients: config.clients ?? [],
    ...(config.accounts ? {
      findAccount: (ctx, sub) => ({
        accountId: sub,
        claims: () => ({ ...(accounts[sub] ?? {}), sub }),
      }),
      claims: { openid: ['sub', ...accountClaims] },
      conformIdTokenClaims: false, // the claims in the ID token, not only at userinfo
    } : {}),
    jwks: config.jwks,
    scopes: ['openid', ...new Set(Object.values(resources).map((r) => r.scope).filter(Boolean))],
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: config.dev_interactions ?? true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => config.default_resource,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, indicator) => {
          const resource = resources[indicator];
          if (!resource) throw new errors.InvalidTarget();
          return {
            audience: indicator,
            scope: resource.scope ?? '',
            accessTokenTTL: resource.ttl_s ?? 300,
            accessTokenFormat: 'jwt',
          };
        },
      },
    },
  });
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
