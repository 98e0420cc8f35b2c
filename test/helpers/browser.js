// Headless Debian chromium through playwright-core (never a downloaded browser), and a
// Visitor: one fresh browser profile's tab, with what a test reads from it — the cookie jar
// exactly as Chromium keeps it and the raw Set-Cookie lines of every response, redirects
// included.
import { CHROMIUM } from './env.js';

// No network beyond the test's own loopback servers: no updates, no sync, no QUIC probing.
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Starts chromium. Each launch gets a fresh temporary --user-data-dir from playwright (which
 * refuses one in `args`) and each Visitor a fresh context, so no cookie survives a test.
 * `hosts` are names resolved to 127.0.0.1 by the browser alone — a host that is not
 * loopback, which Chromium treats as an insecure origin over plain HTTP.
 */
export async function launchChromium({ hosts = [] } = {}) {
  const { chromium } = await import('playwright-core');
  const rules = hosts.map((h) => `MAP ${h} 127.0.0.1`).join(', ');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: rules ? [...ARGS, `--host-resolver-rules=${rules}`] : ARGS,
  });
}

export class Visitor {
  /** A new visitor (empty jar); `cookies` are planted first, as a browser that kept them. */
  static async open(browser, { cookies = [], ...contextOptions } = {}) {
    const ctx = await browser.newContext({ viewport: { width: 760, height: 430 }, ...contextOptions });
    if (cookies.length) await ctx.addCookies(cookies);
    const page = await ctx.newPage();
    return new Visitor(ctx, page, await ctx.newCDPSession(page));
  }

  #pending = [];

  constructor(ctx, page, cdp) {
    this.ctx = ctx;
    this.page = page;
    this.cdp = cdp;
    ctx.on('response', (r) => {
      this.#pending.push(
        r.headersArray().then((h) => ({
          url: r.url(),
          status: r.status(),
          setCookie: h.filter((x) => x.name.toLowerCase() === 'set-cookie').map((x) => x.value),
        })),
      );
    });
  }

  async goto(url) {
    await this.page.goto(url);
  }

  /** Clicks a link or button and waits for the page it leads to (after any redirect). */
  async follow(role, name) {
    const page = this.page;
    const landed = page.waitForEvent('framenavigated', { predicate: (f) => f === page.mainFrame() });
    await page.getByRole(role, { name, exact: true }).click();
    await landed;
    await page.waitForLoadState('load');
  }

  /** The Set-Cookie lines received since the last call, per response (those with none left out). */
  async setCookies() {
    const all = await Promise.all(this.#pending.splice(0));
    return all.filter((r) => r.setCookie.length).map(({ url, status, setCookie }) => ({ url, status, setCookie }));
  }

  /** Every cookie this visitor's browser holds, as Chromium stores it (SameSite absent when unset). */
  async jar() {
    return (await this.cdp.send('Network.getAllCookies')).cookies;
  }

  /** What the page's own script sees: HttpOnly cookies must not be in it. */
  documentCookie() {
    return this.page.evaluate(() => document.cookie);
  }

  bodyText() {
    return this.page.innerText('body');
  }

  close() {
    return this.ctx.close();
  }
}
