import { useCallback, useState } from 'react';

type StorageKind = 'localStorage' | 'sessionStorage';

function read(kind: StorageKind, key: string): string | null {
  try {
    return window[kind].getItem(key);
  } catch {
    return null; // storage disabled: the value lasts for this page only
  }
}

/** A string kept in localStorage (this device) or sessionStorage (this tab); null: none. */
function useStored(kind: StorageKind, key: string): [string | null, (value: string | null) => void] {
  const [value, setValue] = useState(() => read(kind, key));
  const update = useCallback(
    (next: string | null) => {
      try {
        if (next === null) window[kind].removeItem(key);
        else window[kind].setItem(key, next);
      } catch {
        // see read()
      }
      setValue(next);
    },
    [kind, key],
  );
  return [value, update];
}

/** The display name, remembered on this device. */
export const useStoredName = () => useStored('localStorage', 'tandem.name');

/** The admin token, remembered in this tab only: it unlocks every room. */
export const useStoredAdminToken = () => useStored('sessionStorage', 'tandem.adminToken');
