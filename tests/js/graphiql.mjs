// Opens billgraph's GraphiQL in headless Chromium with every other host
// unreachable, gives the API key, runs a query and checks its result.
// Usage: node graphiql.mjs <chromium> <base url> <api key> <query> <expected text>
// Exits 0 when the result shows the expected text and no request left the server.
import puppeteer from "puppeteer-core";

const [chromium, base, key, query, expected] = process.argv.slice(2);
if (!expected) {
  console.error("usage: node graphiql.mjs <chromium> <base url> <api key> <query> <expected text>");
  process.exit(2);
}
const origin = new URL(base).origin;
const host = new URL(base).hostname;

const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    // Any host but the server's resolves to nothing: the page must bring
    // everything it needs from billgraph.
    `--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE ${host}`,
  ],
});
const elsewhere = [];
let apiRequests = 0;
const pageErrors = [];
let failed = false;
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(30000);
  await page.setRequestInterception(true);
  page.on("request", (request) => {
    const url = request.url();
    if (request.method() === "POST" && url === `${origin}/graphql`) apiRequests += 1;
    if (url.startsWith("data:") || url.startsWith(origin + "/")) {
      request.continue();
    } else {
      elsewhere.push(url);
      request.abort();
    }
  });
  page.on("pageerror", (error) => pageErrors.push(String(error)));

  await page.goto(`${origin}/graphql`, { waitUntil: "load" });
  const devKey = await page.$eval("#api-key", (input) => input.value);
  console.log(`key prompt shown (prefilled: ${devKey ? "yes" : "no"})`);
  // Nothing has asked the API anything yet: no schema fetch without a key.
  if (await page.$(".graphiql-container")) throw new Error("GraphiQL started before a key was given");
  if (apiRequests !== 0) throw new Error(`${apiRequests} API requests went out before a key was given`);

  await page.$eval("#api-key", (input) => (input.value = ""));
  await page.type("#api-key", key);
  await page.click("#open-graphiql");
  await page.waitForSelector(".graphiql-container .graphiql-query-editor .CodeMirror");
  console.log("GraphiQL opened");

  await runQuery(page);
  const stored = await page.evaluate(() => sessionStorage.getItem("billgraph.apiKey"));
  if (stored !== key) throw new Error("the key is not kept in sessionStorage");

  // The key is kept for the session: a reload opens GraphiQL directly.
  await page.reload({ waitUntil: "load" });
  await page.waitForSelector(".graphiql-container .graphiql-query-editor .CodeMirror");
  console.log("reloaded without asking for the key again");
  await runQuery(page);
} catch (error) {
  failed = true;
  console.error(`FAILED: ${error.message}`);
} finally {
  await browser.close();
}
if (elsewhere.length) {
  failed = true;
  console.error(`FAILED: the page asked other hosts for: ${elsewhere.join(", ")}`);
}
if (pageErrors.length) {
  failed = true;
  console.error(`FAILED: errors in the page: ${pageErrors.join("; ")}`);
}
process.exit(failed ? 1 : 0);

async function runQuery(page) {
  await page.evaluate((text) => {
    document.querySelector(".graphiql-query-editor .CodeMirror").CodeMirror.setValue(text);
  }, query);
  await page.click(".graphiql-execute-button");
  await page.waitForFunction(
    (text) => {
      const result = document.querySelector(".result-window");
      return result && result.textContent.includes(text);
    },
    {},
    expected
  );
  const shown = await page.$eval(".result-window", (el) => el.textContent.replace(/\s+/g, " ").slice(0, 200));
  console.log(`result shown: ${shown}`);
}
