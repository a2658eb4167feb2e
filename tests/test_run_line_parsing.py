"""How `docker run` lines are read from scripts (issue 30, class 2): a commented-out line that ends
in a backslash is a comment, as sh reads it, and does not swallow the real command below it."""

from dlgen.sources import run_lines


def test_a_commented_out_continued_line_does_not_swallow_the_next_command():
    text = "#!/bin/sh\n# docker run --rm \\\ndocker run --gpus all -p 8000:8000 vllm/vllm-openai:v0.11.0\n"
    (spec,) = run_lines(text, "shell")
    assert spec.image == "vllm/vllm-openai:v0.11.0" and spec.line == 3


def test_a_continued_command_is_still_joined():
    text = "docker run --gpus all \\\n  -p 8000:8000 \\\n  img:1 python x.py\n"
    (spec,) = run_lines(text, "shell")
    assert spec.image == "img:1" and spec.line == 1 and spec.ports
