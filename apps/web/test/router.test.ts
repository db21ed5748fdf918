import { describe, expect, it } from 'vitest';
import { documentPath, routeOf } from '../src/router.js';

describe('routeOf', () => {
  it.each([
    ['/', { page: 'documents' }],
    ['/admin', { page: 'admin' }],
    ['/admin/', { page: 'admin' }],
    ['/d/notes', { page: 'document', room: 'notes' }],
    ['/d/Team%20notes/', { page: 'document', room: 'Team notes' }],
    [documentPath('a/b ✓'), { page: 'document', room: 'a/b ✓' }],
    ['/d/', { page: 'not-found' }],
    ['/d/a/b', { page: 'not-found' }],
    ['/d/%E0%A4%A', { page: 'not-found' }], // not decodable
    ['/documents', { page: 'not-found' }],
    ['/admin/rooms', { page: 'not-found' }],
  ])('%s → %j', (path, route) => {
    expect(routeOf(path)).toEqual(route);
  });
});
