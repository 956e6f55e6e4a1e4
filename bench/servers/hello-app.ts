// The hello app as a module for `strata serve` (the parallel benchmark runs it through the CLI,
// with and without --workers).
export default { fetch: (): Response => Response.json({ hello: 'world' }) };
