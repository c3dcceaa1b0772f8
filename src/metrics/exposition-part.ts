/**
 * A run of exposition text in a `/metrics` body. A part object stands for one content: whoever
 * holds the text replaces the object when the text changes, so encodings of a part (its gzip
 * piece) can be cached by the object itself, in a WeakMap.
 */
export interface ExpositionPart {
  text(): string;
}

/** A part for text known now (headers, the prom-client registry's output of one scrape). */
export function textPart(text: string): ExpositionPart {
  return { text: () => text };
}

/** Rendering yields to the event loop after this much work, so /healthz and the poller keep running. */
export const SLICE_MS = 10;

/** Lets the event loop through when the current slice has run for SLICE_MS; returns the new slice start. */
export async function yieldAfterSlice(sliceStart: number): Promise<number> {
  if (performance.now() - sliceStart < SLICE_MS) return sliceStart;
  await new Promise((resolve) => setImmediate(resolve));
  return performance.now();
}

/** The parts' texts joined, rendered in slices that yield to the event loop. */
export async function joinParts(parts: readonly ExpositionPart[]): Promise<string> {
  const texts: string[] = [];
  let sliceStart = performance.now();
  for (const part of parts) {
    texts.push(part.text());
    sliceStart = await yieldAfterSlice(sliceStart);
  }
  return texts.join('');
}
