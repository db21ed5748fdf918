export * from './codes.js';
export * from './control.js';
export * from './yjs-messages.js';
