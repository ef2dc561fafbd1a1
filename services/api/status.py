"""`GET /status`: a public HTML page listing the counties served here and how much each holds.

Counts only (households registered, cadres enrolled, events): no names, no personal data, no login.
The counts are kept with the county's event log as it is written (`projections.positions`), so the
page is right even before any read model has caught up, and costs two queries for any number of counties.
"""
from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse

from projections import positions


async def page(request: Request) -> HTMLResponse:
    request.scope["grassroots.route"] = "/status"
    async with request.app.state.db.acquire() as conn:
        counties = await positions.counts(conn)
    rows = "\n".join(
        f"<tr><td>{escape(c['adcode'])}</td><td>{escape(c['name'])}</td><td>{escape(c['province'])}</td>"
        f"<td>{c['households']:,}</td><td>{c['cadres']:,}</td><td>{c['events']:,}</td></tr>"
        for c in counties
    ) or '<tr><td colspan="6">尚无县（区）。No county yet: <code>grassroots county add</code>.</td></tr>'
    return HTMLResponse(f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>下基层 Grassroots · 状态 Status</title>
<style>body{{font-family:system-ui,"Noto Sans CJK SC",sans-serif;margin:2rem}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}}
td:nth-child(-n+3),th:nth-child(-n+3){{text-align:left}}</style></head>
<body><h1>下基层 Grassroots</h1><p>服务运行中 · The service is running.</p>
<table><thead><tr><th>代码 Code</th><th>县（区） County</th><th>省 Province</th><th>农户 Households</th>
<th>干部 Cadres</th><th>事件 Events</th></tr></thead>
<tbody>
{rows}
</tbody></table>
<p><a href="/api/v1/openapi.json">API (OpenAPI 3.1)</a></p></body></html>""")
