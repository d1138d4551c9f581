import { once } from 'node:events';
import { Agent, createServer, request, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { drainHttpServer } from './http-drain';

/** A server whose `/slow` answers when the test says so; `/fast` answers at once. */
async function slowServer(): Promise<{ server: Server; port: number; finish: () => void; started: Promise<void> }> {
  let finish: () => void = () => undefined;
  let markStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  const server = createServer((req, res) => {
    if (req.url === '/slow') {
      markStarted();
      finish = () => res.end('slow done');
    } else {
      res.end('fast');
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, finish: () => finish(), started };
}

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('drainHttpServer', () => {
  it('refuses new connections, lets the request in flight finish, then resolves drained', async () => {
    const { server, port, finish, started } = await slowServer();
    const slow = get(port, '/slow');
    await started;
    const drained = drainHttpServer(server, 5_000);
    await expect(get(port, '/fast')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    let settled = false;
    void drained.then(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(settled).toBe(false);
    finish();
    await expect(slow).resolves.toEqual({ status: 200, body: 'slow done' });
    await expect(drained).resolves.toBe('drained');
  });

  it('closes idle keep-alive connections at once', async () => {
    const { server, port } = await slowServer();
    const agent = new Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) => request({ host: '127.0.0.1', port, path: '/fast', agent }, (res) => res.resume().on('end', resolve)).on('error', reject).end());
    const started = Date.now();
    await expect(drainHttpServer(server, 5_000)).resolves.toBe('drained');
    expect(Date.now() - started).toBeLessThan(1_000);
    agent.destroy();
  });

  it('cuts requests still open after the grace period', async () => {
    const { server, port, started } = await slowServer();
    const slow = get(port, '/slow');
    await started;
    await expect(drainHttpServer(server, 100)).resolves.toBe('timed out');
    await expect(slow).rejects.toThrow();
  });
});
