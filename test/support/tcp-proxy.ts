import { createConnection, createServer, Server, Socket } from 'node:net';
import { AddressInfo } from 'node:net';

/**
 * A TCP forwarder between the service and a dependency, so a test can cut the wire whatever sits behind it (the
 * MongoDB wire server or a real MongoDB): drop every open connection, refuse new ones, and heal.
 */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private refusing = false;
  private attempts = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    // The connection handler exists before the proxy it hands connections to.
    const accepting: { proxy?: TcpProxy } = {};
    const server = createServer((client) => accepting.proxy?.accept(client, targetHost, targetPort));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    accepting.proxy = new TcpProxy(server, (server.address() as AddressInfo).port);
    return accepting.proxy;
  }

  private accept(client: Socket, targetHost: string, targetPort: number): void {
    this.attempts++;
    if (this.refusing) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host: targetHost, port: targetPort });
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => socket.destroy());
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** Connections clients opened through the proxy, refused ones included: how hard a client is trying. */
  get connectionAttempts(): number {
    return this.attempts;
  }

  /** Cuts every open connection and refuses new ones until heal(). */
  cut(): void {
    this.refusing = true;
    for (const socket of this.sockets) socket.destroy();
  }

  heal(): void {
    this.refusing = false;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
