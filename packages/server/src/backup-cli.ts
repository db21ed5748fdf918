#!/usr/bin/env node
/**
 * Backup and restore of the SQLite database: `npm run backup -- <file>` copies the live database
 * with SQLite's online backup API, safe while the server runs and writes; `npm run backup --
 * --restore <file>` checks a backup and puts it in the database's place, and only while no server
 * has the database open. docs/deploy.md has the procedure.
 */
import { chownSync, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { ConfigError, makeConfig } from './config.js';
import { databaseFile } from './storage/sqlite.js';
import { CliError, runCli } from './lib/cli.js';

const USAGE = `Usage: npm run backup -- [--data <dir>] <file>
       npm run backup -- [--data <dir>] --restore <file>

  <file>             copy the database to <file> (replaced if it exists); safe while Tandem runs
  --restore <file>   check the backup <file>, then make it the database; Tandem must be stopped
  --data <dir>       the server's data directory (default: $DATA_DIR, else ./data)`;

/** Tables every Tandem database has, for telling a backup from some other SQLite file. */
const TANDEM_TABLES = ['doc_snapshots', 'doc_updates', 'chat', 'activity'];

/** Steps of about 5 % of the pages (at least 100), so that progress shows without a step holding a read for long. */
const stepPages = (totalPages: number): number => Math.max(100, Math.ceil(totalPages / 20));

/** The problems `PRAGMA integrity_check` reports (at most 10), or none. */
function integrityProblems(db: Database.Database): string[] {
  const rows = db.pragma('integrity_check(10)') as Array<{ integrity_check: string }>;
  const problems = rows.map((row) => row.integrity_check);
  return problems.length === 1 && problems[0] === 'ok' ? [] : problems;
}

function openExisting(file: string, what: string, readonly: boolean): Database.Database {
  if (!existsSync(file)) throw new CliError(`${what} ${file} does not exist.`);
  try {
    return new Database(file, { readonly, fileMustExist: true, timeout: 0 });
  } catch (error) {
    throw new CliError(`cannot open ${what} ${file}: ${(error as Error).message}. Run this as the user Tandem runs as.`);
  }
}

async function backup(dataDir: string, target: string): Promise<string> {
  const live = databaseFile(dataDir);
  if (target === resolve(live)) throw new CliError(`${target} is the database itself: back it up to another file.`);
  if (!existsSync(dirname(target))) throw new CliError(`the directory ${dirname(target)} does not exist: create it first.`);
  if (!existsSync(live)) throw new CliError(`there is no database at ${live}: is --data (or DATA_DIR) the server's data directory?`);
  const source = openExisting(live, 'the database', true);
  // Written beside the target and renamed when complete, so that <file> is never half a backup.
  const partial = `${target}.partial`;
  rmSync(partial, { force: true });
  let lastRemaining = Infinity;
  let restarted = false;
  try {
    await source.backup(partial, {
      progress: ({ totalPages, remainingPages }) => {
        const copied = totalPages - remainingPages;
        if (lastRemaining === Infinity) console.error(`Backing up ${live} (${totalPages} pages) to ${target}`);
        else if (remainingPages > lastRemaining && !restarted) {
          // A write by the server between two steps made SQLite start the copy over. The rest in
          // one step reads one snapshot, while the server goes on writing to its WAL.
          restarted = true;
          console.error('the database changed during the copy: copying it again in one step');
        } else console.error(`${Math.floor((100 * copied) / totalPages)}% (${copied} of ${totalPages} pages)`);
        lastRemaining = remainingPages;
        return restarted ? 0x7fffffff : stepPages(totalPages);
      },
    });
  } catch (error) {
    rmSync(partial, { force: true });
    throw new CliError(`the backup to ${target} failed: ${(error as Error).message}.`);
  } finally {
    source.close();
  }
  const copy = new Database(partial, { fileMustExist: true });
  try {
    // One self-contained file (no -wal beside it), checked before it takes the target's name.
    copy.pragma('journal_mode = DELETE');
    const problems = integrityProblems(copy);
    if (problems.length > 0) throw new CliError(`the copy failed its integrity check (${problems.join('; ')}); ${target} was not written.`);
  } finally {
    copy.close();
  }
  renameSync(partial, target);
  return `Backed up to ${target} (${statSync(target).size} bytes; integrity check ok).`;
}

/**
 * Refuses when a process has the database open: a server (or a backup) holds a shared lock on it
 * for as long as it has it open in WAL mode, so an exclusive lock is refused. Otherwise folds the
 * WAL into the file, so that the file stands alone once set aside.
 */
function ensureUnused(live: string): void {
  const db = openExisting(live, 'the database', false);
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE; COMMIT');
    db.pragma('wal_checkpoint(TRUNCATE)');
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error;
    throw new CliError(
      `${live} is in use: Tandem (or a backup) has it open. Stop the server first (systemctl stop tandem), then run the restore again.`,
    );
  }
  db.close();
}

