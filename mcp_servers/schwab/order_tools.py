"""The order tools: preview (a read), place and cancel (FINANCIAL: approved by the owner, once).

Every one prices the order from a fresh quote and checks the owner's limits before Schwab sees it;
place and cancel are keyed by the approved call's id, so a retry of the same approval never
reaches Schwab twice (see :mod:`mcp_servers.schwab.service`).
"""

from __future__ import annotations

from typing import Any, cast

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from mcp_servers._common import READ, SEND, audit_details, vendor_errors
from mcp_servers.schwab.args import (
    NAME,
    READ_ONLY_APP,
    Account,
    Kind,
    Price,
    Quantity,
    SchwabDeps,
    Side,
    Symbol,
    TimeInForce,
    call_key,
    order_request,
    src,
)
from mcp_servers.schwab.trading import OrderRefused
from mcp_servers.schwab.views import OrderResult, PreviewResult
from tools.schwab.client import TradingNotEnabled


def _messages(schwab: dict[str, Any]) -> list[str]:
    result = schwab.get("orderValidationResult") or {}
    out = []
    for kind in ("rejects", "warns", "accepts"):
        for item in result.get(kind) or []:
            text = item.get("message") if isinstance(item, dict) else str(item)
            if text:
                out.append(f"{kind[:-1]}: {text}"[:200])
    return out


def register_order_tools(server: MCPServer, deps: SchwabDeps) -> None:
    gate, svc = deps.gate, deps.service

    @server.tool(annotations=READ)
    async def preview_order(
        account: Account,
        symbol: Symbol,
        side: Side,
        quantity: Quantity,
        order_type: Kind,
        ctx: Context,
        limit_price: Price = None,
        stop_price: Price = None,
        time_in_force: TimeInForce = "DAY",
    ) -> PreviewResult:
        """Check an equity order without placing it: the latest quote and its time, the estimated
        notional, whether it is within the owner's limits, and what Schwab's preview says."""
        await gate.check(ctx, "finance.read", "preview_order")
        req = order_request(account, symbol, side, quantity, order_type, limit_price, stop_price, time_in_force)
        within, says = True, []
        with vendor_errors(NAME):
            try:
                out = await svc.preview(req)
                priced, mask = out["priced"], out["account"]
                says = _messages(out["schwab"])
            except OrderRefused as exc:
                raise ToolError(f"{NAME}: this order would be refused: {exc}") from None
            except TradingNotEnabled:
                raise ToolError(READ_ONLY_APP) from None
        return {
            "account": mask,
            "symbol": req.symbol,
            "side": req.side,
            "quantity": req.quantity,
            "order_type": req.order_type,
            "limit_price": limit_price,
            "stop_price": stop_price,
            "time_in_force": req.duration,
            "latest_quote": None if priced.quote is None else str(priced.quote),
            "quote_time": priced.quote_time.strftime("%Y-%m-%d %H:%M:%S UTC") if priced.quote_time else None,
            "estimated_notional": str(priced.notional),
            "priced_from": priced.basis,
            "within_limits": within,
            "schwab_says": says,
            "sources": [src(req.symbol, "Schwab market data")],
        }

    @server.tool(annotations=SEND)
    async def place_order(
        account: Account,
        symbol: Symbol,
        side: Side,
        quantity: Quantity,
        order_type: Kind,
        ctx: Context,
        limit_price: Price = None,
        stop_price: Price = None,
        time_in_force: TimeInForce = "DAY",
    ) -> OrderResult:
        """Place an equity order exactly as the owner approved it. Returns Schwab's status as it is."""
        claims = await gate.check(ctx, "finance.trade", "place_order")
        req = order_request(account, symbol, side, quantity, order_type, limit_price, stop_price, time_in_force)
        key = call_key(ctx)
        with vendor_errors(NAME):
            try:
                outcome = await svc.place(req, key, audit_details(claims))
            except OrderRefused as exc:
                raise ToolError(f"{NAME}: refused, nothing was sent: {exc}") from None
            except TradingNotEnabled:
                raise ToolError(READ_ONLY_APP) from None
        return cast(OrderResult, {**outcome.order, "already_done": outcome.again})

    @server.tool(annotations=SEND)
    async def cancel_order(account: Account, order_id: int, ctx: Context) -> OrderResult:
        """Cancel an open order, as the owner approved. Returns the order's status afterwards."""
        claims = await gate.check(ctx, "finance.trade", "cancel_order")
        key = call_key(ctx)
        with vendor_errors(NAME):
            try:
                outcome = await svc.cancel(account, order_id, key, audit_details(claims))
            except OrderRefused as exc:
                raise ToolError(f"{NAME}: refused, nothing was sent: {exc}") from None
            except TradingNotEnabled:
                raise ToolError(READ_ONLY_APP) from None
        return cast(OrderResult, {**outcome.order, "already_done": outcome.again})
