"""Evaluations of a run (zero-shot, difference-based, comparative prompting, geometry): see `pcclip.evaluation`."""

from pcclip.evaluation import EvalConfig, ResultRow, evaluate_run, write_results

__all__ = ["EvalConfig", "ResultRow", "evaluate_run", "write_results"]
