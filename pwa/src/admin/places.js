// Village and township names (and village outlines where the server knows them), fetched once.
import { useEffect, useState } from 'preact/hooks';
import { useAdmin } from './context.js';

// One county's places per session: kept with the token they were fetched with.
let cached = { token: null, places: null };
const EMPTY = { names: {}, boundaries: {} };

export function usePlaces() {
  const { api, session } = useAdmin();
  const mine = cached.token === session.token ? cached.places : null;
  const [places, setPlaces] = useState(mine || EMPTY);
  useEffect(() => {
    if (mine) return;
    api.get('/places').then(
      (answer) => {
        const fetched = {
          names: Object.fromEntries(answer.places.map((p) => [p.code, p.name])),
          boundaries: Object.fromEntries(answer.places.filter((p) => p.boundary).map((p) => [p.code, p.boundary])),
        };
        cached = { token: session.token, places: fetched };
        setPlaces(fetched);
      },
      () => setPlaces(EMPTY), // names are a nicety: codes still identify every place
    );
  }, []);
  return places;
}

/** "什玲镇" or the code when the name is unknown. */
export const placeName = (places, code) => (code ? places.names[code] || code : '—');

/** "township · village": a village's 12-digit code begins with its township's 9 (names repeat across townships). */
export const villageLabel = (places, code) => `${placeName(places, code.slice(0, 9))} · ${placeName(places, code)}`;
