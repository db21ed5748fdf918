/**
 * Inserts entries into a list kept sorted by `seq`, keeping about the newest `keep`. An entry
 * whose seq is held already is skipped when `sameEntry` says it is the same one, and replaces the
 * held one otherwise: the server's word wins over what a client kept of a lost entry. Returns the
 * list (the same array, appended to in place, in the common case of one live entry newer than
 * everything held: no copy per message in a busy room) and the entries that were new or replaced.
 */
export function mergeBySeq<T extends { seq: number }>(
  list: T[],
  entries: readonly T[],
  keep: number,
  sameEntry: (a: T, b: T) => boolean,
): { list: T[]; added: T[] } {
  if (entries.length === 0) return { list, added: [] };
  if (entries.length === 1 && (list.length === 0 || entries[0]!.seq > list.at(-1)!.seq)) {
    list.push(entries[0]!);
    // Trimmed in steps so the cost of dropping old entries is spread over many appends.
    if (list.length > keep * 1.5) list.splice(0, list.length - keep);
    return { list, added: [entries[0]!] };
  }
  const bySeq = new Map<number, T>();
  for (const entry of list) bySeq.set(entry.seq, entry);
  const added: T[] = [];
  for (const entry of entries) {
    const held = bySeq.get(entry.seq);
    if (held && sameEntry(held, entry)) continue;
    bySeq.set(entry.seq, entry);
    added.push(entry);
  }
  if (added.length === 0) return { list, added };
  const merged = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  return { list: merged.length > keep ? merged.slice(merged.length - keep) : merged, added };
}

/** Drops entries newer than `seq` (the server's newest): it no longer has them. */
export function dropAfter<T extends { seq: number }>(list: T[], seq: number): T[] {
  return list.at(-1) !== undefined && list.at(-1)!.seq > seq ? list.filter((entry) => entry.seq <= seq) : list;
}

/** The highest seq up to which `list` (sorted by seq) has no gap, counting from `from`. */
export function contiguousSeq(list: readonly { seq: number }[], from: number): number {
  // Usually the newest entry is the next one: nothing to scan.
  const last = list.at(-1);
  if (last && last.seq === from + 1 && (list.length < 2 || list.at(-2)!.seq <= from)) return last.seq;
  let seq = from;
  for (const entry of list) {
    if (entry.seq <= seq) continue;
    if (entry.seq !== seq + 1) break;
    seq = entry.seq;
  }
  return seq;
}
