"""Result lines as neutral results: content-filtered answers (Azure) fail for good."""

from __future__ import annotations

from plugins.openai_provider.decoding import interpret


def _line(choice: dict) -> dict:
    """An output line whose completion has ``choice``."""
    body = {"choices": [choice], "usage": {"prompt_tokens": 7, "completion_tokens": 0}}
    return {"custom_id": "r1", "response": {"status_code": 200, "body": body}, "error": None}


def test_content_filtered_answer_fails() -> None:
    result = interpret(
        _line(
            {
                "index": 0,
                "finish_reason": "content_filter",
                "message": {"role": "assistant", "content": None},
                "content_filter_results": {
                    "hate": {"filtered": False, "severity": "safe"},
                    "violence": {"filtered": True, "severity": "high"},
                },
            }
        )
    )
    assert result.kind == "fail" and result.finish_reason == "content_filter"
    assert result.error and "content filter" in result.error
    assert result.usage.input == 7


def test_partial_content_before_a_filter_is_still_an_answer() -> None:
    result = interpret(
        _line(
            {
                "index": 0,
                "finish_reason": "content_filter",
                "message": {"role": "assistant", "content": '{"a": 1}'},
            }
        )
    )
    assert result.kind == "success" and result.text == '{"a": 1}'
