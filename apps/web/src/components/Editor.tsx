import { useEffect } from 'react';
import type { Member, RoomHandle } from '@tandem/client';
import Collaboration from '@tiptap/extension-collaboration';
import CollaborationCaret from '@tiptap/extension-collaboration-caret';
import type { Editor as TiptapEditor } from '@tiptap/core';
import { EditorContent, useEditor } from '@tiptap/react';
import { documentKit } from '../document-kit.js';
import { Toolbar } from './Toolbar.js';

/** Rich text bound to the room's Y.Doc; remote carets come from the room's awareness. */
export function Editor({
  handle,
  me,
  name,
  color,
  editable,
  onEditor,
}: {
  handle: RoomHandle;
  me: Member | null;
  name: string;
  color: string;
  editable: boolean;
  /** Told the editor instance (for changes made from outside it, such as restoring a version). */
  onEditor?: (editor: TiptapEditor | null) => void;
}) {
  const editor = useEditor(
    {
      extensions: [
        documentKit,
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

  useEffect(() => {
    onEditor?.(editor);
    return () => onEditor?.(null);
  }, [editor, onEditor]);

  return (
    <div className="editor">
      {editable ? <Toolbar editor={editor} /> : <p className="read-only-note">You can read this document but not edit it.</p>}
      <EditorContent editor={editor} className="editor-content" />
    </div>
  );
}
