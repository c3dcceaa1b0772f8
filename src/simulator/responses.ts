import type { NotFoundShape } from './types.js';

/** An answer the server is about to send; `action` marks the answers that misbehave on the wire. */
export interface SimResponse {
  status: number;
  body: string;
  headers?: Record<string, string>;
  /**
   * reset: destroy the socket; hold: answer only after a long time; truncate: send half, then cut;
   * slow-body / endless-body: headers, then a body that never ends; blackhole: never answer.
   */
  action?: 'reset' | 'hold' | 'truncate' | 'slow-body' | 'endless-body' | 'blackhole';
}

export function respondJson(status: number, value: unknown, headers?: Record<string, string>): SimResponse {
  return headers ? { status, body: JSON.stringify(value), headers } : { status, body: JSON.stringify(value) };
}

/** The documented error body `{error_code, error_msg}`. */
export function respondError(status: number, code: string, message: string): SimResponse {
  return respondJson(status, { error_code: code, error_msg: message });
}

/** The v1/v4 success envelope. */
export function respondSuccess(result: unknown): SimResponse {
  return respondJson(200, { status: 'success', error: null, result });
}

export function respondUnknownRoute(): SimResponse {
  return respondError(404, 'APIGW.0101', 'The API does not exist or has not been published in the environment');
}

export function respondUnauthorized(): SimResponse {
  return respondError(401, 'APIGW.0301', 'Incorrect IAM authentication information');
}

export function respondInvalidParameter(what: string): SimResponse {
  return respondError(400, 'CB.00060200', `Invalid parameter: ${what}`);
}

/** How a missing build (or job) is answered; the shapes come from the API notes §2.4. */
export function respondNotFound(shape: NotFoundShape): SimResponse {
  switch (shape) {
    case '404':
      return respondError(404, 'CB.00060214', 'The requested URL was not found');
    case '422-devcb':
      return respondError(422, 'DEVCB.00031006', 'The build task does not exist or has been deleted');
    case '422-cb':
      return respondError(422, 'CB.00031006', 'The build task does not exist or has been deleted');
    case '403-cb':
      return respondError(403, 'CB.00031059', 'The task has not been built yet or its history has been deleted');
    case '200-fail':
      return respondJson(200, {
        status: 'fail',
        error: { code: 'CB.00031006', message: 'The build record does not exist' },
        result: null,
      });
    case '200-empty':
      return respondSuccess({});
    case '200-invalid':
      return respondSuccess({ build_no: 'abc', build_record_id: '' });
  }
}

/** A 200 whose body is not JSON (a gateway's HTML page, a cut-off answer). */
export function respondMalformed(): SimResponse {
  return { status: 200, body: '<html><body>upstream error</body></html>', headers: { 'Content-Type': 'text/html' } };
}
