// Keyset lists (`{items, next}`, `next` passed back as `after`) read whole, page after page.

/** Every item of a keyset list, up to `cap` items: `page(after)` fetches one page (`after` null at first). */
export async function everyItem(page, cap = Infinity) {
  const items = [];
  let after = null;
  do {
    const answer = await page(after);
    items.push(...answer.items);
    after = answer.next;
  } while (after && items.length < cap);
  return items;
}
