import { useState, type FormEvent } from 'react';
import { colorForName, LIMITS } from '@tandem/protocol';
import { Avatar } from './Avatar.js';

export function JoinScreen({ room, onJoin }: { room: string | null; onJoin: (name: string) => void }) {
  const [name, setName] = useState('');
  const trimmed = name.trim();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (trimmed) onJoin(trimmed);
  };
  return (
    <main className="join">
      <form className="join-card" onSubmit={submit}>
        <h1 className="brand">Tandem</h1>
        <p className="muted">
          {room ? (
            <>
              You are invited to <strong>{room}</strong>. Pick the name others will see.
            </>
          ) : (
            'Write together in real time. Pick the name others will see.'
          )}
        </p>
        <label className="field">
          <span>Your name</span>
          <div className="field-row">
            <Avatar member={{ name: trimmed || '?', color: trimmed ? colorForName(trimmed) : '#94a3b8' }} decorative />
            <input
              autoFocus
              autoComplete="nickname"
              value={name}
              maxLength={LIMITS.nameLength}
              onChange={(event) => setName(event.target.value)}
              placeholder="e.g. Alice"
            />
          </div>
        </label>
        <button className="primary" type="submit" disabled={!trimmed}>
          Join
        </button>
      </form>
    </main>
  );
}
