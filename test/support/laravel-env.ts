// A Laravel .env as Laravel's installers write it, for the tests that share one with Broadcasty.

/** What `php artisan install:broadcasting --reverb` appends to a fresh Laravel 11 .env. */
export const REVERB_DOTENV = `APP_NAME=Laravel
APP_ENV=local
APP_KEY=base64:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=
APP_URL=http://localhost

# Broadcasting
BROADCAST_CONNECTION=reverb
REDIS_CLIENT=phpredis
REDIS_HOST=127.0.0.1
REDIS_PASSWORD=null
REDIS_PORT=6379

REVERB_APP_ID=646178
REVERB_APP_KEY=u8qzlfsbtfhsb4qxa6ep
REVERB_APP_SECRET=qx2kcvtgbkutm3bukvhj
REVERB_HOST="localhost"
REVERB_PORT=8080
REVERB_SCHEME=http

VITE_APP_NAME="\${APP_NAME}"
VITE_REVERB_APP_KEY="\${REVERB_APP_KEY}"
VITE_REVERB_HOST="\${REVERB_HOST}"
VITE_REVERB_PORT="\${REVERB_PORT}"
VITE_REVERB_SCHEME="\${REVERB_SCHEME}"
`;
