# The WhatsApp bridge (whatsapp-bridge/): Node 20 and Debian's chromium, no browser download.
# Base image pinned by digest (refresh: docker buildx imagetools inspect node:20-bookworm-slim).
FROM docker.io/library/node:20-bookworm-slim@sha256:2cf067cfed83d5ea958367df9f966191a942351a2df77d6f0193e162b5febfc0
RUN apt-get update \
    && apt-get install -y --no-install-recommends chromium fonts-liberation ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10003 bridge \
    && useradd --system --uid 10003 --gid bridge --no-create-home bridge \
    && install -d -o 10003 -g 10003 -m 0700 /var/lib/whatsapp-bridge
WORKDIR /app
COPY whatsapp-bridge/package.json whatsapp-bridge/package-lock.json ./
# The lock file pins every package; no install scripts, no browser download.
RUN PUPPETEER_SKIP_DOWNLOAD=true npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY whatsapp-bridge/src ./src
ENV NODE_ENV=production WHATSAPP_BRIDGE_CHROMIUM=/usr/bin/chromium WHATSAPP_BRIDGE_DATA_DIR=/var/lib/whatsapp-bridge
USER 10003:10003
ENTRYPOINT ["node", "src/main.js"]
