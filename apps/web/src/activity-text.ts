import type { ActivityEntry } from '@tandem/client';
import { formatTime } from './time.js';

/** The sentence a person reads for an activity entry, e.g. "Alice joined". */
export function describeActivity(entry: ActivityEntry): string {
  switch (entry.kind) {
    case 'join':
      return `${entry.member.name} joined`;
    case 'leave':
      return `${entry.member.name} left`;
    case 'rename':
      return `${entry.previousName ?? 'Someone'} is now ${entry.member.name}`;
    case 'admin':
      if (entry.action === 'disconnect') return `${entry.member.name} disconnected ${entry.target?.name ?? 'a member'}`;
      if (entry.action === 'close') return `${entry.member.name} closed the room`;
      if (entry.action === 'read_only') return `${entry.member.name} made the document read-only`;
      if (entry.action === 'writable') return `${entry.member.name} made the document editable again`;
      return `${entry.member.name} compacted the document`;
    case 'restore':
      return `${entry.member.name} restored ${entry.version?.name ? `the version “${entry.version.name}”` : `the version of ${formatTime(entry.version?.time ?? entry.time)}`}`;
  }
}
