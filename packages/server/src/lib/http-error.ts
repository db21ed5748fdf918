import type { HttpErrorBody, HttpErrorCode } from '@tandem/protocol';

const CODE_BY_STATUS: Partial<Record<number, HttpErrorCode>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  503: 'unavailable',
};

/** The code of an error answer that has none more precise than its status. */
export const codeForStatus = (status: number): HttpErrorCode => CODE_BY_STATUS[status] ?? (status >= 500 ? 'internal' : 'bad_request');

/** The body of every HTTP error answer (see HttpErrorCodes in the protocol package). */
export const errorBody = (code: HttpErrorCode, message: string): HttpErrorBody => ({ error: message, code });
