// A real OpenID provider (npm `oidc-provider`, v9) on 127.0.0.1 for attestgw's identity tests.
//
// Usage: node server.mjs --jwks FILE [--port N] [--audience URL]
//   --jwks      a JSON Web Key Set of PRIVATE signing keys (written by tests/oidc/fixture.py); restarting
//               with another file is how a test rotates the issuer's keys
//   --port      0 (default) picks a free port; a restart passes the same port so the issuer URL stays put
//   --audience  the resource server the access tokens are for (default http://gateway.test)
// Environment: OIDC_TEST_CLIENT_SECRET — the secret of every test client (generated per test session).
//
// It prints one JSON line {"issuer": "http://127.0.0.1:PORT"} on stdout once it accepts connections.
// Clients (client_credentials only; tokens are RFC 9068 JWTs for the audience):
//   attestgw-test   tenant "acme", groups ["researchers", "ops"], roles ["operator"]
//   attestgw-other  tenant "globex", no groups
//   attestgw-short  like attestgw-test, but its access tokens live 1 second (the expiry test)
// Resource indicators: <audience> signs with RS256, <audience>/ps256 with PS256 and <audience>/es256
// with ES256; all three carry aud = <audience>.
// This is test scaffolding: no interactions, no accounts, no persistence, loopback only.

import * as http from 'node:http';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    jwks: { type: 'string' },
    port: { type: 'string', default: '0' },
    audience: { type: 'string', default: 'http://gateway.test' },
  },
});
if (!args.jwks) {
  process.stderr.write('server.mjs: --jwks FILE is required\n');
  process.exit(2);
}
const secret = process.env.OIDC_TEST_CLIENT_SECRET;
if (!secret || secret.length < 32) {
  process.stderr.write('server.mjs: OIDC_TEST_CLIENT_SECRET (>= 32 characters) is required\n');
  process.exit(2);
}

const jwks = JSON.parse(readFileSync(args.jwks, 'utf8'));
const SCOPES = ['infer', 'attest', 'read_log', 'admin'];
const PROFILES = {
  'attestgw-test': { tenant: 'acme', groups: ['researchers', 'ops'], roles: ['operator'] },
  'attestgw-other': { tenant: 'globex', groups: [], roles: [] },
  'attestgw-short': { tenant: 'acme', groups: ['researchers'], roles: [] },
};
const ALG_BY_RESOURCE = {
  [args.audience]: 'RS256',
  [`${args.audience}/ps256`]: 'PS256',
  [`${args.audience}/es256`]: 'ES256',
};

// Listen first, so that a requested port of 0 is known before the issuer URL is fixed.
let handler = (_req, res) => {
  res.statusCode = 503;
  res.end();
};
const server = http.createServer((req, res) => handler(req, res));
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(Number(args.port), '127.0.0.1', resolve);
});
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  jwks,
  clients: Object.keys(PROFILES).map((clientId) => ({
    client_id: clientId,
    client_secret: secret,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: SCOPES.join(' '),
  })),
  scopes: ['openid', 'offline_access', ...SCOPES],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: false },
    revocation: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => args.audience,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resource, client) => {
        const alg = ALG_BY_RESOURCE[resource];
        if (!alg) throw new Provider.errors.InvalidTarget();
        return {
          audience: args.audience,
          scope: SCOPES.join(' '),
          accessTokenFormat: 'jwt',
          accessTokenTTL: client.clientId === 'attestgw-short' ? 1 : 600,
          jwt: { sign: { alg } },
        };
      },
    },
  },
  extraTokenClaims: (_ctx, token) => {
    const profile = PROFILES[token.clientId];
    if (!profile) return undefined;
    // Roles nested the way Keycloak does it, so the dotted claim-path configuration is exercised.
    return { tenant: profile.tenant, groups: profile.groups, realm_access: { roles: profile.roles } };
  },
  ttl: {
    ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 600,
  },
  enabledJWA: {
    authorizationSigningAlgValues: ['RS256', 'PS256', 'ES256'],
    idTokenSigningAlgValues: ['RS256', 'PS256', 'ES256'],
  },
});
provider.on('server_error', (_ctx, err) => process.stderr.write(`server_error: ${err.stack}\n`));
handler = provider.callback();

process.stdout.write(`${JSON.stringify({ issuer })}\n`);
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
