"""Library code shared by the processors (not a plugin): prompts, request lines, result parsing, prices."""
