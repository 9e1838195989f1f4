// A relying party written with panva's openid-client (npm), as docs/oidc.md shows it.
// Two steps, so that a person can sign in in between (the test drives Chromium):
//   node openid_client_rp.mjs start  ISSUER CLIENT_ID CLIENT_SECRET REDIRECT_URI
//   node openid_client_rp.mjs finish ISSUER CLIENT_ID CLIENT_SECRET REDIRECT_URI CALLBACK_URL STATE_JSON
// Prints one JSON object. OPENID_CLIENT may name the package's entry file (tests).
import { pathToFileURL } from "node:url";

const client = await import(
  process.env.OPENID_CLIENT ? pathToFileURL(process.env.OPENID_CLIENT).href : "openid-client"
);
const [step, issuer, clientId, clientSecret, redirectUri, callbackUrl, stateJson] =
  process.argv.slice(2);

// Discovery is all the configuration: endpoints, JWKS, algorithms come from the issuer.
const options = issuer.startsWith("http://") ? { execute: [client.allowInsecureRequests] } : {};
const config = await client.discovery(new URL(issuer), clientId, clientSecret, undefined, options);

if (step === "start") {
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: "openid profile email",
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: "S256",
    state,
    nonce,
  });
  console.log(JSON.stringify({ url: url.href, codeVerifier, state, nonce }));
} else {
  const saved = JSON.parse(stateJson);
  const tokens = await client.authorizationCodeGrant(config, new URL(callbackUrl), {
    pkceCodeVerifier: saved.codeVerifier,
    expectedState: saved.state,
    expectedNonce: saved.nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  console.log(JSON.stringify({ claims, userinfo, refreshed: Boolean(refreshed.access_token) }));
}
