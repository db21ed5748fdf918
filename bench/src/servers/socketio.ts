import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { ready } from './ready.js';

// Socket.IO room broadcast, the tutorials' chat server: each chat message goes to the whole room.
const server = createServer();
const io = new Server(server, { transports: ['websocket'] });
io.on('connection', (socket) => {
  const room = String(socket.handshake.query.room ?? 'default');
  void socket.join(room);
  socket.on('chat', (message: unknown) => io.to(room).emit('chat', message));
});
server.listen(0, '127.0.0.1', () => ready((server.address() as AddressInfo).port));
