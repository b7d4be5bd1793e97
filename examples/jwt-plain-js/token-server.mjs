// A token service without Laravel: mints Broadcasty JWTs with jose (docs/PROTOCOL.md §14.2)
// and serves the page beside it. Run: node token-server.mjs, then start
// Broadcasty with the key this prints:
//   BROADCASTY_AUTH_MODE=jwt BROADCASTY_JWT_PUBLIC_KEY="<printed>" BROADCASTY_APP_ALLOWED_ORIGINS='["http://localhost:8080"]' npx broadcasty start
// and open http://localhost:8080/?user=ann&tenant=acme in two tabs (needs `npm i jose pusher-js` here).
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:http';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';

const { publicKey, privateKey } = await generateKeyPair('ES256');
console.log(`BROADCASTY_JWT_PUBLIC_KEY="${(await exportSPKI(publicKey)).trim().replaceAll('\n', '\\n')}"`);

/** Who the caller is would come from your session; here the query says it. */
async function mint(user, tenant, roles) {
  return new SignJWT({ tid: tenant, roles, user_info: { name: user } })
    .setProtectedHeader({ alg: 'ES256' })
    .setSubject(user)
    .setIssuedAt()
    .setExpirationTime('10m')
    .setJti(crypto.randomUUID())
    .sign(privateKey);
}

createServer(async (request, response) => {
  const url = new URL(request.url, 'http://localhost');
  if (url.pathname === '/token') {
    const user = url.searchParams.get('user') ?? 'guest';
    const tenant = url.searchParams.get('tenant') ?? 'acme';
    const token = await mint(user, tenant, ['member', 'publisher']);
    response.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(JSON.stringify({ token }));
    return;
  }
  if (url.pathname === '/pusher.min.js') {
    const file = createRequire(import.meta.url).resolve('pusher-js/dist/web/pusher.min.js');
    response.writeHead(200, { 'Content-Type': 'text/javascript' }).end(await readFile(file));
    return;
  }
  response.writeHead(200, { 'Content-Type': 'text/html' }).end(await readFile(new URL('./index.html', import.meta.url)));
}).listen(8080, () => console.log('page and tokens on http://localhost:8080'));
