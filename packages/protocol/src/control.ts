/**
 * The control channel: JSON text frames, spoken only on connections that negotiated the
 * `tandem.v1` subprotocol. Each message type is defined once here as a zod schema. The server
 * validates everything clients send; it builds what it sends from these types, so the SDK parses
 * server messages without re-validating each one (a test checks them against the schemas).
 */
import { z } from 'zod';
import { ErrorCodes, type ErrorCode } from './codes.js';
import { LIMITS } from './limits.js';

/** The WebSocket subprotocol that turns on the control channel. */
export const SUBPROTOCOL = 'tandem.v1';
/** A subprotocol entry `tandem.auth.<token>` carries a token (browsers cannot set headers on a WebSocket). */
export const TOKEN_PROTOCOL_PREFIX = 'tandem.auth.';

/** How many chat messages and activity entries a `welcome` carries. */
export const WELCOME_HISTORY = 50;
/** The most entries of each log one `resumed` carries; ask again from the last seq for more. */
export const RESUME_PAGE = 500;
/** The most entries one `history` answer carries (scrolling back through chat or activity). */
export const HISTORY_PAGE = 100;

/** What a member may do in a room: see (read), also chat (comment), also edit (write). */
export const Rights = z.enum(['read', 'comment', 'write']);
export type Rights = z.infer<typeof Rights>;
/** Whether these rights allow editing the document. */
export const canEdit = (rights: Rights): boolean => rights === 'write';
/** Whether these rights allow chat. */
export const canChat = (rights: Rights): boolean => rights !== 'read';

/** Any JSON value: what app-defined events may carry. */
export type JsonValue = z.infer<ReturnType<typeof z.json>>;

const name = z
  .string()
  .trim()
  .min(1, 'name must not be empty')
  .max(LIMITS.nameLength, `name must be at most ${LIMITS.nameLength} characters`);
const seq = z.number().int().min(0);

// ---- client → server -------------------------------------------------------------------

export const JoinMessage = z.strictObject({ type: z.literal('join'), name });
export const RenameMessage = z.strictObject({ type: z.literal('rename'), name });
export const ChatSendMessage = z.strictObject({
  type: z.literal('chat'),
  /** Chosen by the client (a UUID is ideal); the server keeps the first message with a given id. */
  id: z.string().min(1).max(LIMITS.idLength),
  text: z
    .string()
    .min(1, 'chat text must not be empty')
    .max(LIMITS.chatLength, `chat text must be at most ${LIMITS.chatLength} characters`),
});
export const TypingMessage = z.strictObject({ type: z.literal('typing'), on: z.boolean() });
export const EventSendMessage = z.strictObject({
  type: z.literal('event'),
  name: z.string().min(1).max(LIMITS.eventNameLength),
  data: z.json().optional(),
});
export const ResumeMessage = z.strictObject({ type: z.literal('resume'), chatSeq: seq, activitySeq: seq });
/** Older entries of one log, for scrolling back: up to `limit` entries with a seq below `before`. */
export const HistoryRequestMessage = z.strictObject({
  type: z.literal('history'),
  log: z.enum(['chat', 'activity']),
  before: z.number().int().min(1),
  limit: z.number().int().min(1).max(HISTORY_PAGE),
});
/** A fresh token for this connection, sent before the current one expires. */
export const AuthMessage = z.strictObject({ type: z.literal('auth'), token: z.string().min(1).max(LIMITS.tokenLength) });

export const ClientMessage = z.discriminatedUnion('type', [
  JoinMessage,
  RenameMessage,
  ChatSendMessage,
  TypingMessage,
  EventSendMessage,
  ResumeMessage,
  HistoryRequestMessage,
  AuthMessage,
]);
export type ClientMessage = z.infer<typeof ClientMessage>;

// ---- server → client -------------------------------------------------------------------

export const Member = z.object({ id: z.string(), name: z.string(), color: z.string() });
export type Member = z.infer<typeof Member>;

