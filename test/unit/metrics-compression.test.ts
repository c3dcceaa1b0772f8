import { execFileSync, spawnSync } from 'node:child_process';
import { crc32, gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32Combine } from '../../src/metrics/crc32-combine.js';
import { textPart, type ExpositionPart } from '../../src/metrics/exposition-part.js';
import { GzipPieces } from '../../src/server/gzip-pieces.js';

/** Decoders other than Node's zlib: GNU gzip (its own inflate) and Python's zlib module. */
function gnuGunzip(body: Buffer): Buffer {
  return execFileSync('gzip', ['-dc'], { input: body, maxBuffer: 64 * 2 ** 20 });
}
function pythonGunzip(body: Buffer): Buffer {
  const script = 'import gzip,sys; sys.stdout.buffer.write(gzip.decompress(sys.stdin.buffer.read()))';
  const result = spawnSync('python3', ['-c', script], { input: body, maxBuffer: 64 * 2 ** 20 });
  if (result.status !== 0) throw new Error(`python3 failed: ${result.stderr.toString()}`);
  return result.stdout;
}

describe('crc32Combine', () => {
  it("gives the CRC-32 of a concatenation from the parts' CRCs and the second part's length", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.uint8Array({ maxLength: 3000 }), (a, b) => {
        expect(crc32Combine(crc32(a), crc32(b), b.length)).toBe(crc32(Buffer.concat([a, b])));
      }),
      { numRuns: 300 },
    );
  });

  it('chains over many parts, and over a part longer than 2^31 bits of shift', () => {
    const parts = Array.from({ length: 50 }, (_, i) => Buffer.alloc(i * 997, i));
    let crc = 0;
    for (const part of parts) crc = crc32Combine(crc, crc32(part), part.length);
    expect(crc).toBe(crc32(Buffer.concat(parts)));
    const big = Buffer.alloc(300 * 2 ** 20, 0x61);
    expect(crc32Combine(crc32('x'), crc32(big), big.length)).toBe(crc32(big, crc32('x')));
  });
});

describe('gzip assembled from pieces', () => {
  const line = (i: number) =>
    `codearts_builds_total{job_id="${i.toString(16).padStart(32, '0')}",job_name="job-${i}",result="success"} ${i % 7}\n`;
  const parts = (from: number, count: number, per: number): ExpositionPart[] =>
    Array.from({ length: count }, (_, p) => textPart(Array.from({ length: per }, (_, i) => line(from + p * per + i)).join('')));

  it('is one gzip member that Node, GNU gzip and Python decode to the joined text, UTF-8 and empty parts included', async () => {
    const all = [textPart('# HELP x ünïcödé "job" ✓\n'), ...parts(0, 20, 50), textPart(''), textPart('名前{a="b"} 1\n')];
    const text = all.map((part) => part.text()).join('');
    const body = await new GzipPieces().gzip(all);
    expect(body.subarray(0, 3)).toEqual(Buffer.from([0x1f, 0x8b, 0x08]));
    for (const decode of [gunzipSync, gnuGunzip, pythonGunzip]) expect(decode(body).toString('utf8')).toBe(text);
    // The trailer: CRC-32 and length in bytes (not characters) of the text.
    expect(body.readUInt32LE(body.length - 8)).toBe(crc32(text));
    expect(body.readUInt32LE(body.length - 4)).toBe(Buffer.byteLength(text));
    expect(body.length).toBeLessThan(Buffer.byteLength(text) * 0.15);
  });

  it('reuses the piece of a part object it has seen and deflates only the new ones', async () => {
    const gzip = new GzipPieces();
    const first = parts(0, 10, 40);
    const before = await gzip.gzip(first);
    const changed = [...first];
    changed[3] = textPart(first[3]!.text().replace('} 3\n', '} 4\n'));
    let texts = 0;
    const counted = changed.map((part) => ({ text: () => (texts++, part.text()) }));
    // New wrapper objects: every part is deflated again...
    expect(gunzipSync(await gzip.gzip(counted)).toString()).toBe(changed.map((p) => p.text()).join(''));
    expect(texts).toBe(10);
    // ...the same objects again: none is.
    texts = 0;
    const again = await gzip.gzip(counted);
    expect(texts).toBe(0);
    expect(gunzipSync(again).toString()).toBe(changed.map((p) => p.text()).join(''));
    expect(again.equals(before)).toBe(false);
  });
});
