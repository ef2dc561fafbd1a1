// Village and township names (and village outlines where the server knows them), fetched once.
import { useEffect, useState } from 'preact/hooks';
import { useAdmin } from './context.js';

let cached = null;
const EMPTY = { names: {}, boundaries: {} };

export function usePlaces() {
  const { api } = useAdmin();
  const [places, setPlaces] = useState(cached || EMPTY);
  useEffect(() => {
    if (cached) return;
    api.get('/places').then(
      (answer) => {
        cached = {
          names: Object.fromEntries(answer.places.map((p) => [p.code, p.name])),
          boundaries: Object.fromEntries(answer.places.filter((p) => p.boundary).map((p) => [p.code, p.boundary])),
        };
        setPlaces(cached);
      },
      () => setPlaces(EMPTY), // names are a nicety: codes still identify every place
    );
  }, []);
  return places;
}

/** "什玲镇" or the code when the name is unknown. */
export const placeName = (places, code) => (code ? places.names[code] || code : '—');
