export * from './codes.js';
export * from './colors.js';
export * from './control.js';
export * from './limits.js';
export * from './names.js';
export * from './yjs-messages.js';
