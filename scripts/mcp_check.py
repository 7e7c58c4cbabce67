"""A real MCP client (the `mcp` Python package) against Fillbook's streamable-HTTP
endpoint: lists the tools, calls list_trades and enqueue_trades_sync_job, and checks that
submit_order without a valid confirmation token is refused. Prints `N passed, M failed`."""
import asyncio
import json
import sys

from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client

EXPECTED = {"list_trades", "get_trade", "list_executions", "list_positions", "get_job",
            "enqueue_trades_sync_job", "prepare_order", "submit_order"}


async def run(url: str) -> int:
    passed, failed = 0, 0

    def check(name: str, ok: bool, detail: str = "") -> None:
        nonlocal passed, failed
        if ok:
            passed += 1
            print(f"  ok   {name}")
        else:
            failed += 1
            print(f"  FAIL {name} {detail}")

    async with streamablehttp_client(url) as (read, write, _):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = {t.name: t for t in (await session.list_tools()).tools}
            check("lists every tool", EXPECTED <= set(tools), f"got {sorted(tools)}")
            check("list_trades is read-only",
                  bool(tools.get("list_trades") and tools["list_trades"].annotations
                       and tools["list_trades"].annotations.readOnlyHint))

            result = await session.call_tool("list_trades", {"limit": 5})
            body = json.loads(result.content[0].text) if result.content else {}
            check("list_trades answers a page", not result.isError and "items" in body, str(body)[:200])

            result = await session.call_tool("enqueue_trades_sync_job", {})
            body = json.loads(result.content[0].text) if result.content else {}
            check("enqueue_trades_sync_job queues trades.sync",
                  not result.isError and body.get("type") == "trades.sync", str(body)[:200])

            result = await session.call_tool(
                "submit_order", {"order_id": 1, "confirmation_token": "not-a-real-token"})
            check("submit_order without a valid token is refused", bool(result.isError),
                  str(result.content)[:200])

            result = await session.call_tool("list_trades", {"status": "bogus"})
            check("invalid arguments are a tool error", bool(result.isError))
    print(f"mcp: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(run(sys.argv[1])))
