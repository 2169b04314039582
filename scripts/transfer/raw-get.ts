import { type OnReadOpts, type Socket, connect as netConnect, isIP } from "node:net";
import { type ConnectionOptions, type SecureContextOptions, connect as tlsConnect } from "node:tls";
import { EMPTY_SHA256, type RequestSigning, userMetadata } from "./signed-request";

/** Bytes read from a socket at once, into the connection's one buffer: no body view handed to a consumer is longer. */
export const RAW_READ_BYTES = 64 * 1024;

/** A status line and headers longer than this are refused. */
const MAX_HEAD_BYTES = 64 * 1024;

/** Bytes `start` to `end` (exclusive) of an object of `total` bytes. */
export interface ByteRange {
  start: number;
  end: number;
  total: number;
}

/**
 * Takes the body as views of the connection's reused read buffer, so it must copy what it keeps before returning.
 * A promise returned pauses the socket until it settles; a rejection (or a throw) fails the request.
 */
export type BodyConsumer = (view: Buffer) => void | Promise<void>;

/** What a response head must be: 206 with exactly the requested range and length, no transfer coding. Throws otherwise. */
export function parseHead(head: string, range: ByteRange): { metadata: Record<string, string>; keepAlive: boolean } {
  const [statusLine, ...lines] = head.split("\r\n");
  const status = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(statusLine);
  if (!status) throw new Error(`malformed status line ${JSON.stringify(statusLine.slice(0, 80))}`);
  if (status[2] !== "206") throw new Error(`HTTP ${status[2]}, expected 206 Partial Content`);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const field = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/.exec(line);
    if (!field) throw new Error(`malformed header line ${JSON.stringify(line.slice(0, 80))}`);
    const name = field[1].toLowerCase();
    if (name === "content-length" || name === "content-range" || name === "transfer-encoding") {
      if (name in headers) throw new Error(`${name} twice`);
    }
    headers[name] = name in headers ? `${headers[name]}, ${field[2]}` : field[2];
  }
  if ("transfer-encoding" in headers) throw new Error(`Transfer-Encoding ${headers["transfer-encoding"]}: only a Content-Length body is read`);
  const length = range.end - range.start;
  if (headers["content-length"] !== String(length)) throw new Error(`Content-Length ${headers["content-length"]}, expected ${length}`);
  const expected = `bytes ${range.start}-${range.end - 1}/${range.total}`;
  if (headers["content-range"] !== expected) throw new Error(`Content-Range ${headers["content-range"]}, expected ${expected}`);
  const keepAlive = status[1] === "1" && !/(^|,)[ \t]*close[ \t]*(,|$)/i.test(headers.connection ?? "");
  return { metadata: userMetadata(headers), keepAlive };
}

/** Reads one response: the head (which may arrive in any number of pieces), then exactly the announced body. */
class ResponseReader {
  received = 0;
  keepAlive = false;
  metadata: Record<string, string> = {};
  private head = "";
  private remaining = -1;

  constructor(
    private readonly range: ByteRange,
    private readonly consume: BodyConsumer,
  ) {}

  get complete(): boolean {
    return this.remaining === 0;
  }

  /** Takes the bytes of one read; a promise when the consumer wants the socket paused. Throws on anything unexpected. */
  feed(bytes: Buffer): void | Promise<void> {
    this.received += bytes.length;
    let body = bytes;
    if (this.remaining < 0) {
      const from = Math.max(0, this.head.length - 3);
      this.head += bytes.toString("latin1", 0, Math.min(bytes.length, MAX_HEAD_BYTES));
      const end = this.head.indexOf("\r\n\r\n", from);
      if (end < 0) {
        if (this.head.length >= MAX_HEAD_BYTES) throw new Error(`no end of headers in ${MAX_HEAD_BYTES} bytes`);
        return;
      }
      ({ metadata: this.metadata, keepAlive: this.keepAlive } = parseHead(this.head.slice(0, end), this.range));
      body = bytes.subarray(bytes.length - (this.head.length - end - 4));
      this.remaining = this.range.end - this.range.start;
    }
    if (body.length > this.remaining) throw new Error(`more than the ${this.range.end - this.range.start} bytes announced`);
    this.remaining -= body.length;
    return body.length ? this.consume(body) : undefined;
  }
}

/** A reused pooled connection the server had already closed, before any byte of the answer: worth one fresh connection. */
class ClosedWhileIdle extends Error {}

/** The request being answered on a connection. */
interface Exchange {
  bytes(view: Buffer): boolean;
  closed(error?: Error): void;
}

/** One keep-alive connection and its one read buffer. */
class Connection {
  readonly socket: Socket;
  readonly buffer = Buffer.allocUnsafe(RAW_READ_BYTES);
  /** Answers completed on this connection. */
  answered = 0;
  exchange?: Exchange;
  onIdleClose?: () => void;
  private error?: Error;

