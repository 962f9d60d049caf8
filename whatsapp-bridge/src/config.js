// Settings from the environment: where to listen, whom to trust, where the session lives.
// No secret is read from the environment: the bridge holds none (tokens come with each request).
// TLS: WHATSAPP_BRIDGE_TLS_CERT_FILE and WHATSAPP_BRIDGE_TLS_KEY_FILE name the certificate and key
// files (from the internal CA, deploy/make-ca.sh); with them the bridge serves HTTPS, TLS 1.3 only.
// Plain HTTP is for loopback alone (the embedded stack), never in production (AEGIS_MODE=production).
import fs from 'node:fs';
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
    const tls = tlsFiles(env);
    if (!tls && !LOOPBACK.has(host)) {
        throw new ConfigError(`refusing plain HTTP on ${host}: set WHATSAPP_BRIDGE_TLS_CERT_FILE and _KEY_FILE`);
    }
    if (!tls && env.AEGIS_MODE === 'production') {
        throw new ConfigError('production mode needs WHATSAPP_BRIDGE_TLS_CERT_FILE and WHATSAPP_BRIDGE_TLS_KEY_FILE');
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
        tls,
        issuer,
        jwksUrl: new URL(jwksUrl),
        resources,
        dataDir,
        chromium: env.WHATSAPP_BRIDGE_CHROMIUM || '/usr/bin/chromium',
    };
}

// The certificate and key files, both or neither (their contents are read at start, in app.js).
function tlsFiles(env) {
    const certFile = env.WHATSAPP_BRIDGE_TLS_CERT_FILE || '';
    const keyFile = env.WHATSAPP_BRIDGE_TLS_KEY_FILE || '';
    if (!certFile && !keyFile) return null;
    if (!certFile || !keyFile) {
        throw new ConfigError('set both WHATSAPP_BRIDGE_TLS_CERT_FILE and WHATSAPP_BRIDGE_TLS_KEY_FILE, or neither');
    }
    return { certFile: path.resolve(certFile), keyFile: path.resolve(keyFile) };
}

// The certificate and key themselves, for https.createServer; a missing or unreadable file is a
// ConfigError naming the file (never its contents).
export function loadTls({ certFile, keyFile }) {
    const read = (file) => {
        try {
            return fs.readFileSync(file);
        } catch (error) {
            throw new ConfigError(`cannot read ${file}: ${error.code || 'unreadable'}`);
        }
    };
    return { cert: read(certFile), key: read(keyFile) };
}
