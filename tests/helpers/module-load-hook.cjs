// Preloaded with `node --require`: records every module the process loads through require (the
// compiled CLI is CommonJS, so SDKs, Pulumi and zod come this way) and writes their resolved paths,
// one a line, to the file named by TRAINCTL_MODULE_LOG when the process exits.
const Module = require("node:module");
const { writeFileSync } = require("node:fs");
const loaded = new Set();
const load = Module._load;
Module._load = function (request, parent, isMain) {
  try {
    loaded.add(Module._resolveFilename(request, parent, isMain));
  } catch {
    loaded.add(request);
  }
  return load.apply(this, arguments);
};
process.on("exit", () => writeFileSync(process.env.TRAINCTL_MODULE_LOG, [...loaded].join("\n")));
