import type { ActivityEntry } from '@tandem/client';
import { describeActivity } from '../activity-text.js';
import { formatTime } from '../time.js';

export function ActivityPanel({ activity }: { activity: readonly ActivityEntry[] }) {
  const newestFirst = [...activity].reverse().slice(0, 100);
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
    </section>
  );
}
