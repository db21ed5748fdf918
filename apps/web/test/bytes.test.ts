import { describe, expect, it } from 'vitest';
import { formatBytes } from '../src/bytes.js';

describe('sizes in words', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1 KB'],
    [1536, '1.5 KB'],
    [20 * 1024 * 1024, '20 MB'],
    [3 * 1024 ** 4, '3 TB'],
  ])('%d bytes read "%s"', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});
