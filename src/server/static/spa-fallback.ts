import type { App, ServeInfo } from '../../gateway/types.ts';
import { isNavigation, type StaticFiles } from './static-files.ts';

/**
 * The app with the static `spaFallback`: a browser navigation under the files' `prefix` that it
 * answers 404 gets the single-page app's page instead, so that the app's own routes (API calls, and any page it
 * serves) are never hidden behind the fallback, as they are behind nginx's `try_files`.
 */
export function withSpaFallback(app: App, files: StaticFiles): App {
  const fallback = async (request: Request, answer: Response): Promise<Response> => {
    const page = await files.spaResponse(request);
    if (page === undefined) return answer;
    try {
      await answer.body?.cancel();
    } catch {
      // A body already read or locked: nothing to release.
    }
    return page;
  };
  const check = (request: Request, answer: Response | Promise<Response>): Response | Promise<Response> =>
    answer instanceof Response &&
    answer.status === 404 &&
    isNavigation(request.method, request.headers.get('accept')) &&
    files.covers(new URL(request.url).pathname)
      ? fallback(request, answer)
      : answer;
  return {
    fetch(request: Request, info: ServeInfo): Response | Promise<Response> {
      const answer = app.fetch(request, info);
      if (answer instanceof Response) return check(request, answer);
      if (answer !== null && typeof (answer as Promise<Response>)?.then === 'function')
        return answer.then((value) => check(request, value));
      return answer;
    },
  };
}
