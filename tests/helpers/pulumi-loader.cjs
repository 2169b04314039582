// Loads a Pulumi TypeScript program the way `pulumi up` does: Pulumi's own ts-node registration
// (vendored ts-node, the project's typescript, type checking on, the project's tsconfig), then runs
// it under mocks. Usage: node pulumi-loader.cjs PROGRAM TSCONFIG STACK CONFIG_JSON
const path = require("node:path");
const [program, tsconfig, stack, configJson] = process.argv.slice(2);
const pulumiRoot = path.dirname(require.resolve("@pulumi/pulumi/package.json", { paths: [path.dirname(program)] }));
const tsutils = require(path.join(pulumiRoot, "tsutils.js"));
const { tsnodeRequire, typescriptRequire } = tsutils.typeScriptRequireStrings();
const ts = require(typescriptRequire);
const useNodeNext = Number(ts.version.split(".")[0]) >= 5 || ts.version >= "4.7";
require(tsnodeRequire).register({
  compiler: typescriptRequire,
  project: tsconfig,
  skipProject: false,
  compilerOptions: {
    target: "ES2020",
    module: useNodeNext ? "nodenext" : "commonjs",
    moduleResolution: useNodeNext ? "nodenext" : "node",
    sourceMap: "true",
    ...tsutils.loadTypeScriptCompilerOptions(tsconfig),
  },
});
const pulumi = require(pulumiRoot);
const config = JSON.parse(configJson);
pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])));
let registered = 0;
(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => ({
        id: `${args.name}-id`,
        state: { ...args.inputs, outputs: {}, bucket: args.inputs.bucket || `${args.name}-bucket`, arn: `arn:aws:mock:::${args.name}` },
      }),
      call: (args) => ({
        ids: args.token.includes("EbsVolumes") ? [] : ["mock-id"],
        names: ["us-east-1a"],
        locations: ["us-east-1a"],
        partition: "aws",
        value: "ami-0123456789abcdef0",
        id: "mock",
        availabilityZone: "us-east-1a",
        accountId: "123456789012",
      }),
    },
    "trainctl",
    stack,
    false,
    "organization",
  );
  const monitor = pulumi.runtime.getMonitor();
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    registered++;
    register(req, cb);
  };
  await pulumi.runtime.runInPulumiStack(async () => require(program));
  await pulumi.runtime.disconnect();
  process.stdout.write(`REGISTERED ${registered}\n`);
})().catch((error) => {
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
