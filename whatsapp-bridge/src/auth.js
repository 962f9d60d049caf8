// Every request carries a broker access token (RFC 9068, ES256, typ at+jwt), checked here against
// the broker's JWKS: signature, typ, iss, aud (exactly "whatsapp-bridge"), exp/nbf, the resource
// claim and the route's scope. No token, no answer.
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';

import { AUDIENCE } from './config.js';

export const SCOPES = Object.freeze({
    status: 'whatsapp.status',
    read: 'whatsapp.read',
    send: 'whatsapp.send',
    pair: 'whatsapp.pair',
});
const MAX_LIFETIME = 1800;
const MAX_TOKEN_LENGTH = 8192;

export class AuthError extends Error {
    constructor(status, code, message) {
        super(message);
        this.status = status;
        this.code = code;
    }
}

// keys: a jose key-resolver function (createRemoteJWKSet / createLocalJWKSet).
export function makeVerifier({ keys, issuer, resources, clockTolerance = 5, now = () => Date.now() }) {
    return async function verify(authorization, requiredScope) {
        if (typeof authorization !== 'string' || !authorization.startsWith('Bearer ')) {
            throw new AuthError(401, 'missing_token', 'a bearer token is required');
        }
        const token = authorization.slice('Bearer '.length).trim();
        if (!token || token.length > MAX_TOKEN_LENGTH) {
            throw new AuthError(401, 'invalid_token', 'the token is malformed');
        }
        let payload;
        try {
            ({ payload } = await jwtVerify(token, keys, {
                algorithms: ['ES256'],
                typ: 'at+jwt',
                issuer,
                audience: AUDIENCE,
                requiredClaims: ['exp', 'iat', 'nbf', 'jti', 'sub', 'client_id', 'scope', 'resource'],
                maxTokenAge: MAX_LIFETIME,
                clockTolerance,
                currentDate: new Date(now()),
            }));
        } catch (error) {
            throw new AuthError(401, 'invalid_token', reason(error));
        }
        if (!Number.isInteger(payload.exp) || !Number.isInteger(payload.iat) || payload.exp - payload.iat > MAX_LIFETIME) {
            throw new AuthError(401, 'invalid_token', 'the token lifetime is not accepted');
        }
        if (Array.isArray(payload.aud) && payload.aud.length !== 1) {
            throw new AuthError(401, 'invalid_token', 'the token must name exactly one audience');
        }
        if (typeof payload.resource !== 'string' || !resources.includes(payload.resource)) {
            throw new AuthError(403, 'wrong_resource', 'the token is not for this integration');
        }
        const granted = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
        if (!granted.includes(requiredScope)) {
            throw new AuthError(403, 'insufficient_scope', `the token lacks scope ${requiredScope}`);
        }
        return payload;
    };
}

export function remoteKeys(jwksUrl) {
    return createRemoteJWKSet(jwksUrl, { cooldownDuration: 30_000, cacheMaxAge: 600_000, timeoutDuration: 5000 });
}

// A short reason without token material, for the 401 body.
function reason(error) {
    if (error instanceof errors.JWTExpired) return 'the token has expired';
    if (error instanceof errors.JWTClaimValidationFailed) return `the token's ${error.claim} claim is not accepted`;
    if (error instanceof errors.JWKSNoMatchingKey) return 'the token was not signed by the broker';
    if (error instanceof errors.JWSSignatureVerificationFailed) return 'the token signature is invalid';
    if (error instanceof errors.JOSEAlgNotAllowed) return 'the token algorithm is not accepted';
    if (error instanceof errors.JWKSTimeout || error?.code === 'ERR_JOSE_GENERIC') {
        return 'the broker key set is unavailable';
    }
    return 'the token is invalid';
}
