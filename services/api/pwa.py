"""The built PWA (pwa/dist) at `/`, with the fallback and cache headers a single-page app needs.

- Any GET that is no file and looks like a page (no extension) answers index.html, so client-side
  routes survive a reload.
- The service worker and index.html are always revalidated (`no-cache`): a stale service worker
  would keep serving an old app forever. Hashed assets under /assets/ are immutable.
- `/api/...` never falls back to the app: an unknown API path is a 404 problem.
"""
from __future__ import annotations

from pathlib import Path, PurePosixPath

from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

DEFAULT_DIST = Path(__file__).resolve().parents[2] / "pwa" / "dist"
SERVICE_WORKERS = {"sw.js", "service-worker.js"}


class PwaFiles(StaticFiles):
    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory, html=True, check_dir=True)
        self.index = Path(directory) / "index.html"

    async def get_response(self, path: str, scope: Scope) -> Response:
        if scope["path"].startswith("/api/"):
            raise HTTPException(404)
        try:
            response = await super().get_response(path, scope)
        except HTTPException as error:
            if error.status_code != 404 or PurePosixPath(path).suffix or not self.index.is_file():
                raise
            response = FileResponse(self.index)
        if response.status_code == 404 and not PurePosixPath(path).suffix and self.index.is_file():
            response = FileResponse(self.index)
        name = PurePosixPath(path).name
        if name in SERVICE_WORKERS:
            response.headers["Cache-Control"] = "no-cache"
            response.headers["Service-Worker-Allowed"] = "/"
        elif path.startswith("assets/"):
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        else:
            response.headers["Cache-Control"] = "no-cache"
        return response
