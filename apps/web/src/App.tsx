import { AdminPage } from './components/AdminPage.js';
import { DocumentList } from './components/DocumentList.js';
import { DocumentPage } from './components/DocumentPage.js';
import { JoinScreen } from './components/JoinScreen.js';
import { useStoredName } from './identity.js';
import { isAdminPath, roomFromPath, usePath } from './router.js';

export function App() {
  const path = usePath();
  const [name, setName] = useStoredName();
  const room = roomFromPath(path);
  // The admin page asks for the admin token, not for a name.
  if (isAdminPath(path)) return <AdminPage />;
  if (!name) return <JoinScreen room={room} onJoin={setName} />;
  if (room) return <DocumentPage key={room} room={room} name={name} onRename={setName} />;
  return <DocumentList name={name} onSignOut={() => setName(null)} />;
}
