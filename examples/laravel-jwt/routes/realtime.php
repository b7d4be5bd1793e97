<?php

// routes/realtime.php — hands the signed-in user a short-lived JWT for Broadcasty
// (docs/PROTOCOL.md §14.2). Include it from routes/web.php: require __DIR__.'/realtime.php';
// Needs `composer require firebase/php-jwt` and an RSA key pair:
//   openssl genrsa -out storage/broadcasty-private.pem 2048
//   openssl rsa -in storage/broadcasty-private.pem -pubout -out storage/broadcasty-public.pem
// Broadcasty gets the public half (BROADCASTY_JWT_PUBLIC_KEY, see .env.broadcasty).

use Firebase\JWT\JWT;
use Illuminate\Http\Request;
use Illuminate\Support\Facades\Route;
use Illuminate\Support\Str;

Route::middleware('auth')->get('/realtime/token', function (Request $request) {
    $user = $request->user();
    $now = time();

    $claims = [
        'sub' => (string) $user->id,
        // The tenant: channels of this team are named private-tenant.{tid}.… (§14.3).
        'tid' => (string) $user->team_id,
        'roles' => $user->is_admin ? ['member', 'publisher'] : ['member'],
        // Becomes the presence member's user_info (BROADCASTY_JWT_USER_INFO_CLAIM).
        'user_info' => ['name' => $user->name],
        'iss' => config('app.url'),
        'iat' => $now,
        'exp' => $now + 15 * 60,
        'jti' => (string) Str::uuid(),
    ];

    return response()->json([
        'token' => JWT::encode($claims, file_get_contents(storage_path('broadcasty-private.pem')), 'RS256'),
        'expires_at' => $claims['exp'],
    ])->header('Cache-Control', 'no-store');
});
