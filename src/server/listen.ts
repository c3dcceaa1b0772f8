import { once } from 'node:events';
import type { Server } from 'node:http';

/** The HTTP server could not bind its address; the message says why in words and names host:port. */
export class ListenError extends Error {
  override readonly name = 'ListenError';
  readonly code: string | undefined;

  constructor(
    readonly host: string,
    readonly port: number,
    cause: NodeJS.ErrnoException,
  ) {
    super(`cannot listen on ${host}:${port}: ${explain(cause, host, port)}`, { cause });
    this.code = cause.code;
  }
}

function explain(error: NodeJS.ErrnoException, host: string, port: number): string {
  switch (error.code) {
    case 'EADDRINUSE':
      return `address already in use (another process listens on port ${port}; stop it or change server.port)`;
    case 'EACCES':
      return `permission denied (ports below 1024 need privileges; change server.port)`;
    case 'EADDRNOTAVAIL':
      return `address not available on this host (check server.host: ${host})`;
    default:
      return `${error.code ?? 'error'}: ${error.message}`;
  }
}

/** `server.listen(port, host)`, resolved once listening; a bind failure rejects with ListenError. */
export async function listen(server: Server, port: number, host: string): Promise<void> {
  server.listen(port, host);
  try {
    await once(server, 'listening');
  } catch (error) {
    throw new ListenError(host, port, error as NodeJS.ErrnoException);
  }
}
