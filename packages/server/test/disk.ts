import { execFileSync } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Mounts a tmpfs of `sizeKb` on `dir` (which must exist); returns the unmount. Needs root. */
export function mountSmallDisk(dir: string, sizeKb: number): () => void {
  if (process.getuid?.() !== 0) {
    throw new Error(
      'The disk-full tests mount a small tmpfs, which needs root: run the suite as root (CI does), for example `sudo npm test`.',
    );
  }
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKb}k`, 'tmpfs', dir]);
  return () => execFileSync('umount', ['-l', dir]);
}

/** Fills the filesystem of `dir` to the last byte with a file; returns its path (delete it to free the space). */
export function fillDisk(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'a');
  for (const size of [256 * 1024, 4096, 1]) {
    const chunk = Buffer.alloc(size, 1);
    try {
      for (;;) writeSync(fd, chunk);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
    }
  }
  closeSync(fd);
  return path;
}
