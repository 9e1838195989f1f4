// panva's oidc-provider as the upstream OpenID Connect provider of the identity tests.
//
// Usage: node server.mjs CONFIG.json   (tests/support/oidc_provider.py writes the file and
// runs this with NODE_PATH at its npm cache folder). One process serves one provider per
// entry of CONFIG.providers, each on its own loopback port with issuer
// http://127.0.0.1:PORT:
//
//   {"providers": [{"port": 1234,
//                   "clients": [{"client_id": "...", "client_secret": "...",
//                                "redirect_uris": ["http://127.0.0.1:5678/login/upstream/x/callback"]}],
//                   "accounts": {"ursula": {"preferred_username": "ursula", "email": "...",
//                                           "email_verified": true, "given_name": "...",
//                                           "family_name": "..."}}}],
//    "cookieKeys": ["..."]}
//
// The sign-in page is oidc-provider's devInteractions (a login + password form, then a
// consent form); it takes any password, and the login names one of CONFIG's accounts. Prints
// "ready PORT" on stdout once each provider listens; SIGTERM stops it.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const requireApp = createRequire(join(process.env.OIDC_PROVIDER_HOME, 'package.json'));
const { default: Provider } = await import(pathToFileURL(requireApp.resolve('oidc-provider')).href);

function makeProvider(spec) {
  const issuer = `http://127.0.0.1:${spec.port}`;
  const accounts = spec.accounts;
  const provider = new Provider(issuer, {
    clients: spec.clients.map((c) => ({
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      ...c,
    })),
    cookies: { keys: config.cookieKeys },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['preferred_username', 'given_name', 'family_name', 'name'],
    },
    scopes: ['openid', 'email', 'profile'],
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    async findAccount(ctx, id) {
      if (!Object.hasOwn(accounts, id)) return undefined;
      return { accountId: id, async claims() { return { sub: id, ...accounts[id] }; } };
    },
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', ctx.path, err));
  return provider;
}

const servers = [];
for (const spec of config.providers) {
  const provider = makeProvider(spec);
  const server = provider.listen(spec.port, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  servers.push(server);
  console.log(`ready ${spec.port}`);
}
const stop = () => { for (const s of servers) s.close(); process.exit(0); };
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
