// A path router (the server answers every non-API path with index.html, the service worker does
// the same offline). Routes are [pattern, component] with `:name` parameters.
import { useLayoutEffect, useState } from 'preact/hooks';

export function navigate(path, { replace = false } = {}) {
  history[replace ? 'replaceState' : 'pushState'](null, '', path);
  dispatchEvent(new PopStateEvent('popstate'));
}

export function usePath() {
  const [path, setPath] = useState(location.pathname);
  // A layout effect, and one look at the path once listening: a navigation between the first render and a
  // deferred effect fired its popstate to nobody, and the screen stayed on the old path (a browser test, under
  // load, once saw it).
  useLayoutEffect(() => {
    const update = () => setPath(location.pathname);
    addEventListener('popstate', update);
    update();
    return () => removeEventListener('popstate', update);
  }, []);
  return path;
}

export function match(routes, path) {
  for (const [pattern, component] of routes) {
    const names = [];
    const regex = new RegExp(
      `^${pattern.replace(/\/\*$/, '(?:/.*)?').replace(/:(\w+)/g, (_, n) => (names.push(n), '([^/]+)'))}/?$`,
    );
    const found = path.match(regex);
    if (found) return { component, params: Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(found[i + 1])])) };
  }
  return null;
}

/** A link that routes without a page load. */
export function Link({ href, children, ...rest }) {
  const onClick = (event) => {
    if (event.ctrlKey || event.metaKey || event.button) return;
    event.preventDefault();
    navigate(href);
  };
  return (
    <a href={href} onClick={onClick} {...rest}>
      {children}
    </a>
  );
}

/** Marks a screen usable (for tests and the start-time benchmark). */
export function markUsable(screen) {
  document.body.dataset.usable = screen;
  performance.mark(`usable:${screen}`);
}

/**
 * Marks the screen usable once `ready` is true. A layout effect runs as soon as the DOM is updated;
 * a plain effect waits for an animation frame, which a phone may delay by 100 ms or more.
 */
export function useUsable(screen, ready) {
  useLayoutEffect(() => {
    if (ready) markUsable(screen);
  }, [ready]);
}
