// Runs s3rver in its own process (it needs --openssl-legacy-provider) and reports each request on stdout.
const S3rver = require("s3rver");

const [directory, buckets] = [process.argv[2], (process.argv[3] || "").split(",").filter(Boolean)];
const server = new S3rver({
  address: "127.0.0.1",
  port: 0,
  silent: true,
  directory,
  configureBuckets: buckets.map((name) => ({ name })),
});
server.run().then((address) => {
  server.httpServer.on("request", (req) => process.stdout.write(`REQ ${req.method} ${req.url}\n`));
  process.stdout.write(`LISTENING ${address.port}\n`);
});
process.on("SIGTERM", () => server.close().then(() => process.exit(0)));
