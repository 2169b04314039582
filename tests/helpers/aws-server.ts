import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One request as a loopback AWS endpoint saw it. */
export interface AwsRequest {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
  /** JSON protocol: the `X-Amz-Target` operation (e.g. `AWSPriceListService.GetProducts`). */
  target?: string;
  /** Query protocol (EC2, STS, CloudWatch query): the form fields, with `Action`. */
  form?: Record<string, string>;
  /** The operation name, from either protocol. */
  operation: string;
}

export interface AwsReply {
  status?: number;
  headers?: Record<string, string>;
  /** A string or Buffer is sent as it is; any other object as JSON. */
  body?: string | Buffer | object;
}

export interface AwsServerHandle {
  endpoint: string;
  requests: AwsRequest[];
  stop(): Promise<void>;
}

/**
 * A loopback HTTP server that speaks whatever AWS protocol the handler answers in. It parses the
 * JSON protocol's `X-Amz-Target` and the query protocol's form body, and records every request.
 */
export async function startAwsServer(handler: (request: AwsRequest) => AwsReply | Promise<AwsReply>): Promise<AwsServerHandle> {
  const requests: AwsRequest[] = [];
  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const target = req.headers["x-amz-target"] as string | undefined;
    const isForm = String(req.headers["content-type"] ?? "").includes("x-www-form-urlencoded");
    const form = isForm ? Object.fromEntries(new URLSearchParams(body)) : undefined;
    const operation = target?.split(".").pop() ?? form?.Action ?? `${req.method} ${req.url}`;
    const request: AwsRequest = { method: req.method ?? "GET", url: req.url ?? "/", headers: req.headers, body, target, form, operation };
    requests.push(request);
    try {
      const reply = await handler(request);
      const raw = typeof reply.body === "string" || Buffer.isBuffer(reply.body) || reply.body === undefined;
      const payload = raw ? (reply.body ?? "") : JSON.stringify(reply.body);
      const contentType = raw ? "text/xml" : "application/x-amz-json-1.1";
      res.writeHead(reply.status ?? 200, { "content-type": contentType, "x-amzn-requestid": `req-${requests.length}`, ...reply.headers });
      res.end(payload);
    } catch (error) {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(String(error));
    }
  };
  const server: Server = createServer((req, res) => void serve(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Credentials and settings that make a real SDK client talk to a loopback endpoint. */
export function loopbackClientConfig(endpoint: string) {
  return {
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "secret" },
  };
}
