// The whole conformance suite again on the Node http + ws transport, the one hosts without a
// loadable native uWebSockets.js build (Node 22/24 on glibc < 2.38) run.
process.env.BROADCASTY_TRANSPORT = 'node';
await import('./conformance.test.js');
