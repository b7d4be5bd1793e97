// resources/js/echo.js — Laravel Echo against Broadcasty. Pick one block.
import Echo from 'laravel-echo';
import Pusher from 'pusher-js';

window.Pusher = Pusher;

// BROADCAST_CONNECTION=pusher
window.Echo = new Echo({
    broadcaster: 'pusher',
    key: import.meta.env.VITE_PUSHER_APP_KEY,
    cluster: import.meta.env.VITE_PUSHER_APP_CLUSTER ?? 'mt1',
    wsHost: import.meta.env.VITE_PUSHER_HOST,
    wsPort: import.meta.env.VITE_PUSHER_PORT ?? 80,
    wssPort: import.meta.env.VITE_PUSHER_PORT ?? 443,
    forceTLS: (import.meta.env.VITE_PUSHER_SCHEME ?? 'https') === 'https',
    // Without this, a failing WebSocket makes pusher-js fall back to Pusher's own sockjs hosts.
    enabledTransports: ['ws', 'wss'],
});

// BROADCAST_CONNECTION=reverb
// window.Echo = new Echo({
//     broadcaster: 'reverb',
//     key: import.meta.env.VITE_REVERB_APP_KEY,
//     wsHost: import.meta.env.VITE_REVERB_HOST,
//     wsPort: import.meta.env.VITE_REVERB_PORT ?? 80,
//     wssPort: import.meta.env.VITE_REVERB_PORT ?? 443,
//     forceTLS: (import.meta.env.VITE_REVERB_SCHEME ?? 'https') === 'https',
//     enabledTransports: ['ws', 'wss'],
// });

// Usage:
//   Echo.private(`App.Models.User.${userId}`).notification((n) => console.log(n));
//   Echo.join('room.1').here((users) => {}).joining((u) => {}).leaving((u) => {});
//   Echo.private('chat.1').listen('MessageSent', (e) => {}).listenForWhisper('typing', (e) => {});
