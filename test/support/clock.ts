// Rate limits count requests per epoch second: a test that must land several requests in one
// window starts right after a boundary.
export async function justAfterSecondBoundary(): Promise<void> {
  while (Date.now() % 1000 > 100) await new Promise((resolve) => setTimeout(resolve, 10));
}
