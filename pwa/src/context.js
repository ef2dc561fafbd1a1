// The field app's shared state (session, connectivity, outbox counts, actions) as a Preact context:
// app.jsx provides it, the screens read it with useApp(), so no screen imports app.jsx.
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';

export const AppContext = createContext(null);
export const useApp = () => useContext(AppContext);
