/** axe-core run inside a Playwright page, for the accessibility checks of the viewer tests. */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

let axeSource: Promise<string> | undefined;

/** axe-core's violations on the page as it is now: every rule, every impact level. */
export async function axeViolations(page: Page): Promise<string[]> {
  axeSource ??= readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  const body = await axeSource;
  // Served from the page's own origin, so a strict `script-src 'self'` lets it run.
  await page.route('**/test-only/axe.min.js', (route) => route.fulfill({ body, contentType: 'text/javascript' }));
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ url: '/test-only/axe.min.js' });
  return page.evaluate(async () => {
    const result = await (window as any).axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v: any) => `${v.id} (${v.impact}): ${v.nodes.map((n: any) => n.target.join(' ')).join(', ')}`);
  });
}