async function restore(dataDir: string, backupFile: string): Promise<string> {
  const source = openExisting(backupFile, 'the backup', true);
  const live = databaseFile(dataDir);
  const restoring = `${live}.restoring`;
  try {
    let tables: string[];
    try {
      tables = source
        .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
        .all()
        .map((row) => row.name);
    } catch (error) {
      throw new CliError(`${backupFile} is not a readable SQLite database (${(error as Error).message}); pick another backup.`);
    }
    const missing = TANDEM_TABLES.filter((table) => !tables.includes(table));
    if (missing.length > 0) throw new CliError(`${backupFile} is not a Tandem database (it has no ${missing.join(', ')} table).`);
    console.error(`Checking ${backupFile}`);
    const problems = integrityProblems(source);
    if (problems.length > 0) throw new CliError(`${backupFile} failed its integrity check (${problems.join('; ')}); pick another backup.`);
    // Checked before the copy, for a quick answer, and again right before the swap.
    if (existsSync(live)) ensureUnused(live);
    mkdirSync(dataDir, { recursive: true });
    rmSync(restoring, { force: true });
    await source.backup(restoring);
    // Run as root, the restore gives the file to whoever owns the data directory (the server's user).
    if (process.getuid?.() === 0) {
      const { uid, gid } = statSync(dataDir);
      chownSync(restoring, uid, gid);
    }
  } catch (error) {
    rmSync(restoring, { force: true });
    throw error;
  } finally {
    source.close();
  }
  let keptAs: string | null = null;
  if (existsSync(live)) {
    ensureUnused(live);
    keptAs = `${live}.before-restore-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    renameSync(live, keptAs);
  }
  // Left by a server that crashed; they belong to the database just set aside.
  for (const suffix of ['-wal', '-shm']) rmSync(`${live}${suffix}`, { force: true });
  renameSync(restoring, live);
  const kept = keptAs === null ? '' : ` The database it replaced is kept as ${keptAs}; delete it once the restored data looks right.`;
  return `Restored ${backupFile} to ${live} (integrity check ok).${kept} Start Tandem again.`;
}

async function run(args: string[]): Promise<string> {
  let values: { data?: string; restore?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      options: { data: { type: 'string' }, restore: { type: 'string' }, help: { type: 'boolean' } },
      allowPositionals: true,
    }));
  } catch (error) {
    throw new CliError(`${(error as Error).message}\n\n${USAGE}`);
  }
  if (values.help) return USAGE;
  let config;
  try {
    config = makeConfig({
      dataDir: values.data ?? (process.env.DATA_DIR || undefined),
      databaseUrl: process.env.DATABASE_URL || undefined,
    });
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message);
    throw error;
  }
  if (config.databaseUrl !== undefined) {
    throw new CliError('DATABASE_URL is set: the data is in PostgreSQL, not in SQLite. Back it up with pg_dump (see docs/deploy.md).');
  }
  if (values.restore !== undefined) {
    if (positionals.length > 0) throw new CliError(`--restore takes one file, and nothing else.\n\n${USAGE}`);
    return restore(config.dataDir, resolve(values.restore));
  }
  if (positionals.length !== 1) throw new CliError(`name one file to back up to.\n\n${USAGE}`);
  return backup(config.dataDir, resolve(positionals[0]!));
}

runCli(run);
