"""What a tool costs a call turn: one bounded HTTP call, and a model's decision with and without a tool round.

    .venv/bin/python bench/tools.py [--runs 50]

Against the local server of the tests (``tests/fakes/tool_servers.py``: a tool answering at once and a fake OpenAI
speaking the function-calling protocol), so the numbers are this service's own overhead — the address check and
pinning, the client, the request, the size-bounded read, the schema check of the arguments, the extra model round
trip — not a real vendor's or a real tool's latency (add those).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fakes.tool_servers import TOOL_KEY, ToolServer, ToolServers
from fakes.vendors import OPENAI_KEY
from voice_ai.providers.llm.decision import DECISION_SCHEMA
from voice_ai.providers.registry import provider_class
from voice_ai.providers.types import ChatMessage, DialogContext
from voice_ai.tools.executor import execute
from voice_ai.tools.spec import ToolSpec
from voice_ai.tools.toolbox import Toolbox
from voice_ai.tools.urls import networks

WARM_UP = 5


def summary(label: str, values: list[float]) -> str:
    ordered = sorted(values)
    return f"{label}: median {statistics.median(ordered):.1f} ms, p90 {ordered[int(len(ordered) * 0.9)]:.1f} ms"


async def run(state: ToolServers, runs: int) -> None:
    parameters = {"type": "object", "properties": {"order": {"type": "string"}}, "required": ["order"]}
    spec = ToolSpec(
        "order_status", "d", parameters, f"{state.base_url}/tool/orders/{{order}}", headers={"X-Api-Key": TOOL_KEY}
    )
    allow = networks("127.0.0.1/32")
    calls = []
    for number in range(runs + WARM_UP):
        result = await execute(spec, {"order": str(number)}, allow=allow)
        assert result.ok, result
        calls.append(result.ms)
    print(summary(f"one tool call ({runs} calls)", calls[WARM_UP:]))
    llm = provider_class("llm", "openai").from_config({"api_key": OPENAI_KEY, "base_url": f"{state.base_url}/v1"})
    question = [ChatMessage("user", "Qual o status do pedido 123?")]
    for label, with_tool in (("a decision without tools", False), ("a decision after one tool call", True)):
        took = []
        for _ in range(runs + WARM_UP):
            state.reset()
            box = Toolbox([spec], allow=allow) if with_tool else None
            started = time.perf_counter()
            await llm.chat(question, context=DialogContext(), response_schema=DECISION_SCHEMA, tools=box)
            took.append((time.perf_counter() - started) * 1000)
        print(summary(f"{label} ({runs} runs)", took[WARM_UP:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    with ToolServer() as state:
        asyncio.run(run(state, args.runs))


if __name__ == "__main__":
    main()
