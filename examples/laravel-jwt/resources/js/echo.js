// resources/js/echo.js — Laravel Echo authorizing channels with Broadcasty JWTs instead of
// POST /broadcasting/auth (docs/PROTOCOL.md §14.2). Stock Echo and pusher-js: the token goes
// through pusher-js's customHandler hooks.
import Echo from 'laravel-echo';
import Pusher from 'pusher-js';

window.Pusher = Pusher;

let cached = { token: '', expiresAt: 0 };

/** The user's token from routes/realtime.php, fetched again 30 s before it expires. */
async function realtimeToken() {
    if (Date.now() < cached.expiresAt * 1000 - 30_000) return cached.token;
    const response = await fetch('/realtime/token', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (!response.ok) throw new Error(`realtime token: HTTP ${response.status}`);
    const { token, expires_at: expiresAt } = await response.json();
    cached = { token, expiresAt };
    return token;
}

window.Echo = new Echo({
    broadcaster: 'pusher',
    key: import.meta.env.VITE_PUSHER_APP_KEY,
    cluster: import.meta.env.VITE_PUSHER_APP_CLUSTER ?? 'mt1',
    wsHost: import.meta.env.VITE_PUSHER_HOST,
    wsPort: import.meta.env.VITE_PUSHER_PORT ?? 80,
    wssPort: import.meta.env.VITE_PUSHER_PORT ?? 443,
    forceTLS: (import.meta.env.VITE_PUSHER_SCHEME ?? 'https') === 'https',
    enabledTransports: ['ws', 'wss'],
    // Private and presence channels: the JWT is the channel's `auth`; presence members come
    // from the token's claims (sub → id, user_info → info).
    channelAuthorization: {
        customHandler: ({ channelName }, callback) => {
            // Laravel's /broadcasting/auth signs what a token cannot: encrypted channels (only the
            // app hands out their key) and channels without a tenant segment, such as the
            // notification channel App.Models.User.{id} (authMode both).
            if (channelName.startsWith('private-encrypted-') || !channelName.includes('tenant.')) {
                fetch('/broadcasting/auth', { method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json', 'X-CSRF-TOKEN': document.querySelector('meta[name="csrf-token"]').content }, body: JSON.stringify({ socket_id: window.Echo.socketId(), channel_name: channelName }) })
                    .then((r) => r.json())
                    .then((data) => callback(null, data), (error) => callback(error, null));
                return;
            }
            realtimeToken().then((auth) => callback(null, { auth }), (error) => callback(error, null));
        },
    },
    // Echo.connector.pusher.signin() signs the socket in as the token's user (watchlists,
    // terminate_connections, server-to-user channels).
    userAuthentication: {
        customHandler: (_params, callback) => {
            realtimeToken().then((auth) => callback(null, { auth, user_data: '{}' }), (error) => callback(error, null));
        },
    },
});

// pusher-js joins a presence channel only once it knows "me": from channel_data (which a JWT
// replaces) or from a signed-in user. Sign in first, so Echo.join() works.
window.Echo.connector.pusher.signin();

// With JWT signin the socket's user id is {tid}.{sub} (sendToUser("acme.42")); presence ids stay sub.
// Usage — tenant channels carry the tenant after the kind prefix (§14.3):
//   const tid = document.querySelector('meta[name="team-id"]').content;
//   Echo.private(`tenant.${tid}.orders`).listen('OrderShipped', (e) => {});
//   Echo.join(`tenant.${tid}.lobby`).here((users) => {}).joining((u) => {}).leaving((u) => {});
// and in PHP: new PrivateChannel("tenant.{$order->team_id}.orders")
