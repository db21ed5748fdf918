/**
 * Inserts entries into a list kept sorted by `seq`, skipping seqs already present, keeping about
 * the newest `keep`. Returns the list: the same array, appended to in place, in the common case
 * of one live message newer than everything held (no copy per message in a busy room).
 */
export function mergeBySeq<T extends { seq: number }>(list: T[], entries: readonly T[], keep: number): T[] {
  if (entries.length === 0) return list;
  if (entries.length === 1 && (list.length === 0 || entries[0]!.seq > list.at(-1)!.seq)) {
    list.push(entries[0]!);
    // Trimmed in steps so the cost of dropping old entries is spread over many appends.
    if (list.length > keep * 1.5) list.splice(0, list.length - keep);
    return list;
  }
  const bySeq = new Map<number, T>();
  for (const entry of list) bySeq.set(entry.seq, entry);
  for (const entry of entries) if (!bySeq.has(entry.seq)) bySeq.set(entry.seq, entry);
  const merged = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  return merged.length > keep ? merged.slice(merged.length - keep) : merged;
}

/** Whether `list` (sorted by seq) holds `seq`; a seq newer than the last entry costs no scan. */
export function holdsSeq(list: readonly { seq: number }[], seq: number): boolean {
  return seq <= (list.at(-1)?.seq ?? 0) && list.some((entry) => entry.seq === seq);
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
