import { createAkskAuth } from '../codearts/auth/aksk.js';
import { createIamAuth } from '../codearts/auth/iam.js';
import { createStaticTokenAuth } from '../codearts/auth/static-token.js';
import type { AuthProvider } from '../codearts/auth/types.js';
import type { CodeArtsEvent } from '../codearts/events.js';
import type { HttpTransport } from '../codearts/transport.js';
import type { Config } from '../config/schema.js';
import type { Events } from '../support/events.js';

/** The auth provider the config asks for, reporting through `events` (token requests count as route `iam-token`). */
export function createAuthProvider(config: Config, events: Events<CodeArtsEvent>, transport: HttpTransport): AuthProvider {
  const auth = config.codearts.auth;
  switch (auth.kind) {
    case 'token':
      return createStaticTokenAuth(auth.token);
    case 'iam':
      return createIamAuth({
        endpoint: auth.endpoint,
        domain: auth.domain,
        user: auth.user,
        password: auth.password,
        project: auth.project,
        projectId: auth.project_id,
        requestTimeoutMs: config.codearts.request_timeout_ms,
        transport,
        events,
      });
    case 'aksk':
      return createAkskAuth({ accessKey: auth.access_key, secretKey: auth.secret_key, projectId: auth.project_id });
  }
}