export const ChatMessage = z.object({
  seq: z.number().int().positive(),
  id: z.string(),
  author: Member,
  text: z.string(),
  /** Milliseconds since the epoch, from the server's clock. */
  time: z.number(),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

export const ActivityEntry = z.object({
  seq: z.number().int().positive(),
  time: z.number(),
  /** `admin`: an administrator acted on the room (`member` is then the administrator, `action` what was done). */
  kind: z.enum(['join', 'leave', 'rename', 'admin', 'restore']),
  member: Member,
  /** For `rename`: the name before. */
  previousName: z.string().optional(),
  /** For `admin`: what the administrator did, and to whom (`disconnect`). `read_only`/`writable`: editing the document was turned off/on. */
  action: z.enum(['disconnect', 'close', 'compact', 'read_only', 'writable']).optional(),
  target: Member.optional(),
  /** For `restore`: the version `member` brought back (as a new change on top of the document). */
  version: z.object({ id: z.number(), time: z.number(), name: z.string().optional() }).optional(),
});
export type ActivityEntry = z.infer<typeof ActivityEntry>;

export const WelcomeMessage = z.object({
  type: z.literal('welcome'),
  you: Member,
  members: z.array(Member),
  activity: z.array(ActivityEntry),
  chat: z.array(ChatMessage),
  /** The newest sequence numbers in the room's logs (0 while a log is empty). */
  chatSeq: seq,
  activitySeq: seq,
  /** What this member may do here. */
  rights: Rights,
});
/** A change to the member list: `changed` are new or renamed members, `left` the ids of those who left. */
export const MembersMessage = z.object({ type: z.literal('members'), changed: z.array(Member), left: z.array(z.string()) });
/** New activity entries, oldest first; they may repeat entries the welcome had (drop known `seq`s). */
export const ActivityMessage = z.object({ type: z.literal('activity'), entries: z.array(ActivityEntry) });
export const ChatBroadcastMessage = z.object({ type: z.literal('chat'), message: ChatMessage });
export const TypingBroadcastMessage = z.object({ type: z.literal('typing'), member: Member, on: z.boolean() });
export const EventBroadcastMessage = z.object({
  type: z.literal('event'),
  /** The event's place in the room's event order (stored before it is sent). */
  seq: z.number().int().positive(),
  from: Member,
  name: z.string(),
  data: z.json().optional(),
});
export const ResumedMessage = z.object({
  type: z.literal('resumed'),
  chat: z.array(ChatMessage),
  activity: z.array(ActivityEntry),
  /** False when a log had more than RESUME_PAGE missed entries: send `resume` again for the rest. */
  complete: z.boolean(),
});
/** The answer to a `history` request: the newest entries below `before`, oldest first; `complete` when none older are stored. */
export const HistoryMessage = z.object({
  type: z.literal('history'),
  log: z.enum(['chat', 'activity']),
  before: seq,
  /** Chat messages when `log` is `chat`, activity entries when it is `activity`. */
  entries: z.array(z.union([ChatMessage, ActivityEntry])),
  complete: z.boolean(),
});
export const AuthenticatedMessage = z.object({
  type: z.literal('authenticated'),
  rights: Rights,
  /** When the new token expires (milliseconds since the epoch). */
  expiresAt: z.number().nullable(),
});
/** This member's rights here changed while connected (an administrator made the document read-only or writable again). */
export const RightsMessage = z.object({ type: z.literal('rights'), rights: Rights, reason: z.string() });
/**
 * Whether the server can store what it is sent. `failing`: nothing new is acknowledged (chat,
 * activity and events wait in the server's memory, edits are relayed but not yet stored) until a
 * `storage` message with `ok` follows.
 */
export const StorageMessage = z.object({
  type: z.literal('storage'),
  state: z.enum(['ok', 'failing']),
  message: z.string(),
});
/**
 * The document updates this connection sent are stored: `through` counts the update-carrying
 * Yjs frames (sync step 2 and update) the client sent on this connection, from 1; every one up
 * to it is durable (committed to storage, or in the cluster's shared log). Frames that were
 * refused or carried nothing count too. Sent on tandem.v1 connections only.
 */
export const SavedMessage = z.object({ type: z.literal('saved'), through: z.number().int().nonnegative() });
/**
 * The server lost (part of) its shared log and rebuilt it: the client should run a full sync
 * (send sync step 1) so that nothing it holds is missing on the server. The server sends its own
 * sync step 1 right after.
 */
export const ResyncMessage = z.object({ type: z.literal('resync'), reason: z.string() });
export const ErrorMessage = z.object({
  type: z.literal('error'),
  code: z.enum(Object.keys(ErrorCodes) as [ErrorCode, ...ErrorCode[]]),
  message: z.string(),
  /** The id of the chat message that was refused, where there is one. */
  ref: z.string().optional(),
});

export const ServerMessage = z.discriminatedUnion('type', [
  WelcomeMessage,
  MembersMessage,
  ActivityMessage,
  ChatBroadcastMessage,
  TypingBroadcastMessage,
  EventBroadcastMessage,
  ResumedMessage,
  HistoryMessage,
  AuthenticatedMessage,
  RightsMessage,
  StorageMessage,
  SavedMessage,
  ResyncMessage,
  ErrorMessage,
]);
export type ServerMessage = z.infer<typeof ServerMessage>;
export type ServerMessageOf<T extends ServerMessage['type']> = Extract<ServerMessage, { type: T }>;
/** An app-defined event as stored and broadcast. */
export type AppEvent = Omit<ServerMessageOf<'event'>, 'type'>;

export function errorMessage(code: ErrorCode, message: string, ref?: string): ServerMessageOf<'error'> {
  return ref === undefined ? { type: 'error', code, message } : { type: 'error', code, message, ref };
}

export type ParseResult<T> = { ok: true; message: T } | { ok: false; error: string };

/** Deepest nesting of arrays and objects a control message may have (event data included). */
export const MAX_JSON_DEPTH = 32;

/**
 * Whether JSON text nests deeper than `limit`, found in one pass without parsing. Validating a
 * deeper value would recurse once per level (zod's z.json()) and can exhaust the stack.
 */
function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

function parseWith<T>(schema: z.ZodType<T>, text: string): ParseResult<T> {
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) return { ok: false, error: `nested deeper than ${MAX_JSON_DEPTH} levels` };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, error: 'not valid JSON' };
  }
  const result = schema.safeParse(raw);
  if (result.success) return { ok: true, message: result.data };
  return { ok: false, error: z.prettifyError(result.error).replace(/\n+/g, '; ') };
}

export const parseClientMessage = (text: string): ParseResult<ClientMessage> => parseWith(ClientMessage, text);
export const parseServerMessage = (text: string): ParseResult<ServerMessage> => parseWith(ServerMessage, text);
