# Broadcasty: production image. Build: docker build -t broadcasty .
# Debian 13 (glibc 2.41): the native uWebSockets.js v20.57 build needs glibc ≥ 2.38, so bookworm
# (2.36) images would run the slower Node http + ws fallback.
FROM node:24-trixie-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY protocol ./protocol
COPY src ./src
COPY client ./client
COPY scripts ./scripts
# Keep only the uWS binary this image's Node loads, and fail the build if it does not load.
RUN npm run build && npm prune --omit=dev \
 && rm -rf node_modules/uws-trufflesuite \
 && find node_modules/uWebSockets.js -name 'uws_*.node' ! -name "uws_linux_$(node -p process.arch)_$(node -p process.versions.modules).node" -delete \
 && node -e "import('./dist/src/transport/load-uws.js').then((m) => { const r = m.loadNativeUws(); if (!('uws' in r)) { console.error(r.failure); process.exit(1); } })"

FROM node:24-trixie-slim
# No BROADCASTY_PORT here: platforms that assign the port through PORT (Heroku, Cloud Run, Render) must win.
ENV NODE_ENV=production BROADCASTY_HOST=0.0.0.0
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
USER node
EXPOSE 6001 9601
# /up answers with or without the path prefix; with TLS the certificate names the public host, not 127.0.0.1.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD node -e "const e = process.env; const tls = Boolean(e.BROADCASTY_TLS_CERT || e.SOKETI_SSL_CERT); const port = e.BROADCASTY_PORT || e.PORT || e.REVERB_SERVER_PORT || e.SOKETI_PORT || 6001; require(tls ? 'node:https' : 'node:http').get({ host: '127.0.0.1', port, path: '/up', rejectUnauthorized: false, timeout: 2500 }, (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1)).on('timeout', () => process.exit(1))"
CMD ["node", "dist/src/cli.js", "start"]
