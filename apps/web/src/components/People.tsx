import type { Member } from '@tandem/client';
import { Avatar } from './Avatar.js';

const SHOWN = 8;

export function People({ members, me }: { members: readonly Member[]; me: Member | null }) {
  // You first, then everyone else in the order they arrived.
  const sorted = [...members].sort((a, b) => Number(b.id === me?.id) - Number(a.id === me?.id));
  const hidden = sorted.slice(SHOWN);
  return (
    <section className="people" aria-label="People here">
      <ul>
        {sorted.slice(0, SHOWN).map((member) => (
          <li key={member.id}>
            <Avatar member={member} you={member.id === me?.id} />
          </li>
        ))}
        {hidden.length > 0 && (
          <li>
            <span className="avatar avatar-more" title={hidden.map((m) => m.name).join(', ')} tabIndex={0}>
              +{hidden.length}
            </span>
          </li>
        )}
      </ul>
    </section>
  );
}
