"""A zero-latency 50,000-line batch costs a few seconds of CPU (the emulator runs in this process;
CPU time, unlike wall-clock time, does not grow when other processes load the machine)."""

from __future__ import annotations

import time

import openai
import orjson

from tests.emulator.emulator_helpers import TERMINAL, wait_for


def test_fifty_thousand_lines(client: openai.OpenAI, submit) -> None:
    lines = b"".join(
        orjson.dumps(
            {
                "custom_id": f"p{i}",
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": {
                    "model": "gpt-4o-mini",
                    "messages": [
                        {"role": "system", "content": "Analyse the chat."},
                        {"role": "user", "content": f"user: Where is my payslip {i}? Thanks"},
                    ],
                },
            }
        )
        + b"\n"
        for i in range(50_000)
    )
    started = time.process_time()
    batch = wait_for(client, submit(lines).id, TERMINAL, timeout=120)
    cpu_seconds = time.process_time() - started
    assert batch.status == "completed" and batch.request_counts.completed == 50_000
    with client.files.with_streaming_response.content(batch.output_file_id) as response:
        count = sum(1 for _ in response.iter_lines())
    assert count == 50_000
    assert cpu_seconds < 8, f"50k-line batch took {cpu_seconds:.1f}s of CPU"
