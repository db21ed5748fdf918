import { colorForName, MEMBER_COLORS } from '@tandem/protocol';
import { describe, expect, it } from 'vitest';
import { member, startServer, until } from './helpers.js';

describe('member colors', () => {
  it('gives two people whose names hash to one color different colors, and each keeps theirs on reconnect and rename', async () => {
    expect(colorForName('Ada')).toBe(colorForName('Grace'));
    const server = await startServer();
    const ada = await member(server.wsUrl, 'colors', 'Ada');
    const grace = await member(server.wsUrl, 'colors', 'Grace');
    expect(ada.me!.color).toBe(colorForName('Ada'));
    expect(grace.me!.color).not.toBe(ada.me!.color);

    const graceColor = grace.me!.color;
    grace.destroy();
    await until(() => ada.members.length === 1, 'Grace left', 5_000, ada);
    // The room remembers her color: she gets it back, not merely some free one.
    const back = await member(server.wsUrl, 'colors', 'Grace');
    expect(back.me!.color).toBe(graceColor);
    back.setName('Grace Hopper');
    await until(() => ada.members.some((m) => m.name === 'Grace Hopper'), 'Ada sees the new name', 5_000, ada);
    expect(ada.members.find((m) => m.name === 'Grace Hopper')!.color).toBe(graceColor);
  });

  it('uses every color of the palette once before any twice', async () => {
    const server = await startServer();
    const people = [];
    for (let i = 0; i < MEMBER_COLORS.length; i++) people.push(await member(server.wsUrl, 'crowd', `Person ${i}`));
    expect(new Set(people.map((p) => p.me!.color)).size).toBe(MEMBER_COLORS.length);
    const extra = await member(server.wsUrl, 'crowd', 'One more');
    expect(MEMBER_COLORS).toContain(extra.me!.color);
  }, 30_000);
});
