/** What an auth provider may see of a request in order to authorise it. */
export interface SignableRequest {
  method: string;
  url: URL;
  /** Headers already set on the request (lower-case names). */
  headers: Record<string, string>;
  /** The exact body string that will be sent, if any. */
  body?: string;
}

/** Supplies credentials for CodeArts requests. Credentials only ever travel in headers. */
export interface AuthProvider {
  /** Headers to add to this request: `X-Auth-Token`, or the AK/SK signature headers. */
  authorize(request: SignableRequest, signal?: AbortSignal): Promise<Record<string, string>>;
  /**
   * Called when CodeArts answered 401 to a request sent with `rejected` headers. Returns true when
   * fresh credentials were obtained and the request is worth one more try.
   */
  onUnauthorized(rejected: Record<string, string>, signal?: AbortSignal): Promise<boolean>;
  /** CodeArts answered (anything but 401) a request sent with these headers: the credentials work. */
  onAccepted?(sent: Record<string, string>): void;
  /**
   * Why CodeArts probably keeps answering 401 when `onUnauthorized` declined to refresh: the likely
   * misconfiguration, naming config keys (never a secret).
   */
  rejectionHint?(): string;
  /** Safe description for logs and the landing page, e.g. "static token" (never a secret). */
  describe(): string;
}
