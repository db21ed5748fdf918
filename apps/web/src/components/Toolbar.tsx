import { useState, type FormEvent, type ReactNode } from 'react';
import { useEditorState, type Editor } from '@tiptap/react';
import { Icon } from './icons.js';

function ToolButton({
  label,
  active,
  disabled,
  onClick,
  children,
}: {
  label: string;
  active?: boolean;
  disabled?: boolean;
  onClick: () => void;
  children: ReactNode;
}) {
  return (
    <button
      type="button"
      className={active ? 'tool active' : 'tool'}
      aria-label={label}
      title={label}
      aria-pressed={active === undefined ? undefined : active}
      disabled={disabled}
      // Keep the editor's selection: a mousedown on the button would otherwise blur it.
      onMouseDown={(event) => event.preventDefault()}
      onClick={onClick}
    >
      {children}
    </button>
  );
}

export function Toolbar({ editor }: { editor: Editor | null }) {
  const [linking, setLinking] = useState(false);
  const [href, setHref] = useState('');
  const state = useEditorState({
    editor,
    selector: ({ editor: e }) =>
      e && {
        bold: e.isActive('bold'),
        italic: e.isActive('italic'),
        h1: e.isActive('heading', { level: 1 }),
        h2: e.isActive('heading', { level: 2 }),
        bullet: e.isActive('bulletList'),
        ordered: e.isActive('orderedList'),
        code: e.isActive('code'),
        link: e.isActive('link'),
        canUndo: e.can().undo(),
        canRedo: e.can().redo(),
      },
  });
  if (!editor || !state) return <div className="toolbar" role="toolbar" aria-label="Formatting" />;
  const chain = () => editor.chain().focus();

  const applyLink = (event: FormEvent) => {
    event.preventDefault();
    const url = href.trim();
    if (url)
      chain()
        .extendMarkRange('link')
        .setLink({ href: /^[a-z]+:/i.test(url) ? url : `https://${url}` })
        .run();
    else chain().extendMarkRange('link').unsetLink().run();
    setLinking(false);
  };

  return (
    <div className="toolbar" role="toolbar" aria-label="Formatting">
      <ToolButton label="Bold" active={state.bold} onClick={() => chain().toggleBold().run()}>
        <b>B</b>
      </ToolButton>
      <ToolButton label="Italic" active={state.italic} onClick={() => chain().toggleItalic().run()}>
        <i>I</i>
      </ToolButton>
      <ToolButton label="Code" active={state.code} onClick={() => chain().toggleCode().run()}>
        <Icon name="code" />
      </ToolButton>
      <span className="tool-sep" aria-hidden="true" />
      <ToolButton label="Heading 1" active={state.h1} onClick={() => chain().toggleHeading({ level: 1 }).run()}>
        H1
      </ToolButton>
      <ToolButton label="Heading 2" active={state.h2} onClick={() => chain().toggleHeading({ level: 2 }).run()}>
        H2
      </ToolButton>
      <ToolButton label="Bullet list" active={state.bullet} onClick={() => chain().toggleBulletList().run()}>
        <Icon name="bullets" />
      </ToolButton>
      <ToolButton label="Numbered list" active={state.ordered} onClick={() => chain().toggleOrderedList().run()}>
        <Icon name="numbers" />
      </ToolButton>
      <ToolButton
        label="Link"
        active={state.link}
        onClick={() => {
          setHref((editor.getAttributes('link').href as string | undefined) ?? '');
          setLinking(!linking);
        }}
      >
        <Icon name="link" />
      </ToolButton>
      <span className="tool-sep" aria-hidden="true" />
      <ToolButton label="Undo" disabled={!state.canUndo} onClick={() => chain().undo().run()}>
        <Icon name="undo" />
      </ToolButton>
      <ToolButton label="Redo" disabled={!state.canRedo} onClick={() => chain().redo().run()}>
        <Icon name="redo" />
      </ToolButton>
      {linking && (
        <form className="link-form" onSubmit={applyLink}>
          <input aria-label="Link URL" placeholder="https://…" value={href} autoFocus onChange={(e) => setHref(e.target.value)} />
          <button type="submit">Apply</button>
          <button type="button" onClick={() => setLinking(false)}>
            Cancel
          </button>
        </form>
      )}
    </div>
  );
}
