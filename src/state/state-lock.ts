import * as fs from 'node:fs';
import { mkdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import lockfile from 'proper-lockfile';

/** Who holds a state file: written into the lock directory by the holder. */
export interface LockHolder {
  pid: number;
  host: string;
  since: string;
}

/** A second process on a state file: it stops, naming the holder and the lock. */
export class StateLockedError extends Error {
  override readonly name = 'StateLockedError';
  constructor(
    readonly statePath: string,
    readonly lockPath: string,
    readonly holder: LockHolder | undefined,
  ) {
    const who = holder ? `process ${holder.pid} on host ${holder.host} (since ${holder.since})` : 'another process';
    super(
      `state file ${statePath} is in use by ${who}; lock ${lockPath}. One process per state file: stop the other ` +
        `exporter or give this one its own state.path (once works on a copy unless given --state).`,
    );
  }
}

/** The lock is refreshed this often; a lock not refreshed for STALE_MS belongs to a dead process. */
const STALE_MS = 10_000;
const HOLDER_FILE = 'holder.json';
/** Locks this process holds, so a second FileStore on the same file in-process is refused too. */
const heldHere = new Set<string>();

// The lock is a directory holding the holder file, so it is removed recursively (proper-lockfile's
// own removal is rmdir, which refuses a non-empty directory).
const lockFs = {
  ...fs,
  rmdir: (path: string, callback: (error: NodeJS.ErrnoException | null) => void) => fs.rm(path, { recursive: true, force: true }, callback),
  rmdirSync: (path: string) => fs.rmSync(path, { recursive: true, force: true }),
};

/**
 * Takes the exclusive lock of a state file (proper-lockfile: an atomic mkdir of `<file>.lock`,
 * refreshed every 5 s, stale after 10 s) and records the holder in it. A lock left by a dead
 * process on this host (pid gone, or our own pid after a container restart) is taken over at once;
 * one from another host once it is stale. Resolves with the release function.
 */
export async function lockStateFile(statePath: string, onLost: (error: Error) => void): Promise<() => Promise<void>> {
  const lockPath = `${statePath}.lock`;
  await mkdir(dirname(statePath), { recursive: true });
  const options = { stale: STALE_MS, realpath: false, lockfilePath: lockPath, fs: lockFs, onCompromised: onLost };
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(statePath, options);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
    const holder = await readHolder(lockPath);
    if (heldHere.has(lockPath) || !holder || !isDeadHolder(holder)) throw new StateLockedError(statePath, lockPath, holder);
    fs.rmSync(lockPath, { recursive: true, force: true });
    release = await lockfile.lock(statePath, options).catch(async (again: unknown) => {
      if ((again as NodeJS.ErrnoException).code === 'ELOCKED') throw new StateLockedError(statePath, lockPath, await readHolder(lockPath));
      throw again;
    });
  }
  heldHere.add(lockPath);
  await writeHolder(lockPath);
  return async () => {
    heldHere.delete(lockPath);
    await release().catch(() => undefined);
  };
}

/**
 * Writes the holder file, then puts the lock directory's mtime back: proper-lockfile refreshes the
 * lock only while the mtime is the one it set, and a new file in the directory changes it.
 */
async function writeHolder(lockPath: string): Promise<void> {
  const { mtime } = await stat(lockPath);
  const holder: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  await writeFile(join(lockPath, HOLDER_FILE), JSON.stringify(holder));
  await utimes(lockPath, mtime, mtime);
}

async function readHolder(lockPath: string): Promise<LockHolder | undefined> {
  try {
    const holder = JSON.parse(await readFile(join(lockPath, HOLDER_FILE), 'utf8')) as Partial<LockHolder>;
    if (typeof holder.pid !== 'number' || typeof holder.host !== 'string' || typeof holder.since !== 'string') return undefined;
    return { pid: holder.pid, host: holder.host, since: holder.since };
  } catch {
    // No holder file yet: the holder has just taken the lock (or died in that instant; it goes stale).
    return undefined;
  }
}

/** Only a holder on this host can be checked: its pid is gone, or is ours (a restarted container's pid 1). */
function isDeadHolder(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return false;
  if (holder.pid === process.pid) return true;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
