import { useState } from 'react';
import type { ActivityEntry, RoomHandle } from '@tandem/client';
import { describeActivity } from '../activity-text.js';
import { formatTime } from '../time.js';

/** Entries shown at first, and added by each "Show earlier activity". */
const PAGE = 50;

export function ActivityPanel({
  handle,
  activity,
  older,
}: {
  handle: RoomHandle | null;
  activity: readonly ActivityEntry[];
  older: boolean;
}) {
  const [shown, setShown] = useState(PAGE * 2);
  const [loading, setLoading] = useState(false);
  const newestFirst = [...activity].reverse().slice(0, shown);
  const more = activity.length > shown || older;

  const showMore = () => {
    setShown((count) => count + PAGE);
    if (!handle || activity.length >= shown + PAGE || !older) return;
    setLoading(true);
    handle.loadOlder('activity', PAGE).finally(() => setLoading(false));
  };

  return (
    <section className="panel activity" aria-label="Activity">
      <h2>Activity</h2>
      {newestFirst.length === 0 ? (
        <p className="muted empty">Nothing yet.</p>
      ) : (
        <ol>
          {newestFirst.map((entry) => (
            <li key={entry.seq}>
              <span className="dot" style={{ backgroundColor: entry.member.color }} aria-hidden="true" />
              <span className="activity-text">{describeActivity(entry)}</span>
              <time dateTime={new Date(entry.time).toISOString()}>{formatTime(entry.time)}</time>
            </li>
          ))}
        </ol>
      )}
      {more && (
        <button type="button" className="ghost small" disabled={loading} onClick={showMore}>
          {loading ? 'Loading earlier activity…' : 'Show earlier activity'}
        </button>
      )}
    </section>
  );
}
