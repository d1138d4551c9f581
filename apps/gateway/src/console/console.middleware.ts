import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type NextFunction, type Request, type Response } from 'express';

/**
 * The web console's policy: its own scripts, styles and API only. Unlike helmet's default it has
 * no `upgrade-insecure-requests`, which would send a console served over plain HTTP on a LAN
 * address to https:// for its own scripts. React sets styles through the DOM (not inline
 * markup), so no 'unsafe-inline' is needed either.
 */
export const CONSOLE_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Hashed build output: the name changes with the content, so it can be cached for good. */
const ASSET_PATH = /^\/assets\/[\w.-]+$/;
/** Other files at the top of the build (favicon.svg); anything else is a route of the app. */
const TOP_LEVEL_FILE = /^\/[\w-]+\.[a-z0-9]+$/;

/**
 * Finds `console/dist` (built by `npm run build`) above this file, which runs from the sources
 * in tests and from dist/ in production. Null when the console was never built.
 */
export function findConsoleDir(from: string = __dirname): string | null {
  let dir = from;
  for (let depth = 0; depth < 8; depth++) {
    const candidate = join(dir, 'console', 'dist');
    if (existsSync(join(candidate, 'index.html'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return null;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Serves the single-page console under its mount path (`/console`): built files as they are,
 * and index.html for every other GET, so a reload on `/console/releases/<id>` opens that page.
 * Missing assets are 404, never index.html, so a stale script tag fails visibly. The files are
 * public; every datum the console shows comes from the API with the caller's token.
 */
export function consoleMiddleware(dir: string | null) {
  return (request: Request, response: Response, next: NextFunction): void => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return next();
    response.setHeader('Content-Security-Policy', CONSOLE_CONTENT_SECURITY_POLICY);
    if (!dir) {
      response.status(404).json({ error: { code: 'NOT_FOUND', message: 'the web console is not built: run `npm run build`' } });
      return;
    }
    const path = request.path;
    const sendIndex = () => {
      response.setHeader('Cache-Control', 'no-cache');
      response.sendFile('index.html', { root: dir, dotfiles: 'deny' }, (error) => {
        if (error && !response.headersSent) next(error);
      });
    };
    if (ASSET_PATH.test(path) || TOP_LEVEL_FILE.test(path)) {
      if (!isFile(join(dir, path))) {
        response.status(404).json({ error: { code: 'NOT_FOUND', message: `no console file ${path}` } });
        return;
      }
      response.setHeader('Cache-Control', ASSET_PATH.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache');
      response.sendFile(path.slice(1), { root: dir, dotfiles: 'deny' }, (error) => {
        if (error && !response.headersSent) next(error);
      });
      return;
    }
    sendIndex();
  };
}
