"""A real MCP client (the `mcp` Python package) against Fillbook's streamable-HTTP
endpoint: lists the tools, calls list_trades and enqueue_trades_sync_job, and checks that
submit_order without a valid confirmation token is refused; with a read-only token only the
read tools are listed and a side effect is refused; without a token nothing connects.
Usage: mcp_check.py URL FULL_TOKEN READ_ONLY_TOKEN. Prints `N passed, M failed`."""
import asyncio
import json
import sys

from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client

EXPECTED = {"list_trades", "get_trade", "list_executions", "list_positions", "get_job",
            "enqueue_trades_sync_job", "prepare_order", "submit_order"}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


async def run(url: str, token: str, read_only: str) -> int:
    passed, failed = 0, 0

    def check(name: str, ok: bool, detail: str = "") -> None:
        nonlocal passed, failed
        if ok:
            passed += 1
            print(f"  ok   {name}")
        else:
            failed += 1
            print(f"  FAIL {name} {detail}")

    async with streamablehttp_client(url, headers=bearer(token)) as (read, write, _):
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

    async with streamablehttp_client(url, headers=bearer(read_only)) as (read, write, _):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = {t.name for t in (await session.list_tools()).tools}
            check("a trades:read token sees only the read tools",
                  "list_trades" in tools and "enqueue_trades_sync_job" not in tools
                  and "submit_order" not in tools, str(sorted(tools)))
            result = await session.call_tool("enqueue_trades_sync_job", {})
            check("a trades:read token cannot enqueue a sync",
                  bool(result.isError) and "jobs:write" in str(result.content), str(result.content)[:200])

    try:
        async with streamablehttp_client(url) as (read, write, _):
            async with ClientSession(read, write) as session:
                await asyncio.wait_for(session.initialize(), timeout=10)
        check("no token, no session", False, "initialize succeeded without credentials")
    except BaseException as e:  # the client raises (an exception group) on the 401
        check("no token, no session", "401" in repr(e) or "Unauthorized" in repr(e), repr(e)[:300])
    print(f"mcp: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(run(sys.argv[1], sys.argv[2], sys.argv[3])))
