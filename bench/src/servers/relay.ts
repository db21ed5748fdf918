import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { ready } from './ready.js';

// A raw relay: forwards each binary frame to the other sockets of the same room (the URL path).
// No CRDT, no state, no sync: the practical ceiling for fan-out over ws.
const rooms = new Map<string, Set<WebSocket>>();
const wss = new WebSocketServer({ noServer: true });
const server = createServer((_request, response) => response.end('relay'));
server.on('upgrade', (request, socket, head) => {
  wss.handleUpgrade(request, socket, head, (ws) => {
    const room = request.url ?? '/';
    let members = rooms.get(room);
    if (!members) rooms.set(room, (members = new Set()));
    members.add(ws);
    ws.on('message', (data, isBinary) => {
      for (const other of members) if (other !== ws) other.send(data, { binary: isBinary });
    });
    ws.on('close', () => {
      members.delete(ws);
      if (members.size === 0) rooms.delete(room);
    });
  });
});
server.listen(0, '127.0.0.1', () => ready((server.address() as AddressInfo).port));
