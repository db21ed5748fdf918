import StarterKit from '@tiptap/starter-kit';

/**
 * The nodes and marks of every document, as the editor configures them. The server converts
 * content (export, import, the document API) with the same list, mirrored in
 * packages/server/src/content/schema.ts; a server test checks that the two schemas are equal.
 * Collaboration brings its own undo manager that only undoes this user's changes.
 */
export const documentKit = StarterKit.configure({
  undoRedo: false,
  link: { openOnClick: false, autolink: true, defaultProtocol: 'https' },
});
