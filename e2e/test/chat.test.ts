/**
 * Chat between two people in one document, with the typing indicator; also leaves screenshots of
 * the document page (desktop and phone) in e2e/artifacts/ for whoever works on the layout.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '@tandem/client';
import { expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  aliceAndBobOnADocument,
  artifactsDir,
  chatAuthors,
  createDocument,
  editorText,
  expectNoBrowserErrors,
  launchBrowser,
  onCleanup,
  PHONE,
  startServer,
  typeInEditor,
  user,
  WAIT_MS,
} from './helpers.js';

const names = ['Alice', 'Bob'];

it('chat works both ways, with "is typing…", Enter and the Send button', { timeout: 45_000 }, async () => {
  const { alice, bob } = await aliceAndBobOnADocument('Team notes');
  const aliceChat = alice.region('Chat');
  const bobChat = bob.region('Chat');

  // Bob → Alice, sent with Enter.
  const bobMessage = bobChat.getByRole('textbox', { name: 'Message', exact: true });
  await bobMessage.click();
  await bobMessage.pressSequentially('See you at noon?', { delay: 40 });
  await aliceChat.getByText('Bob is typing…').first().waitFor();
  await bobMessage.press('Enter');
  await aliceChat.getByText('See you at noon?').first().waitFor();
  expect(await chatAuthors(aliceChat, 'See you at noon?', names), 'author of the message Alice received').toEqual(['Bob']);
  expect(await chatAuthors(bobChat, 'See you at noon?', names), 'author of the message Bob sent').toEqual(['Bob']);

  // Alice → Bob, sent with the Send button.
  const aliceMessage = aliceChat.getByRole('textbox', { name: 'Message', exact: true });
  await aliceMessage.click();
  await aliceMessage.pressSequentially('Noon works, see you then.', { delay: 40 });
  await bobChat.getByText('Alice is typing…').first().waitFor();
  await aliceChat.getByRole('button', { name: 'Send', exact: true }).click();
  await bobChat.getByText('Noon works, see you then.').first().waitFor();
  expect(await chatAuthors(bobChat, 'Noon works, see you then.', names), 'author of the message Bob received').toEqual(['Alice']);
  expect(await chatAuthors(aliceChat, 'Noon works, see you then.', names), 'author of the message Alice sent').toEqual(['Alice']);

  // Screenshots of the main screen: both people, some text, a chat with messages.
  await typeInEditor(alice, 'end', 'Agenda for the noon meeting');
  await alice.page.keyboard.press('Enter');
  await alice.page.keyboard.type('Decide the launch date', { delay: 10 });
  await expect.poll(() => editorText(bob), { timeout: WAIT_MS, interval: 100 }).toContain('Decide the launch date');
  // Bob puts his caret at the end, so the screenshot shows a remote caret too.
  await typeInEditor(bob, 'end', '');
  await alice.page.locator('.collaboration-carets__label', { hasText: 'Bob' }).first().waitFor();
  mkdirSync(artifactsDir, { recursive: true });
  await alice.page.screenshot({ path: join(artifactsDir, 'document-1280x800.png') });
  await bob.page.setViewportSize(PHONE);
  await bob.page.screenshot({ path: join(artifactsDir, 'document-390x844.png') });
  await bob.page.screenshot({ path: join(artifactsDir, 'document-390x844-full.png'), fullPage: true });

  expectNoBrowserErrors(alice, bob);
});

it('scrolling up the chat loads older messages, back to the first of 300', { timeout: 60_000 }, async () => {
  const server = await startServer();
  const doc = await createDocument(server, 'Long chat');
  const seeder = connect(server.url, doc.name, { name: 'Seeder', WebSocket });
  onCleanup(() => seeder.destroy());
  await seeder.whenJoined();
  for (let i = 1; i <= 300; i++) seeder.sendChat(`Message number ${i}`);
  await expect.poll(() => seeder.chat.length, { timeout: WAIT_MS, message: 'the 300 messages are stored' }).toBe(300);

  const browser = await launchBrowser();
  const alice = await user(browser, server, 'Alice', { path: `/d/${encodeURIComponent(doc.name)}` });
  const chat = alice.region('Chat');
  await chat.getByText('Message number 300', { exact: true }).waitFor();
  expect(await chat.getByText('Message number 1', { exact: true }).count()).toBe(0);
  // Scroll to the top of the list as a reader would; each time, an older page is put above.
  const list = chat.getByRole('list').first();
  for (let page = 0; page < 10 && (await chat.getByText('Message number 1', { exact: true }).count()) === 0; page++) {
    await list.evaluate((element) => element.scrollTo({ top: 0 }));
    await alice.page.waitForTimeout(300);
  }
  await chat.getByText('Message number 1', { exact: true }).waitFor();
  const texts = await chat.getByRole('listitem').locator('p').allTextContents();
  expect(texts.filter((text) => text.startsWith('Message number'))).toEqual(
    Array.from({ length: 300 }, (_, i) => `Message number ${i + 1}`),
  );
  expect(await chat.getByRole('button', { name: 'Load earlier messages' }).count()).toBe(0);
  expectNoBrowserErrors(alice);
});
