// Parses every Terraform file of each tree given with HashiCorp's HCL parser (hcl2json, wasm)
// and requires hclwrite.Format (hcl-tools, wasm) to leave it byte-identical.
// Usage: node check.mjs NODE_MODULES_PARENT NAME=TREE...   One line per tree; exit 1 on a finding.
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, relative } from "node:path";

const [modulesParent, ...trees] = process.argv.slice(2);
const require = createRequire(join(modulesParent, "package.json"));
const { parse } = require("@cdktf/hcl2json");
const { format } = require("@cdktf/hcl-tools");

// Every regular file under dir, sorted, hidden entries included (the tree has none of its own).
function walk(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

// The first line where a and b differ, for the report.
function firstDifference(a, b) {
  const x = a.split("\n");
  const y = b.split("\n");
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] !== y[i]) return `line ${i + 1}: ${JSON.stringify(x[i] ?? "<end>")} formats as ${JSON.stringify(y[i] ?? "<end>")}`;
  }
  return "same lines, different bytes";
}

let failed = false;
for (const arg of trees) {
  const eq = arg.indexOf("=");
  const name = arg.slice(0, eq);
  const tree = arg.slice(eq + 1);
  const files = walk(tree).filter((f) => /\.(tf|tfvars|tf\.json|tfvars\.json)$/.test(f));
  const counts = { tf: 0, json: 0, parse: 0, format: 0 };
  const findings = [];
  for (const file of files) {
    const rel = relative(tree, file);
    const text = readFileSync(file, "utf8");
    if (file.endsWith(".json")) {
      // Terraform's JSON syntax is JSON; hcl2json reads only the native syntax.
      counts.json++;
      try {
        JSON.parse(text);
      } catch (e) {
        counts.parse++;
        findings.push(`${rel}: JSON: ${e.message}`);
      }
      continue;
    }
    counts.tf++;
    try {
      await parse(rel, text);
    } catch (e) {
      counts.parse++;
      findings.push(`${rel}: parse: ${String(e.message ?? e)}`);
      continue;
    }
    const formatted = await format(text);
    if (formatted !== text) {
      counts.format++;
      findings.push(`${rel}: not in hclwrite.Format layout: ${firstDifference(text, formatted)}`);
    }
  }
  if (files.length === 0) {
    findings.push("no Terraform file in the tree");
  }
  console.log(
    `${name.padEnd(22)} ${String(counts.tf).padStart(4)} .tf/.tfvars, ${counts.json} .tf.json: ` +
      `${counts.parse} parse errors, ${counts.format} not formatted`,
  );
  for (const f of findings) console.error(`  ${name}/${f}`);
  if (findings.length) failed = true;
}
process.exit(failed ? 1 : 0);
