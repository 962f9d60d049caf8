// A broker stand-in for the Node tests: an ES256 key, its JWKS served on loopback, and tokens
// shaped like broker/tokens.py mints them (header {alg, typ: "at+jwt", kid}; RFC 9068 claims).
import { randomUUID } from 'node:crypto';
import http from 'node:http';

import { SignJWT, exportJWK, generateKeyPair } from 'jose';

export const ISSUER = 'http://broker.test';

export async function newKey(kid) {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
    return { kid, privateKey, jwk };
}

export async function serveJwks(keys) {
    const server = http.createServer((req, res) => {
        server.hits = (server.hits || 0) + 1;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ keys: keys.map((k) => k.jwk) }));
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = new URL(`http://127.0.0.1:${server.address().port}/.well-known/jwks.json`);
    return { server, url, close: () => new Promise((resolve) => server.close(resolve)) };
}

export async function mint(key, overrides = {}, header = {}) {
    const now = Math.floor(Date.now() / 1000);
    const claims = {
        iss: ISSUER,
        sub: 'mcp-whatsapp',
        client_id: 'mcp-whatsapp',
        aud: 'whatsapp-bridge',
        scope: 'whatsapp.read whatsapp.send whatsapp.status whatsapp.pair',
        resource: 'mcp:whatsapp',
        jti: randomUUID(),
        iat: now,
        nbf: now,
        exp: now + 300,
        ...overrides,
    };
    for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
    return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: key.kid, ...header }).sign(key.privateKey);
}
