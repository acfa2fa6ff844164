"""Helpers for tests that drive chatd with the Python `websockets` client."""

import asyncio
import json


async def recv_json(ws, timeout=10):
    """The next message as JSON, bounded in time."""
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def until(ws, pred):
    """The next message pred accepts, skipping the others."""
    while True:
        m = await recv_json(ws)
        if pred(m):
            return m
