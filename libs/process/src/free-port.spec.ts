import { createServer } from 'node:net';
import { findFreePort, portIsFree } from './free-port';

describe('free loopback ports', () => {
  it('findFreePort returns a port nothing listens on, and portIsFree sees it taken once something does', async () => {
    const port = await findFreePort();
    expect(port).toBeGreaterThan(0);
    expect(port).toBeLessThan(65536);
    expect(await portIsFree(port)).toBe(true);
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      expect(await portIsFree(port)).toBe(false);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
