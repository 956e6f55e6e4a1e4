/** What `GET /api/quote` answers, one at random. */
export const QUOTES: readonly { text: string; author: string }[] = [
  {
    text: 'Programs must be written for people to read, and only incidentally for machines to execute.',
    author: 'Harold Abelson and Gerald Jay Sussman',
  },
  { text: "Cool URIs don't change.", author: 'Tim Berners-Lee' },
  { text: 'Premature optimization is the root of all evil.', author: 'Donald Knuth' },
  {
    text: 'There are only two hard things in Computer Science: cache invalidation and naming things.',
    author: 'Phil Karlton',
  },
  { text: 'Simplicity is prerequisite for reliability.', author: 'Edsger W. Dijkstra' },
  { text: 'Make it work, make it right, make it fast.', author: 'Kent Beck' },
];
