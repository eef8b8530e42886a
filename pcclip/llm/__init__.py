"""Comparison generation: backends, prompts, the paper's output filter, pools, grading."""
