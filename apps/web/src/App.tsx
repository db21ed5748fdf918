import { lazy, Suspense } from 'react';
import { DocumentList } from './components/DocumentList.js';
import { DocumentRoute } from './components/DocumentRoute.js';
import { JoinScreen } from './components/JoinScreen.js';
import { Loading } from './components/Loading.js';
import { NotFoundPage } from './components/NotFoundPage.js';
import { useStoredName } from './identity.js';
import { routeOf, usePath } from './router.js';

const AdminPage = lazy(async () => ({ default: (await import('./components/AdminPage.js')).AdminPage }));

export function App() {
  const path = usePath();
  const route = routeOf(path);
  const [name, setName] = useStoredName();
  if (route.page === 'not-found') return <NotFoundPage path={path} />;
  // The admin page asks for the admin token, not for a name.
  if (route.page === 'admin') {
    return (
      <Suspense fallback={<Loading />}>
        <AdminPage />
      </Suspense>
    );
  }
  if (!name) return <JoinScreen room={route.page === 'document' ? route.room : null} onJoin={setName} />;
  if (route.page === 'document') return <DocumentRoute key={route.room} room={route.room} name={name} onRename={setName} />;
  return <DocumentList name={name} onSignOut={() => setName(null)} />;
}
