import { useEffect, useState } from 'react';
import type { Status, StorageStatus } from '@tandem/client';

function useOnline(): boolean {
  const [online, setOnline] = useState(() => navigator.onLine);
  useEffect(() => {
    const update = () => setOnline(navigator.onLine);
    addEventListener('online', update);
    addEventListener('offline', update);
    return () => {
      removeEventListener('online', update);
      removeEventListener('offline', update);
    };
  }, []);
  return online;
}

/** Re-renders every second while `active`, for countdowns. */
function useNow(active: boolean): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [active]);
  return now;
}

function describe(status: Status, storage: StorageStatus, online: boolean, now: number): { text: string; tone: string } {
  if (status.state === 'closed' && status.code === 'token_expired') return { text: 'Session expired — sign in again', tone: 'error' };
  if (!online || status.state === 'closed') return { text: 'Offline', tone: 'offline' };
  switch (status.state) {
    case 'open':
      return storage.state === 'ok'
        ? { text: 'Connected', tone: 'ok' }
        : { text: 'Not saved — the server cannot store changes', tone: 'error' };
    case 'connecting':
      return status.attempt === 0 ? { text: 'Connecting…', tone: 'wait' } : { text: 'Reconnecting…', tone: 'wait' };
    case 'reconnecting': {
      const seconds = Math.max(0, Math.ceil((status.retryAt - now) / 1000));
      return { text: seconds > 0 ? `Reconnecting in ${seconds} s` : 'Reconnecting…', tone: 'wait' };
    }
  }
}

export function ConnectionStatus({ status, storage }: { status: Status; storage: StorageStatus }) {
  const online = useOnline();
  const now = useNow(status.state === 'reconnecting');
  const { text, tone } = describe(status, storage, online, now);
  const title = status.state === 'closed' ? status.reason : storage.state === 'failing' ? storage.message : undefined;
  return (
    <div role="status" className={`status status-${tone}`} title={title}>
      <span className="status-dot" aria-hidden="true" />
      {text}
    </div>
  );
}
