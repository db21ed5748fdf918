import { useEffect, useState } from 'react';
import type { HandshakeRefusal, Status, StorageStatus } from '@tandem/client';
import { CloseCode } from '@tandem/protocol';

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

/** `on`, once it has stayed true for `delayMs` (false again as soon as it is). */
function useLasting(on: boolean, delayMs: number): boolean {
  const [lasting, setLasting] = useState(false);
  useEffect(() => {
    if (!on) {
      setLasting(false);
      return;
    }
    const timer = setTimeout(() => setLasting(true), delayMs);
    return () => clearTimeout(timer);
  }, [on, delayMs]);
  return on && lasting;
}

/** The close code in the SDK's reason for giving up after a fatal close: "server closed the connection (4001: …)". */
function closeCodeOf(reason: string): number | null {
  const match = /^server closed the connection \((\d+)/.exec(reason);
  return match ? Number(match[1]) : null;
}

/** What to tell a person whose connection the server refused for good. */
function refusalText(error: HandshakeRefusal): string {
  switch (error.code) {
    case 'origin_not_allowed':
      return 'This site may not connect to the server (its origin is not allowed)';
    case 'unauthorized':
      return 'The server did not accept your sign-in — sign in again';
    case 'forbidden':
      return 'You have no access to this document';
    default:
      return `Cannot connect: ${error.message}`;
  }
}

function describe(status: Status, storage: StorageStatus, online: boolean, now: number): { text: string; tone: string } {
  if (status.state === 'closed') {
    if (status.code === 'token_expired') return { text: 'Session expired — sign in again', tone: 'error' };
    const code = closeCodeOf(status.reason);
    if (code === CloseCode.disconnectedByAdmin) return { text: 'Disconnected by an administrator', tone: 'error' };
    if (code === CloseCode.roomClosedByAdmin) return { text: 'Room closed by an administrator', tone: 'error' };
    if (code === CloseCode.documentDeleted) return { text: 'This document was deleted', tone: 'error' };
    if (status.error) return { text: refusalText(status.error), tone: 'error' };
  }
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
      const when = seconds > 0 ? `in ${seconds} s` : 'now';
      if (status.error?.code === 'room_full') return { text: `The room is full — trying again ${when}`, tone: 'wait' };
      if (status.error) return { text: `Refused (${status.error.message}) — trying again ${when}`, tone: 'wait' };
      return { text: seconds > 0 ? `Reconnecting in ${seconds} s` : 'Reconnecting…', tone: 'wait' };
    }
  }
}

export function ConnectionStatus({ status, storage }: { status: Status; storage: StorageStatus }) {
  const online = useOnline();
  const now = useNow(status.state === 'reconnecting');
  const { text, tone } = describe(status, storage, online, now);
  const title =
    status.state === 'closed'
      ? status.reason
      : status.state === 'reconnecting' && status.error
        ? status.error.message
        : storage.state === 'failing'
          ? storage.message
          : undefined;
  return (
    <div role="status" className={`status status-${tone}`} title={title}>
      <span className="status-dot" aria-hidden="true" />
      {text}
    </div>
  );
}

/** How long a save must take before "Saving…" shows, so that quick saves do not flicker. */
const SAVING_DELAY_MS = 300;

function describeSave(connected: boolean, storage: StorageStatus, unsaved: boolean, saving: boolean): string {
  if (!connected) return unsaved ? 'Offline — changes will be saved when you reconnect' : '';
  // While storage fails, the connection status says "Not saved — the server cannot store changes".
  if (storage.state === 'failing') return '';
  return saving ? 'Saving…' : 'All changes saved';
}

/** Whether this person's edits are stored on the server: "Saving…", then "All changes saved". */
export function SaveStatus({ status, storage, unsaved }: { status: Status; storage: StorageStatus; unsaved: boolean }) {
  const online = useOnline();
  const saving = useLasting(unsaved, SAVING_DELAY_MS);
  const connected = online && status.state === 'open';
  return (
    <div role="status" className={`save-status${connected ? '' : ' save-status-offline'}`}>
      {describeSave(connected, storage, unsaved, saving)}
    </div>
  );
}
