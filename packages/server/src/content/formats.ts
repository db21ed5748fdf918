/** The formats a document exports to (GET /api/documents/<name>/export). */
export const EXPORT_FORMATS = ['markdown', 'html', 'text', 'json', 'yjs'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Content given to the API in one of the forms it reads. */
export type ContentInput = { markdown: string } | { html: string } | { text: string } | { json: unknown };

/**
 * The conversions, loaded on first use: TipTap's HTML support brings a DOM implementation
 * (happy-dom) that would otherwise add a second to every server start.
 */
export const loadConversions = (): Promise<typeof import('./convert.js')> => import('./convert.js');
