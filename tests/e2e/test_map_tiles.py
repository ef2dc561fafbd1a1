"""The coverage map with a tile server named in the server's configuration at start-up
(`GRASSROOTS_TILE_URL`, not the build): Leaflet fetches its tiles and draws them under the coverage
layers, with the attribution. A local tile server stands in for Tianditu or an intranet one; a second
`grassroots serve` (without a projector, so the first keeps every county) carries the setting."""
from __future__ import annotations

import re
import struct
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from .admin_seed import ADMIN, AdminSeeded
from .conftest import DESKTOP_VIEWPORT, Server
from .seed import running_server
from .test_admin_views import log_in

pytestmark = pytest.mark.e2e


def solid_png(size: int = 256, rgb: tuple[int, int, int] = (200, 220, 200)) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


@pytest.fixture()
def tile_server():
    """A tile server on a loopback port: any /z/x/y.png answers a plain tile; requested paths are kept."""
    tile, requested = solid_png(), []

    class Tiles(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            requested.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(tile)))
            self.end_headers()
            self.wfile.write(tile)

        def log_message(self, *args) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Tiles)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", requested
    httpd.shutdown()
    httpd.server_close()


def test_a_tile_server_set_at_start_up_is_drawn_under_the_coverage_layers(
        browser, server: Server, admin_seeded: AdminSeeded, tile_server, tmp_path, artifacts):
    tiles_url, requested = tile_server
    env = {"GRASSROOTS_TILE_URL": f"{tiles_url}/{{z}}/{{x}}/{{y}}.png", "GRASSROOTS_TILE_ATTRIBUTION": "测试底图"}
    with running_server(server.database_url, tmp_path / "serve.log", "--no-projector", env=env) as url:
        context = browser.new_context(base_url=url, viewport=DESKTOP_VIEWPORT, locale="zh-CN",
                                      timezone_id="Asia/Shanghai")
        try:
            page = context.new_page()
            log_in(page, ADMIN, "admin-map")
            expect(page.locator("img.leaflet-tile-loaded").first).to_be_visible()
            assert requested and all(re.fullmatch(r"/\d+/\d+/\d+\.png", path) for path in requested)
            attribution = page.locator(".leaflet-control-attribution")
            expect(attribution).to_contain_text("测试底图")
            expect(attribution.locator("svg")).to_have_count(0)  # Leaflet credited in plain text, no flag
            # Under the coverage: the tile pane sits below the pane the village polygons are drawn in.
            z = page.evaluate("""() => [getComputedStyle(document.querySelector('.leaflet-tile-pane')).zIndex,
                                        getComputedStyle(document.querySelector('.leaflet-overlay-pane')).zIndex]""")
            assert int(z[0]) < int(z[1])
            expect(page.locator("path.leaflet-interactive").first).to_be_visible()
            page.screenshot(path=str(artifacts / "admin-1b-map-with-tiles.png"))
        finally:
            context.close()
