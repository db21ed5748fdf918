import { useCallback, useState } from 'react';

const KEY = 'tandem.name';

function read(): string | null {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null; // storage disabled: the name lasts for this page only
  }
}

/** The display name, remembered on this device. */
export function useStoredName(): [string | null, (name: string | null) => void] {
  const [name, setName] = useState(read);
  const update = useCallback((next: string | null) => {
    try {
      if (next === null) localStorage.removeItem(KEY);
      else localStorage.setItem(KEY, next);
    } catch {
      // see read()
    }
    setName(next);
  }, []);
  return [name, update];
}
