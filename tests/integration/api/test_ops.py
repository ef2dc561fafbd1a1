"""Operations: /healthz, /readyz, /metrics, request ids, JSON logs, the status page and the PWA files."""
from __future__ import annotations

import asyncio
import json
import logging
import uuid

import httpx

from services.api import ops
from services.api.app import create_app

from .conftest import COUNTY_A, COUNTY_B


async def test_healthz_answers_while_the_process_lives(api):
    response = await api.anonymous().get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_readyz_reports_the_projector_lag_of_every_county(api):
    client = api.anonymous()
    for _ in range(100):  # the projector catches up with what other tests wrote
        response = await client.get("/readyz")
        if response.status_code == 200 and response.json()["lag"][COUNTY_A] == 0:
            break
        await asyncio.sleep(0.1)
    body = response.json()
    assert response.status_code == 200 and body["status"] == "ready"
    assert {COUNTY_A, COUNTY_B} <= set(body["lag"])


async def test_readyz_is_503_when_read_models_fall_behind(api, monkeypatch):
    api.household(COUNTY_A)
    monkeypatch.setattr(ops, "MAX_LAG", -1)  # any county is now "behind"
    response = await api.anonymous().get("/readyz")
    assert response.status_code == 503
    assert response.json()["detail_zh"].endswith("尚未更新完毕。")


async def test_metrics_count_requests_by_route_template_and_sync_outcomes(api):
    client = await api.client("county_admin")
    await client.post(f"/api/v1/households/{uuid.uuid4()}/archive", json={"reason": "x", "expected_version": 1})
    await client.post("/api/v1/sync", json={"commands": [{"id": str(uuid.uuid4()), "type": "nope", "payload": {}}]})
    text = (await api.anonymous().get("/metrics")).text
    assert ('grassroots_http_requests_total{method="POST",route="/households/{household_id:uuid}/archive",'
            'status="404"}') in text
    assert 'grassroots_sync_commands_total{status="rejected"}' in text
    assert f'grassroots_projector_lag_events{{county="{COUNTY_A}"}}' in text


async def test_a_request_id_is_echoed_or_made(api):
    client = api.anonymous()
    given = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = await client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert len(made.headers["x-request-id"]) == 32 and made.headers["x-request-id"] != "bad id with spaces"


async def test_every_request_is_logged_with_its_id_route_and_status(api, caplog):
    with caplog.at_level(logging.INFO, logger="grassroots.http"):
        await api.anonymous().get("/healthz", headers={"X-Request-ID": "log-me-1"})
    [record] = [r for r in caplog.records if getattr(r, "path", None) == "/healthz"]
    line = json.loads(ops.JsonFormatter().format(record))
    assert (line["message"], line["route"], line["status"], line["method"]) == ("request", "/healthz", 200, "GET")
    assert line["level"] == "info" and line["ms"] >= 0


def test_json_log_lines_carry_the_request_id_of_the_request_they_belong_to():
    token = ops.request_id.set("rid-42")
    try:
        record = logging.LogRecord("grassroots.x", logging.WARNING, __file__, 1, "村 %s", ("甲",), None)
        record.county = "910001"
        line = json.loads(ops.JsonFormatter().format(record))
    finally:
        ops.request_id.reset(token)
    assert line["request_id"] == "rid-42" and line["message"] == "村 甲" and line["county"] == "910001"


async def test_the_status_page_lists_counties_with_counts_and_no_personal_data(api):
    api.household(COUNTY_B, head_name="隐私姓名")
    response = await api.anonymous().get("/status")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert "测试甲县" in response.text and "测试乙县" in response.text
    assert "隐私姓名" not in response.text


async def test_the_built_pwa_is_served_with_a_fallback_and_service_worker_headers(tmp_path, database_url):
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>下基层</title>")
    (tmp_path / "sw.js").write_text("self.addEventListener('fetch', () => {})")
    (tmp_path / "assets" / "app-1a2b.js").write_text("console.log(1)")
    app = create_app(database_url, projector=None, pwa_dir=tmp_path)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        index, route = await client.get("/"), await client.get("/admin/issues/42")
        assert index.status_code == route.status_code == 200 and "下基层" in route.text
        assert index.headers["cache-control"] == "no-cache"
        worker = await client.get("/sw.js")
        assert (worker.headers["cache-control"], worker.headers["service-worker-allowed"]) == ("no-cache", "/")
        asset = await client.get("/assets/app-1a2b.js")
        assert "immutable" in asset.headers["cache-control"]
        assert (await client.get("/missing.png")).status_code == 404
        missing_api = await client.get("/api/v2/anything")
        assert missing_api.status_code == 404 and missing_api.headers["content-type"] == "application/problem+json"
        assert (await client.get("/api/v1/nope")).headers["content-type"] == "application/problem+json"


async def test_bodies_over_a_kilobyte_are_gzipped_for_clients_that_accept_it(api):
    client = api.anonymous()
    big = await client.get("/api/v1/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert big.headers["content-encoding"] == "gzip"
    assert int(big.headers["content-length"]) < len(big.content)  # httpx has unzipped it
    assert "paths" in big.json()
    plain = await client.get("/api/v1/openapi.json", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.json() == big.json()
    small = await client.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers


async def test_metrics_want_the_configured_bearer_token_when_one_is_set(api, monkeypatch):
    monkeypatch.setenv(ops.METRICS_TOKEN, "scrape-secret-1")
    assert (await api.anonymous().get("/metrics")).status_code == 401
    wrong = await api.anonymous(token="not-it").get("/metrics")
    assert wrong.status_code == 401 and "GRASSROOTS_METRICS_TOKEN" in wrong.json()["detail"]
    right = await api.anonymous(token="scrape-secret-1").get("/metrics")
    assert right.status_code == 200 and "grassroots_http_requests_total" in right.text
    monkeypatch.delenv(ops.METRICS_TOKEN)
    assert (await api.anonymous().get("/metrics")).status_code == 200
