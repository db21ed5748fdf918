export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return '?';
  const first = [...words[0]!][0]!;
  return (words.length > 1 ? first + [...words.at(-1)!][0]! : first).toUpperCase();
}

/** A round badge with the initials in the member's color; the full name is its accessible name. */
export function Avatar({
  member,
  decorative = false,
  you = false,
}: {
  member: { name: string; color: string };
  decorative?: boolean;
  you?: boolean;
}) {
  const label = you ? `${member.name} (you)` : member.name;
  return (
    <span
      className="avatar"
      style={{ backgroundColor: member.color }}
      {...(decorative ? { 'aria-hidden': true } : { role: 'img', 'aria-label': label, title: label, tabIndex: 0 })}
    >
      {initials(member.name)}
    </span>
  );
}
