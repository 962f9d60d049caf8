// Settings from the environment: where to listen, whom to trust, where the session lives.
// No secret is read from the environment: the bridge holds none (tokens come with each request).
import path from 'node:path';

export const AUDIENCE = 'whatsapp-bridge';
export const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export class ConfigError extends Error {}

export function loadConfig(env = process.env) {
    const host = env.WHATSAPP_BRIDGE_HOST || '127.0.0.1';
    if (!LOOPBACK.has(host) && env.WHATSAPP_BRIDGE_ALLOW_NETWORK !== 'true') {
        throw new ConfigError(
            `refusing to listen on ${host}: set WHATSAPP_BRIDGE_ALLOW_NETWORK=true for an internal network`,
        );
    }
    const port = Number.parseInt(env.WHATSAPP_BRIDGE_PORT || '3001', 10);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw new ConfigError('WHATSAPP_BRIDGE_PORT must be a port number');
    }
    const issuer = env.AEGIS_BROKER_ISSUER || 'http://127.0.0.1:8421';
    const jwksUrl = env.AEGIS_BROKER_JWKS_URL || `${issuer.replace(/\/$/, '')}/.well-known/jwks.json`;
    const dataDir = path.resolve(env.WHATSAPP_BRIDGE_DATA_DIR || 'data/whatsapp-bridge');
    const resources = (env.WHATSAPP_BRIDGE_RESOURCES || 'mcp:whatsapp')
        .split(',')
        .map((r) => r.trim())
        .filter(Boolean);
    return {
        host,
        port,
        issuer,
        jwksUrl: new URL(jwksUrl),
        resources,
        dataDir,
        chromium: env.WHATSAPP_BRIDGE_CHROMIUM || '/usr/bin/chromium',
    };
}
