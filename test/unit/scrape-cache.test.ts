import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { textPart, type ExpositionPart } from '../../src/metrics/exposition-part.js';
import { ScrapeCache, type MetricsSource } from '../../src/server/scrape-cache.js';
import { TurnLimit } from '../../src/server/turn-limit.js';

/** A metrics source whose text is `value N` and whose parts() takes as long as the test says. */
class Source implements MetricsSource {
  value = 0;
  collected = 0;
  failNext = false;
  private release: (() => void) | undefined;
  private gate: Promise<void> | undefined;

  version(): number {
    return this.value;
  }

  hold(): void {
    this.gate = new Promise((resolve) => (this.release = resolve));
  }

  letGo(): void {
    this.release?.();
    this.gate = undefined;
  }

  async parts(): Promise<ExpositionPart[]> {
    this.collected += 1;
    const text = `value ${this.value}\n`;
    await this.gate;
    if (this.failNext) {
      this.failNext = false;
      throw new Error('collector failed');
    }
    return [textPart('# TYPE value gauge\n'), textPart(text)];
  }
}

const text = async (cache: ScrapeCache) => (await cache.body('identity')).toString();

describe('ScrapeCache', () => {
  it('serves all concurrent scrapers from one render and keeps the body until the version changes', async () => {
    const source = new Source();
    const cache = new ScrapeCache(source, { maxAgeMs: 60_000 });
    source.hold();
    const pending = Array.from({ length: 25 }, () => cache.body('gzip'));
    source.letGo();
    const bodies = await Promise.all(pending);
    expect(source.collected).toBe(1);
    expect(cache.renderCount).toBe(1);
    expect(new Set(bodies).size).toBe(1);
    expect(gunzipSync(bodies[0]!).toString()).toBe('# TYPE value gauge\nvalue 0\n');
    // Cached: nothing collected or rendered again; the same bytes.
    expect(await cache.body('gzip')).toBe(bodies[0]);
    expect(cache.renderCount).toBe(1);
    // The identity body of the same render: one more body built, no new collection.
    expect(await text(cache)).toBe('# TYPE value gauge\nvalue 0\n');
    expect(source.collected).toBe(1);
    source.value = 1;
    expect(await text(cache)).toBe('# TYPE value gauge\nvalue 1\n');
    expect(source.collected).toBe(2);
  });

  it('lets scrapers that arrive during a render join it, even after a change, and renders the change next', async () => {
    const source = new Source();
    const cache = new ScrapeCache(source, { maxAgeMs: 60_000 });
    source.hold();
    const first = text(cache);
    await new Promise((resolve) => setImmediate(resolve));
    source.value = 1;
    const joined = text(cache);
    source.letGo();
    expect(await first).toBe('# TYPE value gauge\nvalue 0\n');
    expect(await joined).toBe('# TYPE value gauge\nvalue 0\n');
    expect(await text(cache)).toBe('# TYPE value gauge\nvalue 1\n');
    expect(source.collected).toBe(2);
  });

  it('renders again after the maximum age although the version did not change', async () => {
    const source = new Source();
    const cache = new ScrapeCache(source, { maxAgeMs: 30 });
    await text(cache);
    await text(cache);
    expect(source.collected).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 40));
    await text(cache);
    expect(source.collected).toBe(2);
  });

  it('does not cache a failed render', async () => {
    const source = new Source();
    const cache = new ScrapeCache(source, { maxAgeMs: 60_000 });
    source.failNext = true;
    await expect(cache.body('gzip')).rejects.toThrow('collector failed');
    expect(gunzipSync(await cache.body('gzip')).toString()).toBe('# TYPE value gauge\nvalue 0\n');
  });
});

describe('TurnLimit', () => {
  it('lets at most N holders through per turn of the event loop, and all of them in the end', async () => {
    const limit = new TurnLimit(8);
    let turn = 0;
    let ticking = true;
    const tick = () => {
      turn += 1;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const turns = await Promise.all(Array.from({ length: 50 }, async () => (await limit.acquire(), turn)));
    ticking = false;
    const perTurn = new Map<number, number>();
    for (const t of turns) perTurn.set(t, (perTurn.get(t) ?? 0) + 1);
    expect(turns).toHaveLength(50);
    expect(Math.max(...perTurn.values())).toBeLessThanOrEqual(8);
    expect(perTurn.size).toBeGreaterThanOrEqual(Math.ceil(50 / 8));
  });
});
