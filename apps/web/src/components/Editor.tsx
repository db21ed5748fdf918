import { useEffect } from 'react';
import type { Member, RoomHandle } from '@tandem/client';
import Collaboration from '@tiptap/extension-collaboration';
import CollaborationCaret from '@tiptap/extension-collaboration-caret';
import { EditorContent, useEditor } from '@tiptap/react';
import StarterKit from '@tiptap/starter-kit';
import { Toolbar } from './Toolbar.js';

/** Rich text bound to the room's Y.Doc; remote carets come from the room's awareness. */
export function Editor({
  handle,
  me,
  name,
  color,
  editable,
}: {
  handle: RoomHandle;
  me: Member | null;
  name: string;
  color: string;
  editable: boolean;
}) {
  const editor = useEditor(
    {
      extensions: [
        // Collaboration brings its own undo manager that only undoes this user's changes.
        StarterKit.configure({ undoRedo: false, link: { openOnClick: false, autolink: true, defaultProtocol: 'https' } }),
        Collaboration.configure({ document: handle.doc, field: 'content' }),
        CollaborationCaret.configure({ provider: handle, user: { name, color } }),
      ],
      injectCSS: false,
      editorProps: {
        attributes: { class: 'prose', role: 'textbox', 'aria-label': 'Document', 'aria-multiline': 'true' },
      },
    },
    [handle],
  );

  // Carets show the current name; the member id keeps two tabs of one person apart.
  useEffect(() => {
    if (editor && !editor.isDestroyed) editor.commands.updateUser({ name, color, id: me?.id });
  }, [editor, name, color, me?.id]);

  useEffect(() => {
    if (editor && !editor.isDestroyed) editor.setEditable(editable);
  }, [editor, editable]);

  return (
    <div className="editor">
      {editable ? <Toolbar editor={editor} /> : <p className="read-only-note">You can read this document but not edit it.</p>}
      <EditorContent editor={editor} className="editor-content" />
    </div>
  );
}
