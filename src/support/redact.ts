/** `http://user:secret@proxy:3128` → `http://***@proxy:3128`. Leaves anything that is not a URL alone. */
export function redactUrlCredentials(value: string): string {
  try {
    const url = new URL(value);
    if (!url.username && !url.password) return value;
    return `${url.protocol}//***@${url.host}${url.pathname === '/' ? '' : url.pathname}`;
  } catch {
    return value;
  }
}

/** The text with every URL's credentials and every known secret masked (defence in depth for messages). */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  let out = text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s'"]+/gi, (found) => redactUrlCredentials(found));
  for (const secret of secrets) if (secret) out = out.split(secret).join('***');
  return out;
}
