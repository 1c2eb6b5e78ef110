// Runs graphql-http's server audits against a running billgraph.
// Usage: node audit.mjs <graphql url> <api key>
// Prints one line per audit; exits 1 on a MUST failure or a SHOULD warning.
import { serverAudits } from "graphql-http";

const [url, key] = process.argv.slice(2);
if (!url || !key) {
  console.error("usage: node audit.mjs <graphql url> <api key>");
  process.exit(2);
}

const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers);
  headers.set("x-api-key", key);
  return fetch(input, { ...init, headers });
};

const results = await Promise.all(serverAudits({ url, fetchFn }).map(({ fn }) => fn()));
let bad = 0;
for (const result of results) {
  const level = result.name.split(" ")[0];
  if (result.status === "ok") {
    console.log(`ok      ${result.id} ${result.name}`);
    continue;
  }
  const counts = level === "MUST" || level === "SHOULD";
  if (counts) bad += 1;
  const tag = counts ? (level === "MUST" ? "FAILURE" : "WARNING") : "notice";
  let detail = result.reason;
  if (result.response) {
    const body = await result.response.text().catch(() => "");
    detail += ` [${result.response.status} ${result.response.headers.get("content-type")}] ${body.slice(0, 300)}`;
  }
  console.log(`${tag.padEnd(7)} ${result.id} ${result.name}: ${detail}`);
}
const ok = results.filter((r) => r.status === "ok").length;
console.log(`${ok} of ${results.length} audits passed; ${bad} MUST failures or SHOULD warnings`);
process.exit(bad === 0 ? 0 : 1);
