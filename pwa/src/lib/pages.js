// Keyset lists (`{items, next}`, `next` passed back as `after`) read page after page.

/** Every page of a keyset list, each given to `take` as it comes, until the last or until `take` answers
 * false: `page(after)` fetches one page (`after` null at first). */
export async function eachPage(page, take) {
  let after = null;
  do {
    const answer = await page(after);
    after = (await take(answer)) === false ? null : answer.next;
  } while (after);
}

/** Every item of a keyset list, up to `cap` items. */
export async function everyItem(page, cap = Infinity) {
  const items = [];
  await eachPage(page, (answer) => {
    items.push(...answer.items);
    return items.length < cap;
  });
  return items;
}