  constructor(endpoint: URL, timeoutMs: number, tls: SecureContextOptions) {
    const onread: OnReadOpts = { buffer: this.buffer, callback: (n) => this.read(n) };
    const host = endpoint.hostname.replace(/^\[|\]$/g, "");
    if (endpoint.protocol === "https:") {
      // Certificates verified as node:https verifies them (its CA list, NODE_EXTRA_CA_CERTS), plus any `ca` given.
      // tls.connect documents `onread` as net.connect's; @types/node does not list it.
      const options: ConnectionOptions & { onread: OnReadOpts } = {
        ...tls,
        host,
        port: Number(endpoint.port) || 443,
        servername: isIP(host) ? undefined : host,
        onread,
      };
      this.socket = tlsConnect(options);
    } else {
      this.socket = netConnect({ host, port: Number(endpoint.port) || 80, onread });
    }
    this.socket.setNoDelay(true);
    this.socket.setTimeout(timeoutMs, () => this.socket.destroy(new Error(`no bytes from ${endpoint.host} for ${timeoutMs} ms`)));
    this.socket.on("error", (error) => (this.error = error));
    this.socket.on("close", () => {
      const exchange = this.exchange;
      this.exchange = undefined;
      if (exchange) exchange.closed(this.error);
      else this.onIdleClose?.();
    });
  }

  private read(n: number): boolean {
    if (this.exchange) return this.exchange.bytes(this.buffer.subarray(0, n));
    // Bytes nobody asked for (a late answer, an idle-timeout notice): the connection is out of step.
    this.socket.destroy();
    return false;
  }
}

/**
 * Ranged GETs over pooled keep-alive sockets, each read into the socket's one reused buffer and handed on as views:
 * no buffer per read, no copy per chunk, so a large download gives the garbage collector nothing to do. Accepts only
 * the one answer it asked for (see parseHead); anything else is thrown, for the caller to ask the SDK instead.
 */
export class RawGet {
  private readonly idle = new Map<string, Connection[]>();
  private idleCount = 0;

  constructor(
    private readonly signing: RequestSigning,
    private readonly timeoutMs: number,
    /** Idle connections kept at most: the concurrency. */
    private readonly maxIdle: number,
    private readonly tls: SecureContextOptions = {},
  ) {}

  /** Streams `range` of the object to `consume`; resolves to its x-amz-meta-* values once every byte was consumed. */
  async get(bucket: string, key: string, range: ByteRange, consume: BodyConsumer): Promise<Record<string, string>> {
    const { endpoint, target, headers } = await this.signing.sign("GET", bucket, key, {
      "x-amz-content-sha256": EMPTY_SHA256,
      range: `bytes=${range.start}-${range.end - 1}`,
    });
    const head = `GET ${target} HTTP/1.1\r\n${Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join("")}\r\n`;
    const pooled = this.take(endpoint.origin);
    try {
      return await this.exchange(pooled ?? new Connection(endpoint, this.timeoutMs, this.tls), endpoint.origin, head, range, consume);
    } catch (error) {
      if (!(error instanceof ClosedWhileIdle)) throw error;
      return this.exchange(new Connection(endpoint, this.timeoutMs, this.tls), endpoint.origin, head, range, consume);
    }
  }

  /** Closes the idle connections. */
  close(): void {
    for (const connections of this.idle.values()) for (const c of connections) c.socket.destroy();
  }

  private exchange(connection: Connection, origin: string, head: string, range: ByteRange, consume: BodyConsumer): Promise<Record<string, string>> {
    const { socket } = connection;
    socket.ref();
    const reader = new ResponseReader(range, consume);
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        connection.exchange = undefined;
        socket.destroy();
        reject(error);
      };
      const finish = (consumed: void | Promise<void>) => {
        settled = true;
        connection.exchange = undefined;
        connection.answered += 1;
        if (reader.keepAlive) this.release(connection, origin);
        else socket.destroy();
        // The connection is done with; the consumer may still be writing the last bytes.
        Promise.resolve(consumed).then(
          () => resolve(reader.metadata),
          (error: Error) => reject(error),
        );
      };
      connection.exchange = {
        bytes: (view) => {
          let consumed: void | Promise<void>;
          try {
            consumed = reader.feed(view);
          } catch (error) {
            fail(error as Error);
            return false;
          }
          if (reader.complete) {
            finish(consumed);
            return true;
          }
          if (!consumed) return true;
          consumed.then(
            () => !settled && socket.resume(),
            (error: Error) => fail(error),
          );
          return false;
        },
        closed: (error) => {
          const raced =
            connection.answered > 0 && reader.received === 0 && (!error || /^(ECONNRESET|EPIPE)$/.test((error as NodeJS.ErrnoException).code ?? ""));
          if (raced) fail(new ClosedWhileIdle(`connection closed while idle${error ? `: ${error.message}` : ""}`));
          else fail(error ?? new Error(`connection closed after ${reader.received} bytes of the answer`));
        },
      };
      socket.write(head);
    });
  }

  /** Takes an idle connection to `origin`, if any: the most recently used. */
  private take(origin: string): Connection | undefined {
    const list = this.idle.get(origin) ?? [];
    for (let connection = list.pop(); connection; connection = list.pop()) {
      this.idleCount -= 1;
      connection.onIdleClose = undefined;
      // Half closed by the server (its FIN seen, the close not yet): not worth a request.
      if (connection.socket.readyState === "open") return connection;
      connection.socket.destroy();
    }
    return undefined;
  }

  /** Keeps a connection whose answer is complete for the next request, unless enough are idle; idle, it never holds the process open. */
  private release(connection: Connection, origin: string): void {
    if (this.idleCount >= this.maxIdle) return void connection.socket.destroy();
    const list = this.idle.get(origin) ?? [];
    this.idle.set(origin, list);
    list.push(connection);
    this.idleCount += 1;
    connection.onIdleClose = () => {
      const at = list.indexOf(connection);
      if (at >= 0) {
        list.splice(at, 1);
        this.idleCount -= 1;
      }
    };
    connection.socket.unref();
    connection.socket.resume();
  }
}
